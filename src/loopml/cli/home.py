"""``loopml init``: create the home with its database and artifact store."""

from __future__ import annotations

from typing import Annotated

import typer

from loopml.cli._helpers import console, print_json, state
from loopml.errors import HomeNotWritable
from loopml.store import open_store


def init(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create the loopml home (database migrated to head, artifact folder)."""
    settings = state(ctx).settings()
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        probe = settings.home / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise HomeNotWritable(
            f"cannot create or write the loopml home {settings.home} ({exc.strerror})",
            hint="Choose a writable folder with --home or LOOPML_HOME.",
            path=str(settings.home),
        ) from exc
    if settings.artifact_url == str(settings.home / "artifacts"):
        (settings.home / "artifacts").mkdir(exist_ok=True)
    open_store(settings).close()
    result = {
        "home": str(settings.home),
        "db_url": settings.db_url,
        "artifact_url": settings.artifact_url,
    }
    if as_json:
        print_json(result)
        return
    console.print(f"[green]Initialised[/] loopml home at [bold]{settings.home}[/]")
    console.print(f"  metadata store: {settings.db_url}")
    console.print(f"  artifact store: {settings.artifact_url}")
