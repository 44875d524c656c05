"""Run by MLflow's own Python (its venv) with a token granted in project ``a`` only.

env: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN, RUN_B (a run in b's experiment).
argv: a scratch folder. Prints one JSON line: what worked and the error codes of what not.
"""

import json
import os
import sys
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

scratch = Path(sys.argv[1])
client = MlflowClient()
out: dict = {}


def refused(call) -> list:
    """[HTTP status, MLflow error code] of a call that must fail."""
    try:
        call()
    except MlflowException as exc:
        return [exc.get_http_status_code(), exc.error_code]
    return ["no error"]


experiment = mlflow.set_experiment("exp-a")
with mlflow.start_run(run_name="in-a") as run:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_metric("loss", 0.25, step=1)
    (scratch / "note.txt").write_text("logged into project a\n")
    mlflow.log_artifact(str(scratch / "note.txt"))
out["run_a"] = run.info.run_id
out["artifacts_a"] = [f.path for f in client.list_artifacts(run.info.run_id)]
made = client.create_experiment("exp-a2", tags={"loopml.project": "a"})
out["made_in_a"] = client.get_experiment(made).name

exp_b = os.environ["EXP_B"]
out["set_experiment_b"] = refused(lambda: mlflow.set_experiment("exp-b"))
out["create_run_b"] = refused(lambda: client.create_run(exp_b))
out["log_param_b"] = refused(lambda: client.log_param(os.environ["RUN_B"], "alpha", "1"))
out["get_run_b"] = refused(lambda: client.get_run(os.environ["RUN_B"]))
out["artifacts_b"] = refused(lambda: client.list_artifacts(os.environ["RUN_B"]))
out["create_in_b"] = refused(
    lambda: client.create_experiment("exp-b2", tags={"loopml.project": "b"})
)
out["move_to_b"] = refused(lambda: client.set_tag(run.info.run_id, "loopml.project", "b"))
found = client.search_runs([experiment.experiment_id, exp_b])
out["searched"] = sorted(r.info.run_id for r in found)
out["experiments"] = sorted(e.name for e in client.search_experiments())
print(json.dumps(out))
