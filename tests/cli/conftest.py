"""A home with something of every kind in it, and the command tree of the Typer app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from loopml.cli import app

# Typer builds its commands on its own copy of Click, so they are told apart by shape
# (groups have ``commands``, options have ``param_type_name == "option"``).


def is_group(command: Any) -> bool:
    """True for a command group (it has subcommands)."""
    return isinstance(getattr(command, "commands", None), dict)


def command_tree() -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every group and command of ``loopml``, as (path, Click command), root first."""

    def walk(path: tuple[str, ...], command: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
        yield path, command
        if is_group(command):
            for name, sub in sorted(command.commands.items()):
                yield from walk((*path, name), sub)

    yield from walk((), typer.main.get_command(app))


def options_of(command: Any) -> set[str]:
    """Every option string a command accepts (``--json``, ``-n``...)."""
    return {
        opt
        for p in command.params
        if getattr(p, "param_type_name", "") == "option"
        for opt in p.opts
    }


@dataclass(frozen=True)
class Seeded:
    """What the seeded home holds (ids to put on command lines)."""

    home: Path
    folder: Path  # data.csv, new.csv, gates.yaml, strict.yaml, typo.yaml, model/, tune files
    run_ids: tuple[str, str]
    doomed_run: str
    version_id: str
    request_id: str  # guarded@production -> 1, by ana, not approved, never evaluated
    pipeline_run: str


def _seed_predictions(ws: Any) -> None:
    """Two logged predictions of fraud/1 (``seeded-pred-0`` has a label)."""
    import numpy as np

    from loopml.serving import PredictionLog, PredictionRecord, log_feedback

    log = PredictionLog(ws)
    for n in range(2):
        log.append(
            PredictionRecord(
                f"seeded-pred-{n}",
                1_796_000_000_000 + n,
                "fraud",
                1,
                None,
                None,
                {"amount": np.array([10.0 * (n + 1)])},
                {"predict": np.array([n])},
                0.5,
            )
        )
    log.close()
    log_feedback("seeded-pred-0", 1, workspace=ws)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """One home per test session: two data versions and schemas, three runs, a registered
    model with an alias, a guarded one with a promotion request, a pipeline run and a
    schedule."""
    from sklearn.linear_model import LogisticRegression

    import loopml
    from loopml.datasets import generate_transactions
    from loopml.models import save_model
    from loopml.pipelines import create_schedule, run_pipeline
    from loopml.registry import register_model, request_promotion, set_alias, set_promotion_policy
    from loopml.tracking import TrackingClient
    from loopml.workspace import Workspace, use_workspace
    from tests.pipelines import steps

    folder = tmp_path_factory.mktemp("seeded")
    home = folder / "home"
    frame = generate_transactions(start="2026-10-01", days=2, rows_per_day=150, seed=5)
    columns = ["amount", "hour", "customer_age"]
    frame[[*columns, "is_fraud"]].to_csv(folder / "data.csv", index=False)
    frame[[*columns, "is_fraud"]].head(120).to_csv(folder / "new.csv", index=False)
    model = LogisticRegression(max_iter=500).fit(frame[columns], frame["is_fraud"])
    save_model(model, folder / "model", input_example=frame[columns].head())
    (folder / "gates.yaml").write_text("metrics:\n  accuracy: {min: 0.5}\n")
    frame[["customer_id", "timestamp", "amount"]].to_parquet(folder / "fs_tx.parquet")
    (folder / "features.yaml").write_text(
        "entities:\n  - {name: customer, keys: {customer_id: int64}}\n"
        "feature_views:\n  - name: customer_spend\n    entities: [customer]\n"
        "    source: fs_tx.parquet\n    event_timestamp: timestamp\n    ttl: 30d\n"
        "    features: [{name: amount}]\n"
        "feature_services:\n  - {name: spend, features: [customer_spend]}\n"
    )
    (folder / "fs_entities.csv").write_text(
        "customer_id,event_timestamp\n1,2026-10-02T12:00:00\n2,2026-10-02T12:00:00\n"
    )
    (folder / "strict.yaml").write_text("metrics:\n  accuracy: {min: 0.99999}\n")
    (folder / "typo.yaml").write_text("metrics:\n  acuracy: {min: 0.5}\n")
    (folder / "thin_objective.py").write_text(
        "def objective(trial):\n    return -(trial.params['x'] - 1) ** 2\n"
    )
    (folder / "tune.yaml").write_text(
        "objective: thin_objective.py:objective\nn_trials: 2\nseed: 0\n"
        "space:\n  x: {type: float, low: -3, high: 3}\n"
    )

    ws = Workspace.open(home=home, env={}, cwd=folder, user="ana", roles="approver")
    with ws, use_workspace(ws):
        loopml.data.commit("tx", folder / "data.csv", message="first")
        loopml.data.commit("tx", folder / "new.csv", message="second")
        loopml.data.tag("tx@main", "first-cut")
        schema = loopml.data.infer_schema("tx@main")
        loopml.data.save_schema("tx@main", schema)  # tx@1: passes
        schema.columns["amount"].min = 1e12
        loopml.data.save_schema("tx", schema)  # tx@2: every amount is below its minimum
        client = TrackingClient.for_workspace(ws, capture_environment=False)
        ids = []
        for name, c in (("lr", 1.0), ("lr-strong", 0.1), ("doomed", 9.0)):
            with client.start_run(name, params={"C": c}) as run:
                run.log_metric("auc", 0.8 + c / 100)
                run.log_text(f"notes of {name}", "notes.txt")
            ids.append(run.id)
        client.close()
        version = register_model(
            "fraud", folder / "model", run_id=ids[0], gates=folder / "gates.yaml"
        )
        set_alias("fraud", "champion", 1)
        # a model no test evaluates: promoting it is refused for missing gates and approval
        register_model("guarded", folder / "model")
        set_promotion_policy("guarded", "production", approvals=1)
        request = request_promotion("guarded", 1, "production")
        piped = run_pipeline(steps.arithmetic, {"n": 3}, workspace=ws)
        _seed_predictions(ws)
        create_schedule(
            "tests.pipelines.steps:arithmetic", "0 0 29 2 *", name="leap-day"
        )  # never due while the tests run
    return Seeded(
        home=home,
        folder=folder,
        run_ids=(ids[0], ids[1]),
        doomed_run=ids[2],
        version_id=version.id,
        request_id=request.id,
        pipeline_run=piped.id,
    )
