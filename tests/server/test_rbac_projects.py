"""Grants per project for datasets, pipeline runs and schedules, feature definitions and
deployments: a role granted in project ``a`` works there, is refused in ``b`` (each
refusal audited with the project it was checked in) and lists show only ``a``'s objects.

Run and model projects are tests/server/test_rbac.py's; the MLflow API's are
tests/server/test_mlflow_projects.py's.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from loopml.entities import (
    Alert,
    AlertSeverity,
    AlertState,
    Arm,
    Dataset,
    DatasetVersion,
    Deployment,
    DeploymentEventKind,
    DeploymentStrategy,
    FeedbackEntry,
    MonitorWindow,
    Outcome,
    PiiPolicy,
    PipelineRun,
    PipelineStatus,
    PredictionSegment,
    Schedule,
    StepRun,
    StepStatus,
)
from loopml.errors import InvalidInput, NotFound, PermissionDenied
from loopml.governance import PROJECT_TAG, create_token
from loopml.ids import new_id
from loopml.store.rest import RestStore
from loopml.store.sql import SqlStore
from tests.fixtures.cli import Cli
from tests.server.conftest import Served

PROJECTS = ("a", "b")


def _engineer_of_a(store: SqlStore, name: str = "eng-a") -> str:
    store.create_user(name, actor="setup")
    store.grant_role(name, "engineer", actor="setup", project="a")
    token, _ = create_token(name, actor="setup", store=store)
    return token


def _denials(store: SqlStore, user: str) -> list[tuple[str, str]]:
    events = store.list_audit_events(actor=user, outcome=Outcome.DENIED.value)
    return [(e.entry.action, e.entry.detail["project"]) for e in events]


def _refused(permission: str, call: Callable[[], Any]) -> None:
    with pytest.raises(PermissionDenied, match=permission) as caught:
        call()
    assert "'b'" not in str(caught.value)  # the refusal does not name the project


def _version(dataset_id: str, version_id: str) -> DatasetVersion:
    return DatasetVersion(
        id=version_id,
        dataset_id=dataset_id,
        seq=0,
        parents=(),
        message="m",
        author="x",
        created_at_ms=1,
        manifest_digest="d" * 64,
        file_count=0,
        total_bytes=0,
    )


def test_datasets_are_in_the_project_they_were_created_in(served: Served) -> None:
    store = served.store
    made = {p: store.create_dataset(f"ds-{p}", project=p) for p in PROJECTS}
    for p in PROJECTS:
        store.commit_version(_version(made[p].id, p * 32), branch="main", expected_head=None)
    assert store.get_dataset("ds-b").project == "b"
    with pytest.raises(InvalidInput, match="project"):
        store.create_dataset("ds-bad", project="no such/project")
    with RestStore(served.url, token=_engineer_of_a(store)) as remote:
        assert [d.name for d in remote.list_datasets()] == ["ds-a"]
        assert remote.set_pii_policy("ds-a", PiiPolicy.REDACT).pii_policy is PiiPolicy.REDACT
        assert remote.get_version("a" * 32).dataset_id == made["a"].id
        assert [r.name for r in remote.list_refs(made["a"].id)] == ["main"]
        assert remote.create_dataset("new-a", project="a").project == "a"
        fresh = Dataset(new_id(), "first-a", 1, project="a")
        remote.commit_version(
            _version(fresh.id, "c" * 32), branch="main", expected_head=None, create=fresh
        )
        _refused("data.write", lambda: remote.set_pii_policy("ds-b", PiiPolicy.BLOCK))
        _refused("data.write", lambda: remote.create_dataset("new-b", project="b"))
        elsewhere = Dataset(new_id(), "first-b", 1, project="b")
        _refused(
            "data.write",
            lambda: remote.commit_version(
                _version(elsewhere.id, "e" * 32),
                branch="main",
                expected_head=None,
                create=elsewhere,
            ),
        )
        _refused("data.read", lambda: remote.get_version("b" * 32))
        _refused("data.read", lambda: remote.list_refs(made["b"].id))
        _refused("data.read", lambda: remote.get_dataset("ds-b"))
    assert store.get_dataset("ds-b").pii_policy is PiiPolicy.WARN
    assert store.get_dataset("first-a").project == "a"
    assert [d.name for d in store.list_datasets()] == ["ds-a", "ds-b", "first-a", "new-a"]
    assert _denials(store, "eng-a") == [
        ("data.write", "b"),
        ("data.write", "b"),
        ("data.write", "b"),
        ("data.read", "b"),
        ("data.read", "b"),
        ("data.read", "b"),
    ]


def _pipeline_run(project: str) -> tuple[PipelineRun, StepRun]:
    run = PipelineRun(
        id=new_id(),
        pipeline=f"train-{project}",
        status=PipelineStatus.RUNNING,
        created_at_ms=int(time.time() * 1000),
        params={"n": 1, PROJECT_TAG: project},
    )
    step = StepRun(
        id=new_id(),
        pipeline_run_id=run.id,
        name="fit",
        status=StepStatus.COMPLETED,
        cache_key=f"key-{project}",
        ended_at_ms=1,
    )
    return run, step


def _schedule(project: str, name: str = "nightly") -> Schedule:
    return Schedule(
        id=new_id(),
        name=f"{name}-{project}",
        target="pipe:train",
        cron="0 2 * * *",
        next_run_at_ms=1000,
        created_at_ms=1,
        params={PROJECT_TAG: project},
    )


def test_pipeline_runs_and_schedules_are_in_their_loopml_project_parameter(
    served: Served,
) -> None:
    store = served.store
    runs = {}
    for p in PROJECTS:
        run, step = _pipeline_run(p)
        store.create_pipeline_run(run, [step])
        store.create_schedule(_schedule(p))
        runs[p] = run
    with RestStore(served.url, token=_engineer_of_a(store)) as remote:
        assert [r.id for r in remote.list_pipeline_runs()] == [runs["a"].id]
        assert [s.name for s in remote.list_schedules()] == ["nightly-a"]
        cached = remote.find_cached_step("key-a")
        assert cached is not None and cached.pipeline_run_id == runs["a"].id
        assert remote.find_cached_step("key-b") is None  # b's step is not a's cache
        done = dataclasses.replace(runs["a"], status=PipelineStatus.COMPLETED, ended_at_ms=2)
        assert remote.save_pipeline_run(done).status is PipelineStatus.COMPLETED
        assert [s.name for s in remote.list_step_runs(runs["a"].id)] == ["fit"]
        remote.update_schedule("nightly-a", enabled=False)
        remote.acquire_lease("scheduler", "eng-a", 5.0)  # a lease is in no project
        _refused(
            "pipelines.run",
            lambda: remote.save_pipeline_run(dataclasses.replace(runs["b"], error="x")),
        )
        moved = dataclasses.replace(done, params={PROJECT_TAG: "b"})
        _refused("pipelines.run", lambda: remote.save_pipeline_run(moved))
        _refused("pipelines.run", lambda: remote.create_pipeline_run(_pipeline_run("b")[0], []))
        _refused("runs.read", lambda: remote.get_pipeline_run(runs["b"].id))
        _refused("runs.read", lambda: remote.list_step_runs(runs["b"].id))
        _refused("pipelines.run", lambda: remote.create_schedule(_schedule("b", "weekly")))
        _refused("pipelines.run", lambda: remote.delete_schedule("nightly-b"))
    assert store.get_pipeline_run(runs["b"].id).error is None
    assert store.get_schedule("nightly-b").enabled and not store.get_schedule("nightly-a").enabled
    assert [project for _, project in _denials(store, "eng-a")] == ["b"] * 7


def _definition(store: Any, kind: str, name: str, project: str, note: str = "") -> Any:
    spec = {"name": name, "note": note, "tags": {PROJECT_TAG: project}}
    return store.put_feature_definition(
        actor="x", kind=kind, name=name, digest=f"{name}-{project}-{note}", spec=spec
    )


def test_feature_definitions_are_in_the_project_their_tags_name(served: Served) -> None:
    store: Any = served.store
    for p in PROJECTS:
        _definition(store, "feature_view", f"view-{p}", p)
        store.set_feature_watermark(f"view-{p}", "online", watermark_ms=1, end_ms=2, rows=3)
    remote: Any
    with RestStore(served.url, token=_engineer_of_a(served.store)) as remote:
        listed = remote.list_feature_definitions("feature_view")
        assert [d.name for d in listed] == ["view-a"]
        assert [w.view for w in remote.list_feature_watermarks()] == ["view-a"]
        newer, created = _definition(remote, "feature_view", "view-a", "a", "v2")
        assert created and newer.version == 2
        _definition(remote, "entity", "customer", "a")  # a new name, tagged a
        remote.set_feature_watermark("view-a", "online", watermark_ms=5, end_ms=6, rows=1)
        _refused("data.write", lambda: _definition(remote, "feature_view", "view-b", "b", "v2"))
        _refused("data.write", lambda: _definition(remote, "feature_view", "view-a", "b", "v3"))
        _refused("data.write", lambda: _definition(remote, "entity", "shop", "b"))
        _refused(
            "data.write",
            lambda: remote.set_feature_watermark(
                "view-b", "online", watermark_ms=9, end_ms=9, rows=9
            ),
        )
        _refused("data.read", lambda: remote.get_feature_definition("feature_view", "view-b"))
        _refused("data.read", lambda: remote.feature_definition_history("feature_view", "view-b"))
    assert store.get_feature_definition("feature_view", "view-b").version == 1
    assert store.get_feature_definition("feature_view", "view-a").version == 2
    assert [project for _, project in _denials(served.store, "eng-a")] == ["b"] * 6


def _deployment(name: str, model: str) -> Deployment:
    return Deployment(
        name=name,
        strategy=DeploymentStrategy.CANARY,
        arms=(Arm("stable", model, 1, 100), Arm("canary", model, 2, 0)),
    )


def test_a_deployment_is_in_its_stable_arms_model_project(served: Served) -> None:
    store: Any = served.store
    for p in PROJECTS:
        store.create_model(f"model-{p}", actor="setup", tags={PROJECT_TAG: p})
        store.create_deployment(_deployment(f"dep-{p}", f"model-{p}"), actor="setup")
    remote: Any
    with RestStore(served.url, token=_engineer_of_a(served.store)) as remote:
        assert [d.name for d in remote.list_deployments()] == ["dep-a"]
        current = remote.get_deployment("dep-a")
        stepped = dataclasses.replace(current, step=1)
        assert remote.update_deployment(stepped, actor="x", kind=DeploymentEventKind.STEP).step == 1
        assert [e.kind for e in remote.deployment_events("dep-a")][-1] is DeploymentEventKind.STEP
        remote.create_deployment(_deployment("dep-a2", "model-a"), actor="x")
        _refused(
            "deployments.write",
            lambda: remote.create_deployment(_deployment("dep-b2", "model-b"), actor="x"),
        )
        other = store.get_deployment("dep-b")
        _refused(
            "deployments.write",
            lambda: remote.update_deployment(
                dataclasses.replace(other, step=1), actor="x", kind=DeploymentEventKind.STEP
            ),
        )
        # Repointing a's deployment at b's model would move it to b.
        repointed = dataclasses.replace(
            remote.get_deployment("dep-a"), arms=(Arm("stable", "model-b", 1, 100),)
        )
        _refused(
            "deployments.write",
            lambda: remote.update_deployment(
                repointed, actor="x", kind=DeploymentEventKind.WEIGHTS
            ),
        )
        _refused("deployments.read", lambda: remote.get_deployment("dep-b"))
        _refused("deployments.read", lambda: remote.deployment_events("dep-b"))
    assert store.get_deployment("dep-b").revision == 1  # never written
    assert store.get_deployment("dep-a").arms[0].model == "model-a"
    assert [d.name for d in store.list_deployments()] == ["dep-a", "dep-a2", "dep-b"]
    assert _denials(served.store, "eng-a") == [
        ("deployments.write", "b"),
        ("deployments.write", "b"),
        ("deployments.write", "b"),
        ("deployments.read", "b"),
        ("deployments.read", "b"),
    ]


def _cli_env(served: Served, tmp_path: Path, user: str) -> dict[str, str]:
    """The CLI as engineer ``user`` of project ``a``, against the server."""
    return {
        "LOOPML_SERVER_URL": served.url,
        "LOOPML_TOKEN": _engineer_of_a(served.store, user),
        "LOOPML_USER": user,
        "LOOPML_HOME": str(tmp_path / "client-home"),
        "PYTHONPATH": str(Path(__file__).parents[2]),  # the test pipelines' module
    }


def test_loopml_data_commit_project_through_the_server(
    served: Served, tmp_path: Path, cli: Cli
) -> None:
    env = _cli_env(served, tmp_path, "eng-cli")
    (tmp_path / "tx.csv").write_text("a,b\n1,2\n3,4\n")
    made = cli("data", "commit", "tx-a", str(tmp_path / "tx.csv"), "--project", "a", env=env)
    assert made.returncode == 0, made.stderr
    assert served.store.get_dataset("tx-a").project == "a"
    refused = cli("data", "commit", "tx-b", str(tmp_path / "tx.csv"), "--project", "b", env=env)
    assert refused.returncode != 0 and "data.write" in refused.stderr
    with pytest.raises(NotFound):
        served.store.get_dataset("tx-b")
    (tmp_path / "tx.csv").write_text("a,b\n5,6\n")
    moved = cli("data", "commit", "tx-a", str(tmp_path / "tx.csv"), "--project", "b", env=env)
    assert moved.returncode == 2 and "fixed when it is created" in moved.stderr
    again = cli("data", "commit", "tx-a", str(tmp_path / "tx.csv"), "--json", env=env)
    assert again.returncode == 0, again.stderr  # no --project: the dataset's own
    assert served.store.get_dataset("tx-a").project == "a"


def test_loopml_pipeline_run_project_through_the_server(
    served: Served, tmp_path: Path, cli: Cli
) -> None:
    env = _cli_env(served, tmp_path, "eng-pipe")
    target = "tests.pipelines.steps:talking"
    ran = cli("pipeline", "run", target, "--project", "a", "--json", env=env)
    assert ran.returncode == 0, ran.stderr
    run_id = json.loads(ran.stdout)["id"]
    assert served.store.get_pipeline_run(run_id).params[PROJECT_TAG] == "a"
    shown = cli("pipeline", "show", run_id, "--logs", "chatty", env=env)
    assert shown.returncode == 0 and "chatty starts with n=3" in shown.stdout
    refused = cli("pipeline", "run", target, "--project", "b", "--json", env=env)
    assert refused.returncode != 0 and "pipelines.run" in refused.stderr
    assert [r.id for r in served.store.list_pipeline_runs()] == [run_id]


def _segment(project: str, number: int) -> PredictionSegment:
    return PredictionSegment(
        id=f"seg-{project}-{number}", model=f"model-{project}", version=1,
        deployment=f"dep-{project}", digest="f" * 64, rows=1, predictions=1,
        start_ms=number, end_ms=number, size=1,
    )  # fmt: skip


def _alert(project: str) -> Alert:
    return Alert(
        id=new_id(), rule="drift", kind="drift", state=AlertState.FIRING,
        severity=AlertSeverity.WARNING, subject="amount/psi", value=0.4, bound=0.2,
        deployment=f"dep-{project}", model=f"model-{project}", fired_at_ms=1,
    )  # fmt: skip


def _window(project: str) -> MonitorWindow:
    return MonitorWindow(
        id=new_id(), scope=f"deployment:dep-{project}", plan="10", start_ms=0, end_ms=1, rows=10,
        complete=True, drifted=False, model=f"model-{project}", version=1,
        deployment=f"dep-{project}",
    )  # fmt: skip


def test_predictions_feedback_alerts_and_windows_are_in_their_deployments_project(
    served: Served,
) -> None:
    store = served.store
    for p in PROJECTS:
        store.create_model(f"model-{p}", actor="setup", tags={PROJECT_TAG: p})
        store.create_deployment(_deployment(f"dep-{p}", f"model-{p}"), actor="setup")
        store.add_prediction_segment(_segment(p, 1), [f"pred-{p}"])
        store.add_alert(_alert(p), actor="setup")
        store.put_monitor_window(_window(p), actor="setup")
    windows = {w.deployment: w.id for w in store.list_monitor_windows()}
    alerts = {a.deployment: a.id for a in store.list_alerts()}
    remote: Any
    with RestStore(served.url, token=_engineer_of_a(store)) as remote:
        assert [s.id for s in remote.list_prediction_segments()] == ["seg-a-1"]
        assert remote.list_prediction_segments(deployment="dep-b") == []
        assert [a.deployment for a in remote.list_alerts()] == ["dep-a"]
        assert [w.deployment for w in remote.list_monitor_windows()] == ["dep-a"]
        remote.add_prediction_segment(_segment("a", 2), ["pred-a2"])
        remote.log_feedback([FeedbackEntry("pred-a", 1)], actor="x")
        remote.add_alert(_alert("a"), actor="x")
        remote.put_monitor_window(dataclasses.replace(_window("a"), start_ms=5), actor="x")
        _refused("deployments.write", lambda: remote.add_prediction_segment(_segment("b", 2), []))
        _refused(
            "deployments.write",
            lambda: remote.log_feedback([FeedbackEntry("pred-b", 1)], actor="x"),
        )
        _refused("deployments.write", lambda: remote.add_alert(_alert("b"), actor="x"))
        _refused(
            "deployments.write",
            lambda: remote.resolve_alert(alerts["dep-b"], actor="x", resolved_at_ms=2),
        )
        _refused("deployments.write", lambda: remote.put_monitor_window(_window("b"), actor="x"))
        _refused("deployments.read", lambda: remote.get_prediction_segment("seg-b-1"))
        _refused("deployments.read", lambda: remote.get_feedback(["pred-b"]))
        _refused("deployments.read", lambda: remote.get_monitor_window(windows["dep-b"]))
    assert store.get_feedback(["pred-b"]) == [] and len(store.get_feedback(["pred-a"])) == 1
    assert [d[1] for d in _denials(store, "eng-a")] == ["b"] * 8
