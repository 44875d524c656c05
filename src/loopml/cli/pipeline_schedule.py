"""``loopml pipeline schedule add|update|remove`` and ``loopml pipeline schedules``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from loopml.cli._helpers import console, print_json, store_for
from loopml.cli._pipeline_options import ConfigOption, JsonOption, ParamOption, when
from loopml.entities import Schedule


class _ScheduleGroup(TyperGroup):
    """``schedule TARGET --cron ...`` stays the short form of ``schedule add``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: Typer's click Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["add", *args]
        return super().parse_args(ctx, args)


schedule_app = typer.Typer(
    cls=_ScheduleGroup,
    help="Schedules `loopml agent` runs: add (the default), update, remove.",
    no_args_is_help=True,
)


def _schedule_json(s: Schedule) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "target": s.target,
        "cron": s.cron,
        "params": dict(s.params),
        "enabled": s.enabled,
        "next_run_at_ms": s.next_run_at_ms,
        "last_run_id": s.last_run_id,
    }


@schedule_app.command("add")
def schedule(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="The pipeline as module:attr.")],
    cron: Annotated[str, typer.Option("--cron", help='Cron expression in UTC, e.g. "0 2 * * *".')],
    name: Annotated[str | None, typer.Option("--name", help="Schedule name.")] = None,
    config: ConfigOption = None,
    param: ParamOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a schedule; `loopml agent` starts its runs when due."""
    from loopml.pipelines import create_schedule, parse_params, read_config

    params = parse_params(param or [], read_config(str(config)) if config else None)
    store = store_for(ctx)
    try:
        made = create_schedule(target, cron, name=name, params=params, store=store)
    finally:
        store.close()
    if as_json:
        print_json(_schedule_json(made))
        return
    console.print(
        f"[green]Scheduled[/] {made.name} ({made.target}) on '{made.cron}'; "
        f"next run {when(made.next_run_at_ms)} UTC. Start `loopml agent` to run it."
    )


@schedule_app.command("update")
def schedule_update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    cron: Annotated[
        str | None, typer.Option("--cron", help='New cron expression in UTC, e.g. "0 3 * * *".')
    ] = None,
    config: ConfigOption = None,
    param: ParamOption = None,
    replace_params: Annotated[
        bool,
        typer.Option(
            "--replace-params", help="Start from no parameters instead of the current ones."
        ),
    ] = False,
    enabled: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help="Resume or pause the schedule."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a schedule's cron, parameters (-p merges into the current ones) or state."""
    from loopml.pipelines import parse_params, read_config, update_schedule

    store = store_for(ctx)
    try:
        params = None
        if param or config or replace_params:
            base = {} if replace_params else dict(_existing(store, name).params)
            base.update(read_config(str(config)) if config else {})
            params = parse_params(param or [], base)
        changed = update_schedule(name, cron=cron, params=params, enabled=enabled, store=store)
    finally:
        store.close()
    if as_json:
        print_json(_schedule_json(changed))
        return
    state_text = "enabled" if changed.enabled else "[yellow]disabled[/]"
    console.print(
        f"[green]Updated[/] {changed.name} ({changed.target}) on '{changed.cron}', {state_text}; "
        f"next run {when(changed.next_run_at_ms)} UTC; params {dict(changed.params)}"
    )


@schedule_app.command("remove")
def schedule_remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    as_json: JsonOption = False,
) -> None:
    """Delete a schedule (the runs it started stay)."""
    from loopml.pipelines import remove_schedule

    store = store_for(ctx)
    try:
        removed = remove_schedule(name, store=store)
    finally:
        store.close()
    if as_json:
        print_json(_schedule_json(removed))
        return
    console.print(f"removed schedule {removed.name} ({removed.target}, '{removed.cron}')")


def _existing(store: Any, name: str) -> Schedule:
    from loopml.errors import NotFound

    try:
        found: Schedule = store.get_schedule(name)
    except NotFound as exc:
        raise NotFound(
            "schedule", name, hint="List the schedules with `loopml pipeline schedules`."
        ) from exc
    return found


def schedules(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every schedule and when it is next due."""
    found = store_for(ctx, read_only=True).list_schedules()
    if as_json:
        print_json([_schedule_json(s) for s in found])
        return
    table = Table(box=None, pad_edge=False)
    for column in ("name", "target", "cron", "state", "next run (UTC)", "last run"):
        table.add_column(column)
    for s in found:
        table.add_row(
            s.name,
            s.target,
            s.cron,
            "enabled" if s.enabled else "disabled",
            when(s.next_run_at_ms),
            s.last_run_id or "-",
        )
    console.print(table if found else "no schedules")
