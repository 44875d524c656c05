"""``loopml init``: create the home with its database and artifact store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopml.cli._helpers import console, print_json, state
from loopml.cli._text import esc
from loopml.errors import HomeNotWritable


def init(
    ctx: typer.Context,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            help="Also write a runnable project into the current folder (classification).",
        ),
    ] = None,
    ci: Annotated[
        str | None,
        typer.Option(
            "--ci",
            help="Also write a CI file (github, gitlab or jenkins) that validates the data, "
            "trains, evaluates by the gates and registers on each push.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create the loopml home (database migrated to head, artifact folder)."""
    settings = state(ctx).settings()
    written: list[str] = []
    if ci is not None:
        from loopml.triggers import ci_file

        ci_file(ci)  # an unknown kind fails before anything is written
    if template is not None:
        from loopml.pipelines import write_template

        written = [str(p) for p in write_template(template, Path.cwd())]
    if ci is not None:
        from loopml.triggers import write_ci_file

        written.append(str(write_ci_file(ci, Path.cwd())))
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
    _ = state(ctx).workspace().store  # opening creates and migrates the database
    from loopml.store.sql import safe_url

    result = {
        "home": str(settings.home),
        "db_url": safe_url(settings.db_url),
        "artifact_url": settings.artifact_url,
        "template": template,
        "ci": ci,
        "files": written,
    }
    if as_json:
        print_json(result)
        return
    console.print(f"[green]Initialised[/] loopml home at [bold]{esc(settings.home)}[/]")
    console.print(f"  metadata store: {esc(safe_url(settings.db_url))}")
    console.print(f"  artifact store: {esc(settings.artifact_url)}")
    if template is not None:
        console.print(f"[green]Wrote[/] the {template} template: {esc(', '.join(written))}")
        console.print("  run it: loopml pipeline run pipeline:training --config params.yaml")
    if ci is not None:
        console.print(f"[green]Wrote[/] the {esc(ci)} CI file: {esc(written[-1])}")
