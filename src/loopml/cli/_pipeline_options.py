"""Options and formatting shared by ``loopml pipeline`` and its ``schedule`` group."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML file of pipeline parameters.")
]
ParamOption = Annotated[
    list[str] | None, typer.Option("--param", "-p", help="Parameter as key=value (repeatable).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def when(ms: int | None) -> str:
    """A UTC timestamp in milliseconds as ``YYYY-MM-DD HH:MM:SS`` (``-`` for none)."""
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
