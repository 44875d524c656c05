"""MLflow's own client (in its own venv), with a loopml token granted in project ``a``
only, logs to ``a``'s experiment and is refused (403, MLflow's PERMISSION_DENIED) on
``b``'s; what it searches shows ``a`` only, and the refusals are in the audit log."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from loopml import Workspace
from loopml.entities import Outcome
from loopml.governance import PROJECT_TAG, create_token
from loopml.server import _mlflow_model as m
from tests.fixtures.mlflow_models import mlflow_python
from tests.server.test_mlflow_client import serving

SCRIPT = Path(__file__).with_name("mlflow_projects_script.py")
DENIED = [403, "PERMISSION_DENIED"]


def test_mlflow_logs_to_its_projects_experiment_and_is_refused_on_another(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with Workspace.open(home=home) as workspace:
        store = workspace.store
        m.create_experiment(store, "exp-a", {PROJECT_TAG: "a"})
        exp_b = m.create_experiment(store, "exp-b", {PROJECT_TAG: "b"})
        run_b = store.create_run(
            name="in-b", tags={PROJECT_TAG: "b", m.RUN_EXPERIMENT_TAG: exp_b.id}
        )
        store.create_user("trainer", actor="admin", kind="service")
        store.grant_role("trainer", "scientist", actor="admin", project="a")
        secret, _ = create_token("trainer", actor="admin", store=store)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    child_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    with serving(home, "--auth") as url:
        child_env.update(
            MLFLOW_TRACKING_URI=url,
            MLFLOW_TRACKING_TOKEN=secret,
            MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
            MLFLOW_HTTP_REQUEST_TIMEOUT="30",
            EXP_B=exp_b.id,
            RUN_B=run_b.id,
        )
        done = subprocess.run(
            [str(mlflow_python()), "-W", "ignore", str(SCRIPT), str(scratch)],
            env=child_env,
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    for refusal in (
        "set_experiment_b",
        "create_run_b",
        "log_param_b",
        "get_run_b",
        "artifacts_b",
        "create_in_b",
        "move_to_b",
    ):
        assert out[refusal] == DENIED, (refusal, out[refusal])
    assert out["artifacts_a"] == ["note.txt"]
    assert out["made_in_a"] == "exp-a2"
    assert out["searched"] == [out["run_a"]]  # b's run is not answered
    assert out["experiments"] == ["exp-a", "exp-a2"]
    with Workspace.open(home=home) as workspace:
        store = workspace.store
        run = store.get_run(out["run_a"])
        assert run.tags[PROJECT_TAG] == "a"  # a run is in its experiment's project
        assert run.params == {"alpha": "0.5"}
        assert [a.path for a in store.list_run_artifacts(run.id)] == ["note.txt"]
        untouched = store.get_run(run_b.id)
        assert untouched.params == {} and len(store.list_runs()) == 5
        events = store.list_audit_events(actor="trainer", outcome=Outcome.DENIED.value)
        refused = [(e.entry.action, e.entry.detail["project"]) for e in events]
    assert refused == [
        ("runs.read", "b"),
        ("runs.write", "b"),
        ("runs.write", "b"),
        ("runs.read", "b"),
        ("runs.read", "b"),
        ("runs.write", "b"),
        ("runs.write", "b"),
    ]
