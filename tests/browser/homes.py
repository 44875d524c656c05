"""The homes the browser tests look at, built once per session.

``build_home`` makes one SQLite home with: 100,000 runs (bulk-inserted through the store's
own tables in one transaction: a few seconds, not the minutes logging them one by one
would take), a run with 2,000 metrics, three runs with metric histories to compare, the
demo's data -> training run -> gated, approved, promoted champion flow (its functions, on a
small month of data), then the closed loop run for real through ``loopml.triggers`` (a drift
alert fires a trigger; one agent pass retrains in a pipeline, evaluates, canaries, waits for
an approval and promotes v2), a third version waiting for approval, and accounts per role.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loopml import registry, triggers
from loopml.config import load_settings
from loopml.data import DataRepo
from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN
from loopml.demo._data import prepare_data
from loopml.demo._release import MODEL
from loopml.demo._train import fraud_model, split_by_time
from loopml.entities import (
    Actor,
    Alert,
    AlertSeverity,
    AlertState,
    Arm,
    Deployment,
    DeploymentEventKind,
    DeploymentStrategy,
    MonitorWindow,
    Relation,
    RequestStatus,
)
from loopml.evaluation import evaluate
from loopml.governance import create_token
from loopml.ids import ObjectKind, ObjectRef, new_id
from loopml.store.sql import SqlStore
from loopml.tracking import TrackingClient
from loopml.workspace import Workspace, use_workspace

if TYPE_CHECKING:
    from loopml.triggers import ChainResult

BULK_RUNS = 100_000
#: A 1x1 transparent PNG.
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
WIDE_METRICS = 2_000
_STEPS = "tests.browser.pipeline_steps"


@dataclass
class Home:
    """What the tests need to know about the home."""

    workspace: Workspace
    tokens: dict[str, str]  # account -> token
    wide_run: str  # the run with 2,000 metrics
    files_run: str  # a run with a text log, a CSV table and a PNG
    compare_runs: list[str]
    training_run: str  # the champion's training run (inside the loop's pipeline run)
    first_training_run: str  # the demo's training run, of v1
    dataset_version: str  # "transactions@vN", the champion's training data
    pending_request: str  # a promotion request the approver decides in a test
    pipeline_run: str  # the loop's retraining pipeline run (four steps)
    chain: str  # the trigger chain that made v2 the champion


def _bulk_runs(store: SqlStore, n: int) -> None:
    base = int(time.time() * 1000) - n * 1000
    runs, params, latest = [], [], []
    models = ("rf", "gbm", "logreg", "svm")
    for i in range(n):
        run_id = f"b{i:031x}"
        created = base + i * 1000
        runs.append((run_id, f"sweep-{i}", "FINISHED", created, created + 500))
        params.append((run_id, "model", models[i % 4]))
        params.append((run_id, "lr", str(round(0.001 * (i % 100), 3))))
        latest.append((run_id, "auc", 0, created, (i * 7919 % 10_000) / 10_000))
    # The DB-API's executemany on plain tuples: ten times faster than SQLAlchemy's dicts.
    with store.database.engine.begin() as conn:
        raw = conn.connection.driver_connection
        raw.executemany(
            "INSERT INTO runs (id, name, status, created_at_ms, ended_at_ms) VALUES (?,?,?,?,?)",
            runs,
        )
        raw.executemany("INSERT INTO params (run_id, key, value) VALUES (?,?,?)", params)
        raw.executemany(
            "INSERT INTO metrics (run_id, key, step, timestamp_ms, value) VALUES (?,?,?,?,?)",
            latest,
        )
        raw.executemany(
            "INSERT INTO latest_metrics (run_id, key, step, timestamp_ms, value) "
            "VALUES (?,?,?,?,?)",
            latest,
        )


CUSTOMERS_SCHEMA = r"""format: loopml.schema/1
columns:
  id: {type: integer, nullable: false, unique: true}
  email: {type: string, nullable: false, pattern: '^[^@\s]+@[^@\s]+\.[a-z]{2,}$'}
  phone: {type: string}
  age: {type: integer, min: 0, max: 120}
  country: {type: string, allowed: [FR, GB]}
"""


def _customers(repo: DataRepo, folder: Path) -> None:
    """A small table with personal data (emails, phone numbers): v1 fits its saved schema,
    v2 adds two rows that break three of its rules."""
    from loopml import data
    from loopml.data import Schema

    path = folder / "customers.csv"
    rows = [
        f"{i},user{i}@example.com,+44 20 7946 {i:04d},{20 + i % 50},{'GB' if i % 2 else 'FR'}"
        for i in range(40)
    ]
    path.write_text("id,email,phone,age,country\n" + "\n".join(rows) + "\n")
    repo.commit("customers", [path], message="forty customers")
    data.save_schema("customers@main", Schema.from_yaml(CUSTOMERS_SCHEMA), repo=repo)
    with path.open("a") as out:
        out.write("40,not-an-email,+44 20 7946 0040,-5,BR\n41,user41@example.com,,130,GB\n")
    repo.commit("customers", [path], message="two bad rows")


def _accounts(store: SqlStore) -> dict[str, str]:
    tokens = {}
    for name, role in (
        ("ada", "admin"),
        ("ava", "approver"),
        ("vic", "viewer"),
        ("sam", "scientist"),
    ):
        store.create_user(name, actor="bootstrap")
        store.grant_role(name, role, actor="bootstrap")
        tokens[name], _ = create_token(name, actor="bootstrap", store=store)
    return tokens


def _train(client: TrackingClient, data: object) -> tuple[str, str, object]:
    """The demo's tracked training (its model and split), with a short boosting budget."""
    frame, version = data.frame, data.version  # type: ignore[attr-defined]
    train, test = split_by_time(frame, 8)
    features = list(FEATURE_COLUMNS)
    with client.start_run("demo-train", params={"max_iter": 20}, tags={"demo": "ui"}) as run:
        run.log_input(
            ObjectRef(ObjectKind.DATASET_VERSION, version.id), relation=Relation.TRAINED_ON
        )
        model = fraud_model(frame, max_iter=20).fit(train[features], train[TARGET_COLUMN])
        run.log_metrics({"accuracy": float(model.score(test[features], test[TARGET_COLUMN]))})
        info = run.log_model(model, "fraud", input_example=test[features].head(5))
    return run.id, info.uri, test


def _champion(
    store: SqlStore, workspace: Workspace, model_uri: str, test: object, folder: Path
) -> None:
    """Register with gates, evaluate, request, approve (another account) and promote: the
    demo's release path with one gate, so the evaluation stays quick."""
    author, approver = Actor("sam", ("scientist",)), Actor("ava", ("approver",))
    gates = folder / "gates.yaml"
    gates.write_text("metrics:\n  roc_auc: {min: 0.5}\n")
    version = registry.register_model(
        MODEL, model_uri, gates=gates, store=store, artifacts=workspace.artifacts, actor=author
    )
    evaluate(
        f"models:/{MODEL}/{version.number}",
        test,
        TARGET_COLUMN,
        robustness=False,
        infra=False,
        analysis=False,
        leakage=False,
        store=store,
        artifacts=workspace.artifacts,
        actor="sam",
    )
    registry.set_promotion_policy(MODEL, "champion", approvals=1, store=store, actor="ada")
    request = registry.request_promotion(
        MODEL, version.number, "champion", comment="first", store=store, actor=author
    )
    registry.approve(request.id, comment="looks good", store=store, actor=approver)
    registry.promote(request.id, reason="first release", store=store, actor=author)


def _deployment(store: SqlStore) -> None:
    """A canary of v2 at its first step, with a week of monitor windows."""
    now = int(time.time() * 1000)
    canary = Deployment(
        name="fraud",
        strategy=DeploymentStrategy.CANARY,
        arms=(Arm("stable", MODEL, 1, 90), Arm("canary", MODEL, 2, 10)),
        alias="champion",
        steps=(10, 50, 100),
        created_at_ms=now,
        updated_at_ms=now,
    )
    created = store.create_deployment(canary, actor="ada", reason="canary of v2")
    store.update_deployment(
        dataclasses.replace(created, step=0),
        actor="ada",
        kind=DeploymentEventKind.STEP,
        reason="first step: 10% to the canary",
    )
    day = 86_400_000
    for i in range(7):
        psi = 0.02 + 0.03 * i
        store.put_monitor_window(
            MonitorWindow(
                id=new_id(),
                scope="deployment:fraud",
                plan="daily",
                start_ms=now - (7 - i) * day,
                end_ms=now - (6 - i) * day,
                rows=1000 + 50 * i,
                complete=True,
                drifted=psi > 0.1,
                drift={
                    "amount": {"drifted": psi > 0.1, "role": "feature", "effects": {"psi": psi}},
                    "country": {"drifted": False, "role": "feature", "effects": {"psi": 0.01}},
                },
                realised={"roc_auc": 0.93 - 0.01 * i},
                estimated={"roc_auc": 0.94 - 0.008 * i},
                model=MODEL,
                version=1,
                deployment="fraud",
            ),
            actor="ada",
        )


def _approve_when_asked(store: SqlStore, version: int, done: threading.Event) -> None:
    """The human in the loop: ava approves the chain's promotion request once it is asked."""
    approver = Actor("ava", ("approver",))
    while not done.wait(0.05):
        for request in registry.list_requests(MODEL, store=store):
            if request.version == version and request.status is RequestStatus.PENDING:
                registry.approve(
                    request.id, comment="canary looked fine", store=store, actor=approver
                )
                return


def _loop(workspace: Workspace, folder: Path, dataset: str, test: object) -> ChainResult:
    """The closed loop, run for real: a stored drift alert, a drift trigger whose source
    reads it, and one pass of the trigger agent (``triggers.tick``, what ``loopml agent
    --once`` runs). Its chain runs the retraining pipeline (tests/browser/pipeline_steps.py),
    evaluates the candidate with the gates, canaries it, waits for ava's approval and
    promotes it to champion; the chain records the lineage the loop page draws."""
    store = workspace.store
    assert isinstance(store, SqlStore)
    store.add_alert(
        Alert(
            id=new_id(),
            rule="amount-drift",
            kind="drift",
            state=AlertState.FIRING,
            severity=AlertSeverity.WARNING,
            subject="amount",
            value=0.2,
            bound=0.1,
            deployment="fraud",
            model=MODEL,
            version=1,
            window_id=None,
            fired_at_ms=int(time.time() * 1000),
            resolved_at_ms=None,
            message="amount drifted (psi 0.20 > 0.10)",
        ),
        actor="ada",
    )
    holdout = folder / "holdout.parquet"
    test.to_parquet(holdout)  # type: ignore[attr-defined]
    gates = str(folder / "gates.yaml")
    agent = workspace.derive(actor=Actor("ada", ("admin",)))
    triggers.add_trigger(
        "retrain-on-drift",
        "drift",
        MODEL,
        condition={"threshold": 0.1, "source": f"{_STEPS}:drift_signal"},
        action={
            "pipeline": f"{_STEPS}:retrain",
            "params": {"dataset": dataset, "max_iter": 5, "gates": gates},
            "eval_data": str(holdout),
            "target": TARGET_COLUMN,
            "gates": gates,
            "deployment": "fraud",
            "steps": [50, 100],
            "poll_s": 0.05,
            "rollout": f"{_STEPS}:healthy_canary",
        },
        workspace=agent,
    )
    done = threading.Event()
    approver = threading.Thread(target=_approve_when_asked, args=(store, 2, done), daemon=True)
    approver.start()
    try:
        tick = triggers.tick(agent, owner="ui-home-agent", stats=triggers.AgentStats())
    finally:
        done.set()
        approver.join(timeout=5)
    assert len(tick.chains) == 1, tick
    chain = tick.chains[0]
    assert chain.outcome == "promoted", chain.events
    return chain


def build_home(folder: Path) -> Home:
    """Build the home under ``folder`` (about 15-25 s on two cores)."""
    workspace = Workspace(load_settings(home=folder / "home", env={}))
    store = workspace.store
    assert isinstance(store, SqlStore)
    tokens = _accounts(store)
    _bulk_runs(store, BULK_RUNS)
    client = TrackingClient.for_workspace(workspace)
    with use_workspace(workspace):
        with client.start_run("wide", params={"model": "wide"}) as wide:
            for step in range(3):
                wide.log_metrics(
                    {f"m{k:04d}": k * 0.001 + step for k in range(WIDE_METRICS)}, step=step
                )
        compare = []
        for lr in (0.01, 0.1, 0.3):
            with client.start_run(f"compare-{lr}", params={"lr": str(lr), "depth": "4"}) as run:
                for step in range(40):
                    run.log_metrics(
                        {"loss": 1 / (1 + lr * step), "acc": 1 - 1 / (2 + lr * step)}, step=step
                    )
            compare.append(run.id)
        with client.start_run("files") as files:
            files.log_text("epoch 1 loss 0.5\nepoch 2 loss 0.25\n", "logs/train.log")
            files.log_text("fold,auc\n1,0.91\n2,0.93\n", "cv.csv")
            files.log_bytes(_PNG, "plots/roc.png")
        repo = DataRepo.for_workspace(workspace)
        data = prepare_data(repo, folder / "data", days=8, rows_per_day=400, seed=7)
        repo.tag("transactions@main", "golden")
        _customers(repo, folder / "data")
        extra = folder / "data" / "labels.csv"
        extra.write_text("id,label\n1,0\n2,1\n")
        repo.commit(
            "transactions",
            [folder / "data" / "transactions.parquet", extra],
            message="labels added",
        )
        training_run, model_uri, test = _train(client, data)
        client.flush()
        _champion(store, workspace, model_uri, test, folder)
    client.close()
    chain = _loop(workspace, folder, f"transactions@v{data.version.seq}", test)
    with use_workspace(workspace):
        second = registry.register_model(
            MODEL, model_uri, store=store, artifacts=workspace.artifacts, actor="sam"
        )
        request = registry.request_promotion(
            MODEL, second.number, "champion", comment="retrained", store=store, actor="sam"
        )
    _deployment(store)
    pipeline_run = str(chain.output("pipeline_run"))
    retrain = next(s for s in store.list_step_runs(pipeline_run) if s.name == "train")
    return Home(
        workspace=workspace,
        tokens=tokens,
        wide_run=wide.id,
        files_run=files.id,
        compare_runs=compare,
        training_run=str(retrain.run_id),
        first_training_run=training_run,
        dataset_version=f"transactions@v{data.version.seq}",
        pending_request=request.id,
        pipeline_run=pipeline_run,
        chain=chain.chain_id,
    )
