"""The ``loopml`` command line (Typer + Rich), one module per command group."""

import gc

from loopml.cli._app import app
from loopml.cli._app import main as _main

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the command line and exit: 0 ok, 1 a check failed, 2 bad usage or input."""
    try:
        _main(argv)
    finally:
        # The process ends here. Moving every object to the permanent generation spares
        # the interpreter's exit a collection through all of them (~0.1 s of CPU once
        # SQLAlchemy is loaded); exit handlers and flushes run as usual.
        gc.freeze()
