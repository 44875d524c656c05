"""No-regression gates, model cards and packages for the demo-style fraud model, MLflow import."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import yaml

from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN
from loopml.errors import Conflict, InvalidInput
from loopml.evaluation import evaluate
from loopml.models import load_model
from loopml.registry import (
    Actor,
    approve,
    import_mlflow_model,
    model_card,
    package_model,
    promote,
    register_model,
    request_promotion,
    set_promotion_policy,
)

ANA, BEN = Actor("ana", ("approver",)), Actor("ben", ("approver",))
GATES = """\
metrics:
  roc_auc: {min: 0.6}
no_regression:
  against: champion
  tolerance: {roc_auc: 0.01, log_loss: 0.02}
"""


def _champion(store, artifacts, model, test, tmp_path):
    gates = tmp_path / "gates.yaml"
    gates.write_text(GATES)
    X = test[list(FEATURE_COLUMNS)]
    register_model(
        "fraud",
        model,
        input_example=X.head(),
        gates=gates,
        store=store,
        artifacts=artifacts,
        actor=ANA,
    )
    set_promotion_policy("fraud", "champion", store=store, actor=ANA)
    report = evaluate(
        "models:/fraud/1",
        test,
        TARGET_COLUMN,
        slices=["device"],
        sensitive=["is_foreign"],
        infra=False,
        store=store,
        artifacts=artifacts,
        actor="ci",
    )
    assert report.passed is True  # the version's own gates; no champion yet to regress from
    request = request_promotion("fraud", 1, "champion", store=store, actor=ANA)
    approve(request.id, comment="ok", store=store, actor=BEN)
    promote(request.id, store=store, actor=ANA)
    return gates


def test_worse_challenger_fails_no_regression(
    store, artifacts, fraud_model, weak_model, fraud_data, tmp_path
):
    _, test = fraud_data
    gates = _champion(store, artifacts, fraud_model, test, tmp_path)
    cols = ["hour", "customer_age"]
    register_model(
        "fraud",
        weak_model,
        input_example=test[cols].head(),
        gates=gates,
        store=store,
        artifacts=artifacts,
        actor=ANA,
    )
    report = evaluate(
        "models:/fraud/2",
        test,
        TARGET_COLUMN,
        infra=False,
        robustness=False,
        analysis=False,
        store=store,
        artifacts=artifacts,
    )
    assert report.passed is False
    assert report.reference is not None and report.reference["uri"] == "models:/fraud@champion"
    failed = {g.rule.split()[0] for g in report.failures}
    assert "roc_auc" in failed
    assert all("reference" in g.detail for g in report.gates if "no worse" in g.rule)


def test_card_and_package_for_the_demo_model(store, artifacts, fraud_model, fraud_data, tmp_path):
    _, test = fraud_data
    run = store.create_run(name="demo-train", params={"C": "1.0"})
    _champion(store, artifacts, fraud_model, test, tmp_path)
    details = tmp_path / "card.yaml"
    details.write_text(
        "intended_use: Scoring card payments for fraud review.\n"
        "limitations: Trained on synthetic data.\n"
    )
    card = model_card(
        "fraud@champion",
        out=tmp_path / "card.md",
        details=details,
        store=store,
        artifacts=artifacts,
    )
    text = card.read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert (
        front["model_name"] == "fraud"
        and front["version"] == "1.0.0"
        and "champion" in front["tags"]
    )
    assert {m["type"] for m in front["model-index"][0]["results"][0]["metrics"]} >= {
        "roc_auc",
        "f1",
    }
    for needle in (
        "Scoring card payments",
        "Trained on synthetic data",
        "### Slices",
        "device=",
        "Fairness across is_foreign",
        "### Gates: PASSED",
        "approved by ben",
    ):
        assert needle in text, needle
    html = model_card(
        "fraud/1", html_output=True, out=tmp_path / "card.html", store=store, artifacts=artifacts
    ).read_text()
    assert html.startswith("<!doctype html>") and "<table>" in html
    with pytest.raises(InvalidInput):
        bad = tmp_path / "bad.yaml"
        bad.write_text("intended_usage: x\n")
        model_card("fraud/1", details=bad, out=tmp_path / "x.md", store=store, artifacts=artifacts)
    del run

    bundle = package_model("fraud@champion", tmp_path / "bundle", store=store, artifacts=artifacts)
    model = load_model(bundle / "model")
    X = test[list(FEATURE_COLUMNS)]
    np.testing.assert_array_equal(model.predict(X), fraud_model.predict(X))
    meta = json.loads((bundle / "bundle.json").read_text())
    assert meta["manifest_digest"] == model.digest and meta["semver"] == "1.0.0"
    assert any(
        r.startswith("scikit-learn==")
        for r in (bundle / "requirements.txt").read_text().splitlines()
    )
    assert (
        json.loads((bundle / "signature.json").read_text())["inputs"][0]["name"]
        == FEATURE_COLUMNS[0]
    )
    docker = (bundle / "Dockerfile").read_text()
    assert (
        docker.startswith("#")
        and "FROM python:" in docker
        and "loopml" in docker
        and "EXPOSE 8080" in docker
    )
    kinds = {}
    for path in (bundle / "k8s").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        assert {"apiVersion", "kind", "metadata", "spec"} <= set(doc)
        kinds[doc["kind"]] = doc
    assert set(kinds) == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    deployment = kinds["Deployment"]
    assert deployment["apiVersion"] == "apps/v1"
    pod = deployment["spec"]["template"]
    assert (
        deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    )
    container = pod["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert kinds["Service"]["spec"]["selector"] == {"app": deployment["metadata"]["name"]}
    hpa = kinds["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    with pytest.raises(Conflict):
        package_model("fraud@champion", bundle, store=store, artifacts=artifacts)


def test_import_mlflow_sklearn_model(tmp_path, fraud_model, fraud_data):
    _, test = fraud_data
    folder = tmp_path / "mlflow-model"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(pickle.dumps(fraud_model))
    cols = [
        {
            "type": "double"
            if test[c].dtype.kind == "f"
            else "long"
            if test[c].dtype.kind == "i"
            else "boolean"
            if test[c].dtype.kind == "b"
            else "string",
            "name": c,
        }
        for c in FEATURE_COLUMNS
    ]
    (folder / "MLmodel").write_text(
        yaml.safe_dump(
            {
                "artifact_path": "model",
                "flavors": {
                    "python_function": {
                        "loader_module": "mlflow.sklearn",
                        "model_path": "model.pkl",
                    },
                    "sklearn": {
                        "pickled_model": "model.pkl",
                        "serialization_format": "cloudpickle",
                    },
                },
                "run_id": "abc",
                "signature": {
                    "inputs": json.dumps(cols),
                    "outputs": json.dumps(
                        [{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]
                    ),
                },
            }
        )
    )
    with pytest.raises(InvalidInput, match="pickle"):
        import_mlflow_model(folder, tmp_path / "out")
    saved = import_mlflow_model(folder, tmp_path / "out", trust_pickle=True)
    model = load_model(saved.path)
    X = test[list(FEATURE_COLUMNS)]
    np.testing.assert_array_equal(model.predict(X), fraud_model.predict(X))
    assert model.signature is not None and model.signature.columns == list(FEATURE_COLUMNS)
    assert model.manifest.options["serialization"] == "skops"
    (folder / "MLmodel").write_text("flavors:\n  tensorflow: {}\n")
    with pytest.raises(InvalidInput, match="cannot be imported"):
        import_mlflow_model(folder, tmp_path / "out2", trust_pickle=True)
