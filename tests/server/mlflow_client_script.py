"""Run by MLflow's own Python (its venv): log a run to MLFLOW_TRACKING_URI, print what it did.

argv: a scratch folder. Prints one JSON line: the run ids and what MLflow read back.
"""

import json
import os
import sys
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

scratch = Path(sys.argv[1])
out: dict = {"mlflow": mlflow.__version__}

if os.environ.get("MODE") == "token":  # a server with auth: MLFLOW_TRACKING_TOKEN is loopml's
    mlflow.set_experiment("with-token")
    with mlflow.start_run(run_name="tokened") as run:
        mlflow.log_param("who", "service")
        mlflow.log_metric("m", 1.5, step=2)
    out["run_id"] = run.info.run_id
    import requests  # what any client without the token gets (MLflow caches its creds)

    url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/get"
    reply = requests.get(url, params={"run_id": run.info.run_id}, timeout=30)
    out["without_token"] = [reply.status_code, reply.json()["error_code"]]
    print(json.dumps(out))
    sys.exit(0)

experiment = mlflow.set_experiment("mlflow-compat")
out["experiment_id"] = experiment.experiment_id
with mlflow.start_run(run_name="from-mlflow") as run:
    mlflow.log_params({"alpha": 0.5, "model": "ridge"})
    mlflow.log_param("layers", 3)
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"acc": 0.75, "f1": 0.5})
    mlflow.set_tags({"team": "risk", "stage": "dev"})
    mlflow.set_tag("note", "hello")
    (scratch / "report.txt").write_text("loopml speaks MLflow\n")
    mlflow.log_artifact(str(scratch / "report.txt"))
    (scratch / "plots").mkdir(exist_ok=True)
    (scratch / "plots" / "curve.csv").write_text("step,loss\n0,1.0\n")
    mlflow.log_artifacts(str(scratch / "plots"), artifact_path="plots")
out["run_id"] = run.info.run_id

client = MlflowClient()
back = client.get_run(run.info.run_id)
out["read_back"] = {
    "status": back.info.status,
    "name": back.info.run_name,
    "params": back.data.params,
    "metrics": back.data.metrics,
    "tags": {k: v for k, v in back.data.tags.items() if not k.startswith("mlflow.")},
}
out["history"] = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss")]
out["artifacts"] = sorted(f.path for f in client.list_artifacts(run.info.run_id))
out["plots"] = sorted(f.path for f in client.list_artifacts(run.info.run_id, "plots"))
local = client.download_artifacts(run.info.run_id, "report.txt", str(scratch / "dl"))
out["downloaded"] = Path(local).read_text()
found = mlflow.search_runs(
    experiment_ids=[experiment.experiment_id],
    filter_string="metrics.acc > 0.5 and params.model = 'ridge'",
    output_format="list",
)
out["searched"] = [r.info.run_id for r in found]
out["searched_none"] = len(
    mlflow.search_runs(
        experiment_ids=[experiment.experiment_id],
        filter_string="metrics.acc > 0.9",
        output_format="list",
    )
)
try:
    client.get_run("0" * 32)
except MlflowException as exc:
    out["missing_error"] = exc.error_code
try:
    client.log_param(run.info.run_id, "alpha", "0.9")
except MlflowException as exc:
    out["param_change_error"] = exc.error_code

if os.environ.get("WITH_AUTOLOG") == "1":
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        out["autolog"] = None
    else:
        mlflow.sklearn.autolog(log_models=os.environ.get("AUTOLOG_MODELS", "1") == "1", silent=True)
        with mlflow.start_run(run_name="autolog") as auto:
            LogisticRegression(C=0.25, max_iter=50).fit(
                [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]], [0, 1, 0, 1]
            )
        out["autolog"] = auto.info.run_id
print(json.dumps(out))
