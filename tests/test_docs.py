"""Every runnable example in README.md and docs/*.md runs as written, page by page.

A page is one session, as a reader follows it in one terminal: its ```python blocks and
its shell blocks (```bash, ```sh, ```shell; ```console runs its ``$ `` lines) run in
document order in one fresh folder, with this checkout's ``loopml`` first on ``PATH`` and
no ``LOOPML_*`` variable set. A ``cd`` in a shell block carries over to the blocks after
it. An HTML comment on the line before a block changes what happens to it:

- ``<!-- file: NAME -->``: the block is written to ``NAME`` in the current folder instead
  (a ``spec.yaml`` or ``train.py`` that a later command reads);
- ``<!-- output -->``: the block is what the python block before it prints; each of its
  lines must be a line of that output, in order;
- ``<!-- not-run: REASON -->``: the block is shown, not run (it needs a remote server, or it
  is a fragment); the reason is required, and such blocks are counted below.

Blocks in other languages (yaml, toml, plain output) are text; one that holds a command or
a loopml import must be tagged with its language (or marked not-run) so it cannot hide.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
MARKER = re.compile(r"<!--\s*([\w-]+)\s*(?::\s*(.*?))?\s*-->\s*$")
SHELLS = {"bash", "sh", "shell", "console"}
RUNNABLE = SHELLS | {"python"}
LOOKS_RUNNABLE = re.compile(r"^\s*(\$ |loopml |(import|from) loopml\b)", re.MULTILINE)
#: Blocks that may stay unrun, all pages together; raise it only with a reason in the page.
MAX_NOT_RUN = 6
TIMEOUT_S = 300


@dataclass(frozen=True)
class Block:
    """One fenced block of a page and what the line before it asks for."""

    page: Path
    line: int
    lang: str
    code: str
    marker: str | None = None
    argument: str = ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line} (```{self.lang})"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page`` in document order, with their markers."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(before)
        found.append(
            Block(
                page=page,
                line=text.count("\n", 0, match.start()) + 1,
                lang=match.group(1).lower(),
                code=match.group(2),
                marker=marker.group(1) if marker else None,
                argument=(marker.group(2) or "") if marker else "",
            )
        )
    return found


ALL_BLOCKS = [b for page in PAGES for b in blocks(page)]
SESSIONS = [
    pytest.param(page, id=page.name)
    for page in PAGES
    if any(b.page == page and b.lang in RUNNABLE and b.marker != "not-run" for b in ALL_BLOCKS)
]


def _console_steps(block: Block) -> list[tuple[str, list[str]]]:
    """A console block's ``$ `` commands, each with the output lines shown under it."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps and line.strip():
            steps[-1][1].append(line.rstrip())
    return steps


def _shown_in(shown: list[str], output: str) -> bool:
    """True when every shown line is a line of ``output``, in the same order."""
    lines = iter(line.rstrip() for line in output.splitlines())
    return all(any(line == want for line in lines) for want in shown)


def _environment(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env["PATH"] = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), env["PATH"]])
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p
    )
    return env


def _loopml_on_path(bin_dir: Path) -> None:
    bin_dir.mkdir()
    shim = bin_dir / "loopml"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m loopml "$@"\n')
    shim.chmod(0o755)


def _write_file(block: Block, cwd: Path) -> None:
    target = (cwd / block.argument).resolve()
    assert block.argument and cwd.resolve() in target.parents, f"{block.where}: bad file name"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(block.code, encoding="utf-8")


def _run(block: Block, command: list[str], cwd: Path, env: dict[str, str]) -> str:
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    print(f"{block.where}: {time.monotonic() - started:.1f} s")  # shown when a page fails
    assert result.returncode == 0, (
        f"{block.where} failed (exit {result.returncode}):\n{command[-1]}\n"
        f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
    )
    return result.stdout


def _run_shell(
    block: Block, script: str, cwd: Path, env: dict[str, str], state: Path
) -> tuple[str, Path]:
    """Run ``script`` with bash from ``cwd``; return its output and the folder it ended in."""
    code = f"set -euo pipefail\n{script}\npwd > '{state}'\n"
    output = _run(block, ["bash", "-c", code], cwd, env)
    return output, Path(state.read_text().strip())


@pytest.mark.parametrize("page", SESSIONS)
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    """Run the page's blocks in order in one folder; the first failure names its line."""
    work, bin_dir = tmp_path / "work", tmp_path / "bin"
    work.mkdir()
    _loopml_on_path(bin_dir)
    env, state = _environment(bin_dir), tmp_path / "cwd"
    cwd, printed = work, ""
    for block in (b for b in ALL_BLOCKS if b.page == page):
        if block.marker == "file":
            _write_file(block, cwd)
        elif block.marker == "output":
            shown = [line.rstrip() for line in block.code.splitlines() if line.strip()]
            assert _shown_in(shown, printed), (
                f"{block.where}: the example above does not print this; it printed\n{printed}"
            )
        elif block.lang not in RUNNABLE or block.marker == "not-run":
            continue
        elif block.lang == "python":
            printed = _run(block, [sys.executable, "-c", block.code], cwd, env)
        elif block.lang == "console":
            for command, shown in _console_steps(block):
                output, cwd = _run_shell(block, command, cwd, env, state)
                assert _shown_in(shown, output), (
                    f"{block.where}: `{command}` does not print what the page shows:\n"
                    + "\n".join(shown)
                    + f"\n--- it printed\n{output[-3000:]}"
                )
        else:
            _, cwd = _run_shell(block, block.code, cwd, env, state)


def test_markers_are_known_and_give_reasons() -> None:
    """A marker is `file: NAME`, `output` or `not-run: REASON`, on a block it fits."""
    for block in ALL_BLOCKS:
        if block.marker is None:
            continue
        assert block.marker in ("file", "not-run", "output"), f"{block.where}: unknown marker"
        if block.marker in ("file", "not-run"):
            assert block.argument, f"{block.where}: `{block.marker}:` needs a name or a reason"
        if block.marker == "not-run":
            assert block.lang in RUNNABLE, f"{block.where}: not-run on a block that never runs"
        if block.marker == "output":
            assert block.lang not in RUNNABLE, f"{block.where}: output of what? It would run"


def test_few_examples_stay_unrun() -> None:
    """Unrun examples are the exception: each page says why, and they stay few."""
    unrun = [f"{b.where}: {b.argument}" for b in ALL_BLOCKS if b.marker == "not-run"]
    assert len(unrun) <= MAX_NOT_RUN, "\n".join(unrun)
    runnable = [b for b in ALL_BLOCKS if b.lang in RUNNABLE and b.marker is None]
    assert len(runnable) > 3 * len(unrun)


def test_commands_are_not_hidden_in_text_blocks() -> None:
    """A block that holds a loopml command or import is tagged so that it runs."""
    hidden = [
        b.where
        for b in ALL_BLOCKS
        if b.lang not in RUNNABLE and b.marker is None and LOOKS_RUNNABLE.search(b.code)
    ]
    assert not hidden, f"tag these blocks ```bash/```python or mark them not-run: {hidden}"
