"""``loopml readiness``: the production-readiness checklist of a model version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopml.cli._helpers import console, print_json, workspace_for
from loopml.cli._text import esc


def readiness_cmd(
    ctx: typer.Context,
    model_uri: Annotated[str, typer.Argument(help="models:/NAME@ALIAS or NAME/VERSION.")],
    card: Annotated[
        Path | None, typer.Option("--card", help="The model card file (default: looked up).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Production-readiness checklist of a model, one line each with evidence; exit 1 when
    an item fails."""
    from loopml.triggers import readiness

    result = readiness(model_uri, card=card, workspace=workspace_for(ctx, read_only=True))
    if as_json:
        print_json(result.to_dict())
    else:
        console.print(f"readiness of [bold]{esc(result.model)}/{result.version}[/]:")
        for item in result.items:
            mark = "[green]PASS[/]" if item.ok else "[red]FAIL[/]"
            console.print(f"  {mark} {esc(item.name)}: {esc(item.evidence)}")
        failed = sum(1 for i in result.items if not i.ok)
        console.print("ready" if result.ok else f"not ready: {failed} item(s) failed")
    if not result.ok:
        raise typer.Exit(1)
