"""The examples in docs/artifacts.md and in the docstrings run as written."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import loopml.artifacts._store

DOC = Path(__file__).resolve().parents[2] / "docs" / "artifacts.md"


def test_docstring_examples_run() -> None:
    result = doctest.testmod(loopml.artifacts._store, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.skipif(not DOC.is_file(), reason="docs/artifacts.md is not in this checkout")
def test_user_guide_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert blocks
    for block in blocks:  # the autouse fixture runs this in the test's own folder
        exec(compile(block, str(DOC), "exec"), {"__name__": "docs_example"})
    assert "file://" in capsys.readouterr().out
