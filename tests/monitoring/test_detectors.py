"""Concept-drift detectors: the same drift points as river on the same streams, the
vectorised ``detect`` equal to the one-at-a-time ``update``, and detection of a real
rise in the error rate without alarms on a steady one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from loopml.monitoring import ADWIN, DDM, PageHinkley, detect_concept_drift
from tests.serving.servers import client_python

KINDS = {"adwin": ADWIN, "ddm": DDM, "page_hinkley": PageHinkley}


def _streams() -> dict[str, list[float]]:
    streams: dict[str, list[float]] = {}
    for seed in range(4):
        rng = np.random.default_rng(seed)
        errors = np.concatenate(
            [rng.random(3000) < 0.1, rng.random(3000) < 0.3, rng.random(2000) < 0.05]
        ).astype(float)
        gauss = np.concatenate(
            [rng.normal(0, 1, 3000), rng.normal(1.5, 1, 3000), rng.normal(-1, 2, 2000)]
        )
        steady = (rng.random(5000) < 0.2).astype(float)
        streams[f"ddm:{seed}"] = errors.tolist()
        streams[f"ddm:steady{seed}"] = steady.tolist()
        streams[f"adwin:{seed}"] = errors.tolist()
        streams[f"adwin:g{seed}"] = gauss.tolist()
        streams[f"adwin:steady{seed}"] = steady.tolist()
        streams[f"page_hinkley:{seed}"] = gauss.tolist()
        streams[f"page_hinkley:e{seed}"] = (errors * 40).tolist()
    return streams


def _one_at_a_time(kind: str, stream: list[float]) -> list[int]:
    detector = KINDS[kind]()
    return [i for i, x in enumerate(stream) if detector.update(x)]


def test_same_drift_points_as_river() -> None:
    python = client_python("river-0.26", "river==0.26.1")
    streams = _streams()
    done = subprocess.run(
        [str(python), str(Path(__file__).with_name("river_detect.py"))],
        input=json.dumps(streams),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    river = json.loads(done.stdout)
    for name, stream in streams.items():
        kind = name.split(":")[0]
        assert _one_at_a_time(kind, stream) == river[name], name
        assert KINDS[kind]().detect(stream) == river[name], name


@pytest.mark.parametrize("kind", ["ddm", "page_hinkley", "adwin"])
def test_detect_equals_update(kind: str) -> None:
    rng = np.random.default_rng(7)
    stream = np.concatenate([rng.random(4000) < 0.05, rng.random(4000) < 0.4]).astype(float)
    assert KINDS[kind]().detect(stream) == _one_at_a_time(kind, stream.tolist())


def test_rise_in_error_rate_is_found_soon_and_steady_errors_are_quiet() -> None:
    for seed in range(5):
        rng = np.random.default_rng(100 + seed)
        steady = (rng.random(20_000) < 0.1).astype(float)
        assert detect_concept_drift(steady, "adwin") == []
        worse = np.concatenate([steady, (rng.random(5_000) < 0.3).astype(float)])
        for method in ("adwin", "page_hinkley"):
            hits = [i for i in detect_concept_drift(worse, method) if i >= 20_000]
            assert hits, (method, seed)
            assert hits[0] - 20_000 < 1_000, (method, seed)


def test_unknown_detector_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown detector"):
        detect_concept_drift([0.0, 1.0], "kswin")
