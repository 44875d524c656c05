"""Lazily loaded sub-commands and the pydantic-free conversion of plain parameters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer import _click
from typer._coercion import build_runtime_param

import loopml.cli
from loopml.cli._coerce import FastConversion
from loopml.cli._lazy import COMMANDS, load_command

SAMPLES: list[Any] = [
    "5", "0", "-3", "+7", "007", "1.5", ".5", "1e3", "abc", "", " 4", "1_000", "nan", "inf",
    "/tmp/somewhere", "relative/path", "-", 3, 2.5, True,
]  # fmt: skip


def _walk(command: _click.Command) -> Iterator[_click.Command]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _walk(sub)


def _outcome(runtime: Any, value: Any, param: Any, ctx: _click.Context) -> tuple[str, Any]:
    try:
        return "ok", runtime.coerce(value, param=param, ctx=ctx)
    except _click.exceptions.BadParameter as exc:
        return "error", exc.message


def test_the_table_lists_every_command_module() -> None:
    folder = Path(loopml.cli.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}
    listed = {target.split(":")[0].rsplit(".", 1)[1] for target, _ in COMMANDS.values()}
    # `data schema` and `pipeline schedule` are mounted by their groups
    assert modules - listed == {"data_schema", "pipeline_schedule"}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_tables_help_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    own = (command.short_help or command.help or "").split("\n\n")[0].replace("\n", " ")
    assert COMMANDS[name][1] == own.strip()


def _same(a: tuple[str, object], b: tuple[str, object]) -> bool:
    """Equal outcomes, where a NaN float equals a NaN float."""
    nan = all(isinstance(x[1], float) and x[1] != x[1] for x in (a, b))
    return a[0] == b[0] and (nan or a[1] == b[1])


@pytest.mark.parametrize("name", list(COMMANDS))
def test_fast_conversion_agrees_with_typers(name: str, tmp_path: Path) -> None:
    checked = 0
    for command in _walk(load_command(name)):
        ctx = _click.Context(command)
        for param in command.params:
            fast = getattr(param, "_runtime_param", None)
            if not isinstance(fast, FastConversion):
                continue
            typer_own = build_runtime_param(param.type_descriptor)  # type: ignore[attr-defined]
            multi = param.multiple or param.nargs == -1
            for sample in [None, *SAMPLES]:
                value = (sample,) if multi and sample is not None else sample
                expected = _outcome(typer_own, value, param, ctx)
                got = _outcome(fast, value, param, ctx)
                assert _same(got, expected), (command.name, param.name, value)
                param._runtime_param = fast  # type: ignore[attr-defined]  # undo a fallback
            checked += 1
    assert checked > 0
