"""``loopml pipeline``: run, list, show, resume and schedule pipelines."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.live import Live
from rich.table import Table
from rich.tree import Tree

from loopml.cli import pipeline_schedule
from loopml.cli._helpers import console, print_json, state, store_for, workspace_for
from loopml.cli._pipeline_options import ConfigOption, JsonOption, ParamOption, when
from loopml.cli._text import esc
from loopml.entities import PipelineRun, StepRun, StepStatus

if TYPE_CHECKING:
    from loopml.pipelines import PipelineResult

app = typer.Typer(help="Run, inspect, resume and schedule pipelines.", no_args_is_help=True)

_STYLE = {
    StepStatus.PENDING: "dim",
    StepStatus.RUNNING: "yellow",
    StepStatus.COMPLETED: "green",
    StepStatus.CACHED: "cyan",
    StepStatus.FAILED: "bold red",
    StepStatus.SKIPPED: "magenta",
}


def _seconds(step: StepRun) -> str:
    return "-" if step.wall_s is None else f"{step.wall_s:.2f}s"


def _memory(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.0f} MiB"


def _cost(value: float | None) -> str:
    return "-" if value is None else f"${value:.6f}"


def _step_json(step: StepRun) -> dict[str, Any]:
    return {
        "id": step.id,
        "name": step.name,
        "status": step.status.value,
        "upstream": list(step.upstream),
        "cache_hit": step.cache_hit,
        "cached_from": step.cached_from,
        "cache_key": step.cache_key,
        "attempts": step.attempts,
        "started_at_ms": step.started_at_ms,
        "ended_at_ms": step.ended_at_ms,
        "wall_s": step.wall_s,
        "cpu_s": step.cpu_s,
        "gpu_s": step.gpu_s,
        "peak_memory_bytes": step.peak_memory_bytes,
        "cost": step.cost,
        "inputs": dict(step.inputs),
        "outputs": [
            {"name": o.name, "digest": o.digest, "materialiser": o.materialiser, "size": o.size}
            for o in step.outputs
        ],
        "params": dict(step.params),
        "worker": step.worker,
        "run_id": step.run_id,
        "error": step.error,
        "log_digest": step.log_digest,
    }


def _run_json(run: PipelineRun, steps: list[StepRun] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": run.id,
        "pipeline": run.pipeline,
        "status": run.status.value,
        "target": run.target,
        "executor": run.executor,
        "cache": run.cache,
        "params": dict(run.params),
        "created_at_ms": run.created_at_ms,
        "ended_at_ms": run.ended_at_ms,
        "resumes": run.resumes,
        "schedule_id": run.schedule_id,
        "cost": run.cost,
        "error": run.error,
    }
    if steps is not None:
        data["steps"] = [_step_json(s) for s in steps]
    return data


def _table(steps: dict[str, StepRun]) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in ("step", "status", "attempts", "time", "cpu", "memory", "cost"):
        table.add_column(column)
    for step in steps.values():
        status = step.status.value.lower()
        table.add_row(
            esc(step.name),
            f"[{_STYLE[step.status]}]{status}[/]",
            str(step.attempts),
            _seconds(step),
            "-" if step.cpu_s is None else f"{step.cpu_s:.2f}s",
            _memory(step.peak_memory_bytes),
            _cost(step.cost),
        )
    return table


def _dag(run: PipelineRun, steps: list[StepRun]) -> Tree:
    tree = Tree(
        f"[bold]{esc(run.pipeline)}[/] {run.id} [{_run_style(run)}]{run.status.value.lower()}[/]"
        f"  cost {_cost(run.cost)}"
    )
    by_name = {s.name: s for s in steps}
    children: dict[str, list[str]] = {s.name: [] for s in steps}
    for step in steps:
        for up in step.upstream:
            children.setdefault(up, []).append(step.name)

    def add(branch: Tree, name: str) -> None:
        step = by_name[name]
        after = f" [dim]after {esc(', '.join(step.upstream))}[/]" if len(step.upstream) > 1 else ""
        label = (
            f"{esc(name)} [{_STYLE[step.status]}]{step.status.value.lower()}[/]"
            f" [dim]{_seconds(step)} {_cost(step.cost)}"
            + (f" x{step.attempts}" if step.attempts > 1 else "")
            + f"[/]{after}"
        )
        node = branch.add(label)
        if step.error and step.status in (StepStatus.FAILED, StepStatus.PENDING):
            node.add(f"[red]{esc(step.error.strip().splitlines()[-1])}[/]")
        for child in children.get(name, []):
            if by_name[child].upstream[0] == name:  # each step once, under its first input
                add(node, child)

    for step in steps:
        if not step.upstream:
            add(tree, step.name)
    return tree


def _run_style(run: PipelineRun) -> str:
    return {"COMPLETED": "green", "FAILED": "bold red"}.get(run.status.value, "yellow")


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send what steps print (here and in worker processes, which inherit the file
    descriptor) to stderr, so that ``--json`` output on stdout stays one JSON document."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _execute(as_json: bool, start: Any, title: str) -> Any:  # start(on_event) -> PipelineResult
    live_steps: dict[str, StepRun] = {}
    if as_json:
        with _stdout_to_stderr():
            return start(None)
    if not console.is_terminal:
        return start(None)
    with Live(_table(live_steps), console=console, refresh_per_second=8) as live:

        def on_event(step: StepRun) -> None:
            live_steps[step.name] = step
            live.update(_table(live_steps))

        console.print(title)
        return start(on_event)


def _report(ctx: typer.Context, result: Any, as_json: bool, started: float) -> None:
    if as_json:
        print_json(_run_json(result.run, list(result.steps)))
        return
    console.print(_dag(result.run, list(result.steps)))
    hits = sum(1 for s in result.steps if s.status is StepStatus.CACHED)
    console.print(
        f"{len(result.steps)} steps, {hits} cached, {time.perf_counter() - started:.2f}s"
        f" — loopml pipeline show {result.id}"
    )


@app.command("run")
def run(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(help="The pipeline as module:attr, e.g. pipeline:training")
    ],
    config: ConfigOption = None,
    param: ParamOption = None,
    executor: Annotated[
        str | None, typer.Option("--executor", "-e", help="local (default) or dask.")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step again.")] = False,
    project: Annotated[
        str | None, typer.Option("--project", help="Project the run is recorded in.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a pipeline; independent steps run in parallel, unchanged ones come from the cache."""
    from loopml.pipelines import load_pipeline, parse_params, read_config, run_pipeline

    workspace = state(ctx).workspace()
    params = parse_params(param or [], read_config(str(config)) if config else None)
    pipe = load_pipeline(target)
    pipe.graph(params)  # check before opening anything
    started = time.perf_counter()
    result = _execute(
        as_json,
        lambda on_event: run_pipeline(
            pipe,
            params,
            executor=executor,
            cache=not no_cache,
            workspace=workspace,
            on_event=on_event,
            raise_on_failure=False,
            project=project,
        ),
        f"running [bold]{esc(pipe.name)}[/]",
    )
    _report(ctx, result, as_json, started)
    _raise_if_failed(result)


def _raise_if_failed(result: PipelineResult) -> None:
    """Exit 1 (PipelineFailed) naming the failed steps when the run did not succeed."""
    from loopml.errors import PipelineFailed

    if not result.ok:
        failed = [s.name for s in result.steps if s.status is StepStatus.FAILED]
        raise PipelineFailed(
            result.id, failed, f"pipeline run {result.id} failed: {result.run.error}"
        )


@app.command("resume")
def resume_cmd(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The pipeline run to resume.")],
    executor: Annotated[
        str | None, typer.Option("--executor", "-e", help="Executor (default: the run's).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-run only the steps of a run that failed or never ran (also after a crash)."""
    from loopml.pipelines import resume

    workspace = state(ctx).workspace()
    started = time.perf_counter()
    result = _execute(
        as_json,
        lambda on_event: resume(
            run_id,
            executor=executor,
            workspace=workspace,
            on_event=on_event,
            raise_on_failure=False,
        ),
        f"resuming [bold]{esc(run_id)}[/]",
    )
    _report(ctx, result, as_json, started)
    _raise_if_failed(result)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only this pipeline.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 20,
    as_json: JsonOption = False,
) -> None:
    """Pipeline runs, newest first."""
    store = store_for(ctx, read_only=True)
    runs = store.list_pipeline_runs(pipeline=pipeline, limit=limit)
    if as_json:
        print_json([_run_json(r) for r in runs])
        return
    table = Table(box=None, pad_edge=False)
    for column in ("run", "pipeline", "status", "started", "seconds", "cost", "executor"):
        table.add_column(column, no_wrap=True)
    for r in runs:
        seconds = (
            "-" if r.ended_at_ms is None else f"{(r.ended_at_ms - r.created_at_ms) / 1000:.2f}"
        )
        table.add_row(
            r.id,
            esc(r.pipeline),
            f"[{_run_style(r)}]{r.status.value.lower()}[/]",
            when(r.created_at_ms),
            seconds,
            _cost(r.cost),
            esc(r.executor),
        )
    console.print(table if runs else "no pipeline runs yet")


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The pipeline run.")],
    logs: Annotated[
        str | None,
        typer.Option(
            "--logs",
            metavar="STEP",
            help="Print the captured output (stdout, stderr, logging) of this step instead.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """A run's DAG with each step's status, time, cost and error (or one step's log)."""
    if logs is not None:
        _print_log(ctx, run_id, logs)
        return
    store = store_for(ctx, read_only=True)
    run = store.get_pipeline_run(run_id)
    steps = store.list_step_runs(run_id)
    if as_json:
        print_json(_run_json(run, steps))
        return
    console.print(_dag(run, steps))
    console.print(_table({s.name: s for s in steps}))
    if run.error:
        console.print(f"[red]{esc(run.error)}[/]")


def _print_log(ctx: typer.Context, run_id: str, step: str) -> None:
    from loopml.pipelines import read_step_log

    text = read_step_log(run_id, step, workspace=workspace_for(ctx, read_only=True))
    if text is None:
        console.print(f"step {esc(step)!r} has no captured output (cached, skipped or silent)")
        return
    typer.echo(text, nl=not text.endswith("\n"))


app.add_typer(pipeline_schedule.schedule_app, name="schedule")
app.command("schedules")(pipeline_schedule.schedules)
