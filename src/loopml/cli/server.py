"""``loopml server``: the shared loopml server (REST API over this home) on uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from loopml.cli._helpers import console, err_console, workspace_for
from loopml.cli._text import esc


def server(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 5000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes (stateless; share the DB).")
    ] = 1,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Need no token: every request acts as this home's local user (single-user "
            "use on loopback only).",
        ),
    ] = False,
) -> None:
    """Run the loopml server: every capability's store operations as a REST API."""
    import json

    import uvicorn

    from loopml.errors import InvalidInput
    from loopml.server import SERVER_SPEC_ENV, create_app

    if no_auth and host not in ("127.0.0.1", "localhost", "::1"):
        raise InvalidInput(
            f"--no-auth serves every caller as the local user; refusing to bind {host!r}",
            hint="Bind 127.0.0.1, or leave out --no-auth and give users tokens.",
        )
    workspace = workspace_for(ctx)
    app = create_app(workspace, auth=not no_auth)  # fails fast on a bad configuration
    if not no_auth and not workspace.store.list_users():
        err_console.print(
            "no accounts yet: every request will get 401. On this machine, create the first "
            "admin with `loopml users add NAME --role admin` and a token with `LOOPML_USER=NAME "
            "loopml tokens create NAME`.",
            highlight=False,
        )
    mode = "no auth (local user)" if no_auth else "bearer tokens"
    console.print(
        f"loopml server for {esc(str(workspace.home))} at http://{host}:{port} ({mode}); "
        f"schema at /openapi.json",
        highlight=False,
    )
    if workers > 1:
        os.environ[SERVER_SPEC_ENV] = json.dumps(
            {"workspace": workspace.spec(), "auth": not no_auth}
        )
        uvicorn.run(
            "loopml.server:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
        )
        return
    uvicorn.run(app, host=host, port=port, log_level="warning")
