"""The ``loopml`` command line (Typer + Rich), one module per command group."""

from loopml.cli._app import app, main

__all__ = ["app", "main"]
