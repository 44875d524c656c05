"""``loopml tune SPEC.yaml``: a hyperparameter search described in YAML."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loopml.cli._helpers import console, print_json, state
from loopml.cli._text import esc
from loopml.errors import InvalidInput


class TuneSpec(BaseModel):
    """The YAML file's shape."""

    model_config = ConfigDict(extra="forbid")

    objective: str = Field(description="module:function or path/to/file.py:function")
    space: dict[str, Any]
    n_trials: int = Field(20, ge=1)
    direction: Literal["maximize", "minimize"] = "maximize"
    parallelism: int = Field(1, ge=1)
    pruner: Literal["median", "hyperband", "none"] = "none"
    name: str = "tune"
    metric: str = "objective"
    seed: int | None = None


def _load_spec(path: Path) -> TuneSpec:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {path}: {exc.strerror}", hint="Pass the path of a tuning spec YAML."
        ) from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(
            f"{path}: malformed YAML ({exc})", hint="Fix the syntax at the line shown."
        ) from exc
    try:
        return TuneSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(
            f"{path}: invalid tuning spec: {problems}",
            hint="Required: objective (module:function) and space; optional: n_trials, direction, "
            "parallelism, pruner (median|hyperband|none), name, metric, seed.",
        ) from exc


def _load_objective(target: str, base: Path) -> Any:
    where, _, attr = target.rpartition(":")
    if not where or not attr:
        raise InvalidInput(
            f"objective {target!r} is not module:function", hint="e.g. objective: train:objective"
        )
    try:
        if where.endswith(".py"):
            file = (base / where).resolve()
            sys.path.insert(0, str(file.parent))  # so spawned/Dask workers import it by name
            module = importlib.import_module(file.stem)
        else:
            sys.path.insert(0, str(base.resolve()))
            module = importlib.import_module(where)
        return getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(
            f"cannot load objective {target!r}: {exc}",
            hint="Check the module path and function name.",
        ) from exc


def tune(
    ctx: typer.Context,
    spec: Annotated[Path, typer.Argument(help="Tuning spec YAML (objective, space, n_trials...).")],
    executor: Annotated[str, typer.Option("--executor", help="local or dask.")] = "local",
    dask_address: Annotated[
        str | None,
        typer.Option(
            "--dask-address",
            help="Dask scheduler (default: settings' dask_address, else a local cluster).",
        ),
    ] = None,
    n_trials: Annotated[
        int | None, typer.Option("--n-trials", min=1, help="Override the spec.")
    ] = None,
    parallelism: Annotated[
        int | None, typer.Option("--parallelism", min=1, help="Override the spec.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run a hyperparameter search; every trial is a child run of one parent run."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from loopml.tracking import TrackingClient
    from loopml.tuning import TrialResult
    from loopml.tuning import tune as run_tune

    if executor not in ("local", "dask"):
        raise InvalidInput(
            f"unknown executor {executor!r}", hint="Use --executor local or --executor dask."
        )
    config = _load_spec(spec)
    objective = _load_objective(config.objective, spec.parent)
    workspace = state(ctx).workspace()
    settings = workspace.settings
    client = TrackingClient.for_workspace(workspace)
    total = n_trials or config.n_trials
    best: list[float] = []
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[best]}"),
            TimeElapsedColumn(),
            console=console,
            disable=as_json,
            transient=False,
        ) as bar:
            task = bar.add_task(esc(config.name), total=total, best="")

            def advance(result: TrialResult) -> None:
                if result.value is not None:
                    best.append(result.value)
                top = (max if config.direction == "maximize" else min)(best) if best else None
                bar.update(task, advance=1, best="" if top is None else f"best {top:.5g}")

            result = run_tune(
                objective,
                config.space,
                n_trials=total,
                direction=config.direction,
                pruner=config.pruner,
                parallelism=parallelism or config.parallelism,
                executor=executor,  # type: ignore[arg-type]
                dask_address=dask_address or settings.dask_address,
                name=config.name,
                metric=config.metric,
                seed=config.seed,
                client=client,
                progress=advance,
            )
    finally:
        client.close()
    if as_json:
        print_json(
            {
                "parent_run_id": result.parent_run_id,
                "best_params": result.best_params,
                "best_value": result.best_value,
                "best_trial": result.best_trial,
                "best_run_id": result.best_run_id,
                "trials": [
                    {
                        "number": t.number,
                        "state": t.state,
                        "value": t.value,
                        "params": t.params,
                        "run_id": t.run_id,
                    }
                    for t in result.trials
                ],
            }
        )
        return
    console.print(
        f"best value {result.best_value:.6g} (trial {result.best_trial}, run {result.best_run_id})"
    )
    console.print(f"best params {esc(result.best_params)}")
    console.print(
        f"parent run {result.parent_run_id}: `loopml runs list --parent {result.parent_run_id}`"
    )
