"""loopml's drift statistics beside Evidently's on the same frames (a test-only comparison:
Evidently runs in its own venv, never in the project's).

Where the two define a statistic the same way, the values agree: the normalised
Wasserstein distance (Evidently divides by the reference's standard deviation, as loopml
does; loopml reads the reference from its 512-knot profile, hence a tolerance), the
Jensen–Shannon distance of a categorical column (exact), and the Kolmogorov–Smirnov
p-value (the same statistic; the p-values agree in order of magnitude). PSI and a numeric
column's Jensen–Shannon distance are not compared: each tool bins differently (Evidently
10 bins over both samples, loopml the reference's quantile bins). Neither is the
chi-square p-value: Evidently tests the window against the reference's shares taken as
exact (goodness of fit), loopml runs the two-sample test, which also counts the
reference's sampling noise and so gives larger p-values.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.monitoring import drift
from tests.serving.servers import client_python

CASES = [  # (seed, mean shift, scale, category shares of the window)
    (0, 0.0, 1.0, (0.25, 0.25, 0.25, 0.25)),
    (1, 0.3, 1.2, (0.4, 0.3, 0.2, 0.1)),
    (2, -0.1, 0.9, (0.3, 0.25, 0.25, 0.2)),
]
TESTS = [["a", "wasserstein"], ["a", "ks"], ["c", "jensenshannon"]]


def _frames(seed: int, shift: float, scale: float, shares: tuple) -> tuple:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"a": rng.normal(0, 1, 5000), "c": rng.choice(list("abcd"), 5000)})
    cur = pd.DataFrame(
        {"a": rng.normal(shift, scale, 4000), "c": rng.choice(list("abcd"), 4000, p=shares)}
    )
    return ref, cur


def _by_test(report) -> dict:  # type: ignore[no-untyped-def]
    return {(f.column, t.test): t for f in report.features for t in f.tests}


def test_drift_statistics_agree_with_evidently() -> None:
    python = client_python("evidently-0.4.40", "evidently==0.4.40", "pandas<2.2")
    frames = [_frames(*case) for case in CASES]
    payload = {
        "cases": [
            {"reference": r.to_dict("list"), "current": c.to_dict("list"), "tests": TESTS}
            for r, c in frames
        ]
    }
    done = subprocess.run(
        [str(python), str(Path(__file__).with_name("evidently_drift.py"))],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    theirs = json.loads(done.stdout)
    for (ref, cur), peer in zip(frames, theirs, strict=True):
        ours = _by_test(drift(ref, cur))
        assert ours[("a", "wasserstein")].statistic == pytest.approx(
            peer["a"]["wasserstein"], rel=0.03, abs=0.003
        )
        assert ours[("c", "jensen_shannon")].statistic == pytest.approx(
            peer["c"]["jensenshannon"], abs=1e-6
        )
        p_ours, p_peer = ours[("a", "ks")].p_value, peer["a"]["ks"]
        if p_peer > 1e-300:
            assert abs(math.log10(max(p_ours, 1e-300)) - math.log10(p_peer)) <= max(
                1.0, 0.1 * abs(math.log10(p_peer))
            ), (p_ours, p_peer)
