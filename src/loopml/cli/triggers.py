"""``loopml triggers``: the closed loop's rules, firing them by hand, and what they did."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from loopml.cli._helpers import console, print_json, workspace_for
from loopml.cli._text import esc

if TYPE_CHECKING:
    from loopml.entities import Trigger, TriggerEvent

app = typer.Typer(
    help="Trigger rules of the closed loop: add, list, show, remove, fire, history.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="Trigger name.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _policy(t: Trigger) -> str:
    parts = []
    if t.debounce_s:
        parts.append(f"debounce {t.debounce_s:g}s")
    if t.cooldown_s:
        parts.append(f"cool-down {t.cooldown_s:g}s")
    if t.budget_per_day is not None:
        parts.append(f"{t.budget_per_day}/day")
    if t.dry_run:
        parts.append("dry-run")
    return ", ".join(parts) or "-"


def _event_line(e: TriggerEvent) -> str:
    what = e.kind.value + (f" {e.step}" if e.step else "") + (f" {e.status}" if e.status else "")
    chain = f" chain {e.chain_id}" if e.chain_id else ""
    return f"{_when(e.at_ms)}  {esc(e.trigger)}  {esc(what)}{chain}"


@app.command("add")
def add(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="YAML file: one rule, or `triggers:` list.")],
    as_json: Json = False,
) -> None:
    """Add the trigger rules of a YAML file (checked first: file:line errors)."""
    from loopml.triggers import load_rules, save_trigger

    ws = workspace_for(ctx)
    rules = load_rules(path)
    stored = [save_trigger(rule, workspace=ws) for rule in rules]
    if as_json:
        print_json([t.to_dict() for t in stored])
        return
    for t in stored:
        console.print(
            f"[green]Added[/] trigger [bold]{esc(t.name)}[/] ({t.kind.value} on {esc(t.model)})"
        )


@app.command("list")
def list_cmd(ctx: typer.Context, as_json: Json = False) -> None:
    """List the trigger rules."""
    from loopml.triggers import list_triggers

    found = list_triggers(workspace=workspace_for(ctx, read_only=True))
    if as_json:
        print_json([t.to_dict() for t in found])
        return
    if not found:
        console.print("no triggers")
        return
    table = Table("name", "kind", "model", "policy", "last fired", "enabled")
    for t in found:
        table.add_row(
            esc(t.name),
            t.kind.value,
            esc(t.model),
            _policy(t),
            _when(t.last_fired_at_ms),
            "yes" if t.enabled else "no",
        )
    console.print(table)


@app.command("show")
def show(ctx: typer.Context, name: Name, as_json: Json = False) -> None:
    """Show one rule and its latest events."""
    from loopml.triggers import get_trigger, history

    ws = workspace_for(ctx, read_only=True)
    t = get_trigger(name, workspace=ws)
    events = history(name, limit=20, workspace=ws)
    if as_json:
        print_json({**t.to_dict(), "events": [e.to_dict() for e in events]})
        return
    console.print(f"[bold]{esc(t.name)}[/] {t.kind.value} on {esc(t.model)}  policy: {_policy(t)}")
    console.print(f"  condition: {esc(dict(t.condition))}")
    console.print(f"  action: {esc(dict(t.action))}")
    console.print(f"  last fired: {_when(t.last_fired_at_ms)}")
    for e in events:
        console.print("  " + _event_line(e))


@app.command("remove")
def remove(ctx: typer.Context, name: Name, as_json: Json = False) -> None:
    """Remove a rule (its events stay)."""
    from loopml.triggers import remove_trigger

    gone = remove_trigger(name, workspace=workspace_for(ctx, read_only=True))
    if as_json:
        print_json(gone.to_dict())
        return
    console.print(f"[green]Removed[/] trigger [bold]{esc(gone.name)}[/]")


@app.command("fire")
def fire_cmd(
    ctx: typer.Context,
    name: Name,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the event).")] = "",
    alert: Annotated[
        str | None, typer.Option("--alert", help="The alert id that caused it (lineage).")
    ] = None,
    run: Annotated[
        bool, typer.Option("--run", help="Run the chain now (else the agent runs it).")
    ] = False,
    as_json: Json = False,
) -> None:
    """Fire a trigger by hand (cool-down and budget apply); exit 1 when held back."""
    from loopml.triggers import fire, run_chain

    ws = workspace_for(ctx, read_only=True)
    result = fire(name, reason=reason, alert=alert, workspace=ws)
    outcome = None
    if run and result.chain_id is not None:
        outcome = run_chain(result.chain_id, workspace=ws).outcome
    if as_json:
        print_json(
            {
                "trigger": name,
                "verdict": result.verdict,
                "reason": result.reason,
                "chain": result.chain_id,
                "outcome": outcome,
            }
        )
    elif result.chain_id is not None:
        console.print(
            f"fired [bold]{esc(name)}[/]: chain {result.chain_id}"
            + (f" ended {outcome}" if outcome else " (the agent runs it)")
        )
    else:
        console.print(
            f"{esc(name)}: {result.verdict}" + (f" ({esc(result.reason)})" if result.reason else "")
        )
    if result.verdict == "suppress":
        raise typer.Exit(1)


@app.command("history")
def history_cmd(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Trigger name (default: all).")] = None,
    chain: Annotated[str | None, typer.Option("--chain", help="Only one chain.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest events shown.")] = 100,
    as_json: Json = False,
) -> None:
    """What triggers did: firings, suppressions, each chain step and its outcome."""
    from loopml.triggers import history

    events = history(
        name, chain_id=chain, limit=limit, workspace=workspace_for(ctx, read_only=True)
    )
    if as_json:
        print_json([e.to_dict() for e in events])
        return
    if not events:
        console.print("no trigger events")
    for e in events:
        console.print(_event_line(e))
