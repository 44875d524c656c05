"""Type checkers see a step's own signature (STYLE.md rule 10): a reveal_type test."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SNIPPET = """
import loopml

@loopml.step
def scale(values: list[float], factor: float = 2.0) -> list[float]:
    return [v * factor for v in values]

@loopml.step(retries=1)
def name_of(n: int) -> str:
    return str(n)

@loopml.pipeline
def pipe(n: int = 1) -> None:
    name_of(n)

reveal_type(scale)
reveal_type(name_of)
reveal_type(pipe)
scale([1.0], factor="x")
"""


@pytest.mark.slow
def test_step_signature_is_visible_to_mypy(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    (tmp_path / "snippet.py").write_text(SNIPPET)
    out, _err, _status = api.run(
        [
            str(tmp_path / "snippet.py"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "--no-error-summary",
            "--follow-imports=silent",
        ]
    )
    text = out.replace("builtins.", "")
    assert "Step[[values: list[float], factor: float =], list[float]]" in text, out
    assert "Step[[n: int], str]" in text, out
    assert "Pipeline[[n: int =]]" in text, out
    assert 'Argument "factor" to "__call__" of "Step" has incompatible type "str"' in text, out
