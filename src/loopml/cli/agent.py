"""``loopml agent``: the loop that starts due scheduled runs, checks triggers and runs (or
resumes) their chains, with ``/healthz`` and ``/metrics`` on 127.0.0.1."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loopml.cli._helpers import console, err_console, print_json, state
from loopml.cli._text import esc

if TYPE_CHECKING:
    from loopml.triggers import TickResult


def _items(result: TickResult) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"id": r.id, "pipeline": r.run.pipeline, "status": r.run.status.value} for r in result.runs
    ]
    items += [
        {"trigger": c.trigger, "verdict": c.verdict, "reason": c.reason, "chain": c.chain_id}
        for c in result.checks
        if c.verdict in ("fired", "dry_run", "suppress", "error")
    ]
    items += [
        {"chain": c.chain_id, "trigger": c.trigger, "outcome": c.outcome} for c in result.chains
    ]
    return items


def _say(item: dict[str, Any]) -> None:
    if "pipeline" in item:
        console.print(f"{esc(item['pipeline'])} run {item['id']}: {item['status'].lower()}")
    elif "verdict" in item:
        why = f" ({esc(item['reason'])})" if item["reason"] else ""
        console.print(f"trigger {esc(item['trigger'])}: {item['verdict']}{why}")
    else:
        outcome = item["outcome"] or "pending (stopped; resumed by the next agent)"
        console.print(f"chain {item['chain']} of {esc(item['trigger'])}: {outcome}")


def agent(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run what is due now, then exit.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between checks.")
    ] = 30.0,
    port: Annotated[
        int,
        typer.Option(
            "--port",
            min=-1,
            max=65535,
            help="Port of /healthz and /metrics on 127.0.0.1 (0: any free port; -1: none). "
            "Not served with --once.",
        ),
    ] = 9464,
    executor: Annotated[
        str | None,
        typer.Option("--executor", help="Executor of training pipelines (local, dask)."),
    ] = None,
    lease_ttl: Annotated[
        float,
        typer.Option(
            "--lease-ttl",
            min=0.5,
            help="Seconds a chain's lease lasts unrenewed (a killed agent's chain is "
            "taken over after this).",
        ),
    ] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print what it did as JSON.")] = False,
) -> None:
    """Start due scheduled runs and check triggers, running their chains; one schedule or
    chain never runs twice at once, even with two agents."""
    from loopml.triggers import AgentStats, run_loop, serve_health

    stop = threading.Event()
    stats = AgentStats()
    done: list[dict[str, Any]] = []

    def report(result: TickResult) -> None:
        for item in _items(result):
            done.append(item)
            if not as_json:
                _say(item)

    def on_signal(signum: int, _frame: object) -> None:
        stats.stopping = True
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    server = None
    try:
        if not once and port >= 0:
            server = serve_health(stats, port, workspace=state(ctx).workspace())
            where = f"http://127.0.0.1:{server.server_address[1]}"
            err_console.print(f"agent health on {where}/healthz, metrics on {where}/metrics")
        if not as_json and not once:
            console.print(
                f"agent started; checking schedules and triggers every {interval:g}s "
                "(Ctrl+C or SIGTERM stops)"
            )
        run_loop(
            once=once,
            interval_s=interval,
            workspace=state(ctx).workspace(),
            executor=executor,
            stop=stop,
            stats=stats,
            on_tick=report,
            lease_ttl_s=lease_ttl,
        )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if server is not None:
            server.shutdown()
            server.server_close()
    if as_json:
        print_json(done)
    elif once and not done:
        console.print("nothing due")
    elif not once:
        console.print("agent stopped")
