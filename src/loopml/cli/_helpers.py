"""What every command group shares: consoles, settings, JSON output, error rendering."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from loopml.config import Settings, load_settings
from loopml.errors import LoopmlError

if TYPE_CHECKING:
    from loopml.store import Store

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@dataclass
class CliState:
    """Global options, kept on the Typer context object."""

    home: Path | None = None
    debug: bool = False
    _settings: Settings | None = None

    def settings(self) -> Settings:
        """Settings from --home, the environment and config files (built once)."""
        if self._settings is None:
            self._settings = load_settings(home=self.home)
        return self._settings


def state(ctx: typer.Context) -> CliState:
    """The CliState of this invocation."""
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    return obj


def store_for(ctx: typer.Context) -> Store:
    """Open the metadata store named by this invocation's settings."""
    from loopml.store import open_store  # SQLAlchemy and Alembic load only when needed

    return open_store(state(ctx).settings())


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (machine output, no Rich markup)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def render_error(exc: LoopmlError) -> None:
    """Print the one-line headline and the hint of a loopml error to stderr."""
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
    if exc.hint:
        err_console.print(f"  {escape(exc.hint)}", soft_wrap=True)
