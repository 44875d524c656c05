"""``loopml deploy``: deployments (an endpoint bound to model versions) and their rollouts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from loopml.cli._helpers import console, print_json, workspace_for
from loopml.cli._text import esc

if TYPE_CHECKING:
    from loopml.entities import Deployment

app = typer.Typer(
    help="Deployments: canary, shadow, A/B and blue-green rollouts with rollback.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="Deployment (endpoint) name.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the history).")]


def _steps(text: str | None) -> list[int] | None:
    from loopml.errors import InvalidInput

    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(
            f"--steps takes percentages separated by commas, got {text!r}",
            hint="For example --steps 5,25,50,100.",
        ) from None


def _weights(dep: Deployment) -> str:
    return ", ".join(f"{a.name} {a.model}/{a.version} {a.weight}%" for a in dep.arms)


def _show(dep: Deployment, as_json: bool, verb: str = "") -> None:
    if as_json:
        print_json(dep.to_dict())
        return
    head = f"{verb} " if verb else ""
    why = f" ({esc(dep.reason)})" if dep.reason else ""
    console.print(
        f"{head}[bold]{esc(dep.name)}[/] {dep.strategy.value} {dep.status.value}{why}: "
        f"{esc(_weights(dep))}"
    )


@app.command("create")
def create(
    ctx: typer.Context,
    name: Name,
    model: Annotated[
        str, typer.Option("--model", help="Stable version: NAME@ALIAS or NAME/VERSION.")
    ] = "fraud@champion",
    strategy: Annotated[
        str, typer.Option("--strategy", help="canary, shadow, ab or bluegreen.")
    ] = "canary",
    candidate: Annotated[
        str | None, typer.Option("--candidate", help="Candidate version, e.g. fraud/4.")
    ] = None,
    analysis: Annotated[
        Path | None, typer.Option("--analysis", help="Analysis spec (YAML).")
    ] = None,
    steps: Annotated[
        str | None, typer.Option("--steps", help="Canary steps in percent, e.g. 5,25,50,100.")
    ] = None,
    feature_service: Annotated[
        str | None,
        typer.Option(
            "--feature-service",
            help="Feature service whose online values are joined to each request.",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Create a deployment of a model, optionally with a candidate version."""
    from loopml import deploy

    ws = workspace_for(ctx)
    dep = deploy.create(
        name, model, strategy=strategy, candidate=candidate, steps=_steps(steps),
        analysis=analysis, feature_service=feature_service, workspace=ws,
    )  # fmt: skip
    _show(dep, as_json, "Created")


@app.command("list")
def list_cmd(ctx: typer.Context, as_json: Json = False) -> None:
    """List deployments with their strategy, status and weights."""
    from loopml import deploy

    deployments = deploy.list_deployments(workspace=workspace_for(ctx, read_only=True))
    if as_json:
        print_json([d.to_dict() for d in deployments])
        return
    table = Table("name", "strategy", "status", "arms")
    for dep in deployments:
        table.add_row(esc(dep.name), dep.strategy.value, dep.status.value, esc(_weights(dep)))
    console.print(table)


@app.command("status")
def status(ctx: typer.Context, name: Name, as_json: Json = False) -> None:
    """Show a deployment: arms, weights, step, status and its last event."""
    from loopml import deploy

    ws = workspace_for(ctx, read_only=True)
    dep = deploy.get(name, workspace=ws)
    events = deploy.history(name, workspace=ws)
    data: dict[str, Any] = dep.to_dict()
    data["last_event"] = events[-1].to_dict() if events else None
    data.update(_analysis_state(dep, events, ws))
    if as_json:
        print_json(data)
        return
    _show(dep, False)
    if "ab" in data:
        ab = data["ab"]
        for arm, row in ab["arms"].items():
            console.print(
                f"  {esc(arm)}: {row['requests']} requests, {row['n']} outcomes, "
                f"mean {row['mean']:.4g}"
            )
        console.print(f"A/B decision: {ab['decision']} ({esc(ab['reason'])})")
    for m in data.get("measurements", []):
        console.print(f"  measurement {m['measurement']}: {esc('; '.join(m['reasons']))}")
    if dep.strategy.value == "canary":
        console.print(
            f"step {dep.step + 1} of {len(dep.steps)} ({', '.join(map(str, dep.steps))} %)"
        )
    if events:
        last = events[-1]
        console.print(f"last event: {last.kind.value} by {esc(last.actor)} {esc(last.reason)}")


def _analysis_state(dep: Deployment, events: list[Any], ws: Any) -> dict[str, Any]:
    """The current step's measurements (canary) or the A/B look now (ab)."""
    from loopml import deploy

    out: dict[str, Any] = {}
    if dep.strategy.value == "ab" and len(dep.arms) > 1:
        spec = deploy.load_analysis(dep.analysis) if dep.analysis else None
        looks = [e for e in events if e.kind.value == "analysis" and e.detail.get("kind") == "ab"]
        if looks and dep.status.value != "active":
            out["ab"] = looks[-1].detail["status"]
        else:
            previous = looks[-1].detail["status"]["result"] if looks else None
            out["ab"] = deploy.ab_status(
                dep, spec or deploy.load_analysis({"ab": {}}), ws, previous
            )
        out["ab"]["looks"] = len(looks)
        return out
    measurements = [
        {"step": e.detail["step"], "measurement": e.detail["measurement"],
         "verdict": e.detail["outcome"]["verdict"], "reasons": e.detail["outcome"]["reasons"],
         "since_ms": e.detail["since_ms"], "until_ms": e.detail["until_ms"]}
        for e in events
        if e.kind.value == "analysis" and e.detail.get("kind") == "canary"
        and e.detail.get("step") == dep.step
    ]  # fmt: skip
    out["measurements"] = measurements
    return out


def _act(ctx: typer.Context, name: str, action: str, reason: str, as_json: bool) -> None:
    from loopml import deploy

    ws = workspace_for(ctx)
    verbs = {
        "promote": (deploy.promote, "Promoted"),
        "rollback": (deploy.rollback, "Rolled back"),
        "pause": (deploy.pause, "Paused"),
        "resume": (deploy.resume, "Resumed"),
        "advance": (deploy.advance, "Advanced"),
    }
    run, verb = verbs[action]
    dep = run(name, reason=reason, workspace=ws)
    if action == "promote" and dep.status.value == "paused":
        verb = "Paused"
    _show(dep, as_json, verb)


@app.command("advance")
def advance(ctx: typer.Context, name: Name, reason: Reason = "", as_json: Json = False) -> None:
    """Move a canary to its next traffic step (blue-green: switch to green)."""
    _act(ctx, name, "advance", reason, as_json)


@app.command("promote")
def promote(ctx: typer.Context, name: Name, reason: Reason = "", as_json: Json = False) -> None:
    """Give the candidate all traffic and move the registry alias (pauses awaiting approval)."""
    _act(ctx, name, "promote", reason, as_json)


@app.command("rollback")
def rollback(ctx: typer.Context, name: Name, reason: Reason = "", as_json: Json = False) -> None:
    """Restore the stable state in one step, recording why."""
    _act(ctx, name, "rollback", reason, as_json)


@app.command("pause")
def pause(ctx: typer.Context, name: Name, reason: Reason = "", as_json: Json = False) -> None:
    """Hold a deployment where it is."""
    _act(ctx, name, "pause", reason, as_json)


@app.command("resume")
def resume(ctx: typer.Context, name: Name, reason: Reason = "", as_json: Json = False) -> None:
    """Let a paused deployment go on."""
    _act(ctx, name, "resume", reason, as_json)


@app.command("history")
def history(ctx: typer.Context, name: Name, as_json: Json = False) -> None:
    """Every event of a deployment: steps, pauses, promotions, rollbacks, with reasons."""
    from datetime import UTC, datetime

    from loopml import deploy

    events = deploy.history(name, workspace=workspace_for(ctx, read_only=True))
    if as_json:
        print_json([e.to_dict() for e in events])
        return
    table = Table("when", "kind", "weights", "actor", "reason")
    for e in events:
        when = datetime.fromtimestamp(e.at_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        weights = ", ".join(f"{k} {v}%" for k, v in e.to_weights.items())
        table.add_row(when, e.kind.value, esc(weights), esc(e.actor), esc(e.reason))
    console.print(table)


@app.command("run")
def run(
    ctx: typer.Context,
    name: Name,
    once: Annotated[bool, typer.Option("--once", help="One controller tick, then exit.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between ticks.", min=0.05)
    ] = 5.0,
    lease_ttl: Annotated[
        float,
        typer.Option("--lease-ttl", help="Seconds the lease outlives a dead controller.", min=1),
    ] = 30.0,
    as_json: Json = False,
) -> None:
    """Run the rollout controller: judge each step from the log, advance, roll back, promote.

    Exits 1 when the rollout ends rolled back (a check failed), 0 otherwise.
    """
    from loopml import deploy

    ws = workspace_for(ctx)

    def show(tick: deploy.Tick) -> None:
        if as_json:
            print_json(tick.to_dict())
        else:
            console.print(
                f"{esc(tick.deployment)}: {tick.action} -> {tick.status} step {tick.step + 1}"
                + (f" ({esc(tick.reason)})" if tick.reason else "")
            )

    if once:
        last = deploy.step_rollout(name, workspace=ws, lease_ttl_s=lease_ttl)
        show(last)
    else:
        last = deploy.run_rollout(
            name, interval_s=interval, workspace=ws, lease_ttl_s=lease_ttl, on_tick=show
        )
    if last.status == "rolled_back":
        raise typer.Exit(1)


@app.command("report")
def report(
    ctx: typer.Context,
    name: Name,
    shadow: Annotated[
        str | None, typer.Option("--arm", help="The shadow arm (default: the second arm).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Shadow report: agreement, score, latency and error deltas against the stable arm."""
    from loopml import deploy

    result = deploy.shadow_report(name, shadow=shadow, workspace=workspace_for(ctx, read_only=True))
    if as_json:
        print_json(result.to_dict())
        return
    rate = "n/a" if result.agreement_rate is None else f"{result.agreement_rate:.2%}"
    console.print(
        f"[bold]{esc(name)}[/] {esc(result.shadow)} vs {esc(result.stable)}: "
        f"{result.paired_rows} paired rows, agreement {rate} "
        f"({result.disagreements} differ), errors {result.errors}"
    )
    delta = result.score_delta.get("mean")
    if delta is not None:
        console.print(f"score delta mean {delta:+.4g}, p95 {result.score_delta['p95']:+.4g}")
    lat = result.latency_ms.get("delta", {}).get("mean")
    if lat is not None:
        console.print(f"latency delta mean {lat:+.3g} ms")
    for metric, row in result.metrics.items():
        console.print(
            f"{metric}: stable {row['stable']:.4g}, shadow {row['shadow']:.4g} "
            f"(delta {row['delta']:+.4g})"
        )
