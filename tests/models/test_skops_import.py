"""skops imported with the cached estimator list trusts exactly what a normal import does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CODE = """
import json, sys
from loopml.models._skops_import import import_skops
sio = import_skops()
from skops.io import _trusted_types as t
print(json.dumps(sorted(t.SKLEARN_ESTIMATOR_TYPE_NAMES)))
"""
PLAIN = """
import json
from skops.io import _trusted_types as t
print(json.dumps(sorted(t.SKLEARN_ESTIMATOR_TYPE_NAMES)))
"""


def _names(code: str, cache: Path) -> list[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_cached_import_trusts_the_same_estimators(tmp_path: Path) -> None:
    plain = _names(PLAIN, tmp_path)
    first = _names(CODE, tmp_path)  # computes and writes the cache
    files = list((tmp_path / "loopml" / "skops").glob("estimators-*.json"))
    assert len(files) == 1
    second = _names(CODE, tmp_path)  # reads it
    assert plain == first == second
    assert "sklearn.linear_model._logistic.LogisticRegression" in second


def test_a_damaged_or_foreign_cache_is_ignored(tmp_path: Path) -> None:
    plain = _names(PLAIN, tmp_path)
    _names(CODE, tmp_path)
    (cache,) = (tmp_path / "loopml" / "skops").glob("estimators-*.json")
    cache.write_text(json.dumps([["System", "os", "system"]]))  # not a sklearn name
    assert _names(CODE, tmp_path) == plain
    cache.write_text("{not json")
    assert _names(CODE, tmp_path) == plain
