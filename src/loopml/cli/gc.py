"""``loopml gc``: free artifact-store objects that no record refers to."""

from __future__ import annotations

from typing import Annotated

import typer

from loopml.cli._helpers import console, print_json, workspace_for


def gc(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be freed; delete nothing.")
    ] = False,
    grace_minutes: Annotated[
        float,
        typer.Option(
            "--grace-minutes",
            min=0,
            help="Keep unreferenced objects written in the last N minutes (a concurrent "
            "writer may be about to record them).",
        ),
    ] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Free stored objects that no dataset version, run, model version, schema,
    evaluation or step output refers to (soft-deleted runs keep theirs until `runs gc`)."""
    from loopml.maintenance import collect_garbage

    workspace = workspace_for(ctx, read_only=True)
    report = collect_garbage(
        workspace.store, workspace.artifacts, grace_s=grace_minutes * 60, dry_run=dry_run
    )
    if as_json:
        print_json(report.as_dict())
        return
    verb = "would free" if dry_run else "freed"
    console.print(
        f"{verb} {len(report.freed):,} object(s), {report.bytes_freed:,} bytes; "
        f"{report.referenced:,} of {report.objects:,} object(s) are referenced"
    )
    if report.recent:
        console.print(
            f"kept {report.recent:,} unreferenced object(s) ({report.bytes_recent:,} bytes) "
            f"written in the last {grace_minutes:g} minutes; --grace-minutes 0 frees them "
            "once no other loopml process is writing"
        )
    if report.temporaries:
        console.print(f"removed {report.temporaries:,} temporary file(s) of interrupted writes")
