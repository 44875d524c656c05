"""What every command group shares: consoles, the workspace, JSON output, error rendering."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from loopml.errors import HomeNotFound, LoopmlError

if TYPE_CHECKING:
    from loopml.config import Settings
    from loopml.store import Store
    from loopml.workspace import Workspace

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@dataclass
class CliState:
    """Global options, and the one workspace of this invocation."""

    home: str | None = None
    debug: bool = False
    _workspace: Workspace | None = None

    def workspace(self) -> Workspace:
        """The workspace --home, the environment and config files name (built once)."""
        if self._workspace is None:
            from loopml.workspace import Workspace

            self._workspace = Workspace.open(home=self.home)
        return self._workspace

    def settings(self) -> Settings:
        """The settings of this invocation's workspace."""
        return self.workspace().settings

    def close(self) -> None:
        """Close what the workspace opened (at the end of the command)."""
        if self._workspace is not None:
            self._workspace.close()


def state(ctx: typer.Context) -> CliState:
    """The CliState of this invocation."""
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    return obj


def workspace_for(ctx: typer.Context, *, read_only: bool = False) -> Workspace:
    """This invocation's workspace; ``read_only`` refuses a home that holds no store yet.

    Raises:
        HomeNotFound: ``read_only`` and the embedded home does not exist (nothing is
            created).
    """
    workspace = state(ctx).workspace()
    if read_only and not workspace.exists():
        raise HomeNotFound(str(workspace.home))
    return workspace


def store_for(ctx: typer.Context, *, read_only: bool = False) -> Store:
    """The metadata store of this invocation's workspace (opened once, closed at the end)."""
    return workspace_for(ctx, read_only=read_only).store


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (machine output, no Rich markup)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def render_error(exc: LoopmlError) -> None:
    """Print the one-line headline and the hint of a loopml error to stderr."""
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
    if exc.hint:
        err_console.print(f"  {escape(exc.hint)}", soft_wrap=True)
