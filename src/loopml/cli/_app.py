"""The root Typer app, global options, and the entry point that maps errors to exit codes."""

from __future__ import annotations

import os
import signal
import sys
import traceback
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from typer.exceptions import TyperException

from loopml._version import __version__
from loopml.cli._helpers import CliState, err_console, render_error
from loopml.cli._lazy import LazyGroup
from loopml.cli._text import esc
from loopml.errors import LoopmlError

if TYPE_CHECKING:
    from types import FrameType

app = typer.Typer(
    name="loopml",
    help="loopml: versioned data, tracked experiments, pipelines, evaluation gates and a "
    "model registry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyGroup,  # sub-commands are imported when used (see _lazy)
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"loopml {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: Annotated[
        str | None, typer.Option("--home", help="loopml home folder (overrides LOOPML_HOME).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """loopml: the whole model lifecycle in one install."""
    cli_state = CliState(home=home, debug=debug)
    ctx.obj = cli_state
    ctx.call_on_close(cli_state.close)
    if ctx.invoked_subcommand is None or ctx.resilient_parsing:
        return
    from loopml.workspace import use_workspace

    # Every capability the command calls without an explicit workspace uses this one.
    ctx.with_resource(use_workspace(cli_state.workspace()))


class _Interrupts:
    """Ctrl-C handling: the first raises KeyboardInterrupt (and is remembered, since Typer
    turns it into a plain exit code 130); a second, during clean-up, exits at once."""

    seen = False

    @classmethod
    def install(cls) -> None:
        cls.seen = False
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return  # ignored (a background job) or someone else's: leave it be
        try:
            signal.signal(signal.SIGINT, cls._first)
        except ValueError:  # not the main thread (an embedding caller)
            pass

    @classmethod
    def _first(cls, _signum: int, _frame: FrameType | None) -> None:
        cls.seen = True
        signal.signal(signal.SIGINT, cls._again)
        raise KeyboardInterrupt

    @staticmethod
    def _again(_signum: int, _frame: FrameType | None) -> None:
        os._exit(130)


def _interrupted() -> NoReturn:
    err_console.print("interrupted")
    sys.exit(130)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: exit 0 ok, 1 a check failed, 2 bad usage or input, 130 interrupted."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    command = typer.main.get_command(app)
    _Interrupts.install()
    try:
        result = command.main(args=args, prog_name="loopml", standalone_mode=False)
    except (typer.Exit, TyperException, typer.Abort, LoopmlError, OSError) as exc:
        if _Interrupts.seen:  # an error while unwinding from Ctrl-C: still "interrupted"
            _interrupted()
        _fail(exc, debug)
    except KeyboardInterrupt:
        _interrupted()
    if _Interrupts.seen:  # Typer returns Ctrl-C as the exit code 130
        _interrupted()
    sys.exit(result if isinstance(result, int) else 0)


def _fail(exc: BaseException, debug: bool) -> NoReturn:
    if isinstance(exc, typer.Exit):
        sys.exit(exc.exit_code)
    if isinstance(exc, TyperException):  # usage errors: unknown option, missing argument...
        exc.show()  # type: ignore[attr-defined]
        sys.exit(2)
    if isinstance(exc, typer.Abort):
        err_console.print("aborted")
        sys.exit(130)
    if debug:
        traceback.print_exc()
    if isinstance(exc, LoopmlError):
        render_error(exc)
        sys.exit(exc.exit_code)
    err_console.print(f"[bold red]error:[/] {esc(exc)}", soft_wrap=True)
    sys.exit(2)
