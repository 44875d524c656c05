"""``loopml ui``: the web UI over this home, on a local server with no sign-in."""

from __future__ import annotations

from typing import Annotated

import typer

from loopml.cli._helpers import console, workspace_for
from loopml.cli._text import esc

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def ui(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 8765,
    host: Annotated[
        str, typer.Option("--host", help="Loopback address to bind (the UI needs no sign-in).")
    ] = "127.0.0.1",
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the URL; do not open a browser.")
    ] = False,
) -> None:
    """Open the web UI on this home: a local server on 127.0.0.1 (no sign-in needed)."""
    import uvicorn

    from loopml.errors import InvalidInput
    from loopml.server import create_app

    if host not in _LOOPBACK:
        raise InvalidInput(
            f"loopml ui serves every caller as the local user; refusing to bind {host!r}",
            hint="Use --host 127.0.0.1, or run `loopml server` with tokens for a shared UI.",
        )
    workspace = workspace_for(ctx)
    app = create_app(workspace, auth=False)
    if port == 0:  # a free port, known before the URL is printed
        import socket

        with socket.socket() as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    console.print(
        f"loopml UI for {esc(str(workspace.home))} at {url} (Ctrl-C to stop)",
        highlight=False,
        soft_wrap=True,
    )
    if not no_browser:
        import threading
        import webbrowser

        threading.Timer(0.8, lambda: webbrowser.open(url)).start()
    server.run()
