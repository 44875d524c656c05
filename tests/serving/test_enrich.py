"""Serving-time enrichment: a deployment naming a feature service gets the online values
joined to each request before predicting, through a running server, and logs them."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import loopml
from loopml import deploy, features, lineage, registry
from loopml.errors import NotFound
from loopml.ids import ObjectKind, ObjectRef
from loopml.models import load_model
from loopml.serving import create_deployment_app, read_predictions
from tests.serving.servers import serving
from tests.serving.test_router import session

DEFINITIONS = """\
entities:
  - name: customer
    keys: {customer_id: int64}
feature_views:
  - name: spend
    entities: [customer]
    source: spend.parquet
    event_timestamp: ts
    features:
      - {name: spend_7d}
      - {name: visits, dtype: int64}
feature_services:
  - name: fraud_v1
    features: [spend:spend_7d]
  - name: with_visits
    features: [spend:spend_7d, spend:visits]
"""
SPEND = {1: 120.0, 2: 30.0, 3: 5.0}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3],
            "ts": pd.to_datetime(["2026-10-01", "2026-10-03", "2026-10-02", "2026-10-02"]),
            "spend_7d": [99.0, SPEND[1], SPEND[2], SPEND[3]],
            "visits": [1, 2, 3, 4],
        }
    ).to_parquet(tmp_path / "spend.parquet")
    (tmp_path / "features.yaml").write_text(DEFINITIONS)
    with loopml.Workspace.open(home=home) as ws:
        features.apply(features.load_definitions(tmp_path / "features.yaml"), workspace=ws)
        features.materialize(workspace=ws)
        rng = np.random.default_rng(0)
        train = pd.DataFrame(
            {"amount": rng.normal(50, 30, 400), "spend_7d": rng.uniform(0, 150, 400)}
        )
        y = (train["amount"] > train["spend_7d"] * 0.5).astype(int)
        for c in (1.0, 0.5):
            registry.register_model(
                "fraud", LogisticRegression(C=c).fit(train, y), input_example=train.head(5),
                store=ws.store, artifacts=ws.artifacts,
            )  # fmt: skip
        registry.set_alias("fraud", "champion", 1, store=ws.store)
    return home


def test_a_running_server_joins_the_online_features_and_logs_them(home: Path) -> None:
    ws = loopml.Workspace.open(home=home)
    dep = deploy.create("fraud", "fraud@champion", feature_service="fraud_v1", workspace=ws)
    assert dep.feature_service == "fraud_v1"
    edges = lineage.upstream(ObjectRef(ObjectKind.DEPLOYMENT, "fraud"), store=ws.store)
    assert ObjectKind.FEATURE_SERVICE in {n.edge.src.kind for n in edges}
    rows = [{"customer_id": c, "amount": a} for c, a in ((1, 70.0), (2, 10.0), (3, 40.0))]
    with (
        serving("--deployment=fraud", home) as (url, _proc),
        httpx.Client(base_url=url, timeout=10, trust_env=False) as client,
    ):
        answer = client.post(
            "/invocations", json={"dataframe_records": rows}, headers={"x-prediction-id": "e1"}
        )
        assert answer.status_code == 200, answer.text
        missing_key = client.post("/invocations", json={"dataframe_records": [{"amount": 1.0}]})
        status = client.get("/deployment").json()
    model = load_model("models:/fraud@champion", workspace=ws)
    expected = model.predict(
        pd.DataFrame({"amount": [70.0, 10.0, 40.0], "spend_7d": [SPEND[1], SPEND[2], SPEND[3]]})
    )
    assert answer.json()["predictions"] == expected.tolist()
    assert missing_key.status_code == 422 and missing_key.json()["field"] == "customer_id"
    assert status["feature_service"] == "fraud_v1"
    logged = read_predictions(deployment="fraud", workspace=ws, with_feedback=False)
    logged = logged[logged["prediction_id"] == "e1"].sort_values("row")
    assert logged["in.spend_7d"].tolist() == [SPEND[1], SPEND[2], SPEND[3]]  # looked up
    assert logged["in.customer_id"].tolist() == [1, 2, 3]  # the keys, for skew checks
    ws.close()


def test_an_unknown_entity_is_refused_naming_the_feature_and_the_key(home: Path) -> None:
    ws = loopml.Workspace.open(home=home)
    with pytest.raises(NotFound):
        deploy.create("nope", "fraud@champion", feature_service="no_such", workspace=ws)
    deploy.create("fraud", "fraud@champion", feature_service="with_visits", workspace=ws)
    app = create_deployment_app("fraud", workspace=ws, prediction_log=False)

    async def script(client: httpx.AsyncClient) -> list[httpx.Response]:
        unknown = {"dataframe_records": [{"customer_id": 999, "amount": 1.0}]}
        return [await client.post("/invocations", json=unknown)]

    (refused,) = session(app, script)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error_code"] == "feature_missing" and "customer_id=999" in body["error"]
    ws.close()
