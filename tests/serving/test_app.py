"""The app in-process (httpx over ASGI, lifespan run): every payload format, violations."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from loopml import Workspace
from loopml.models import load_model
from loopml.serving import RequestError, create_app, predict
from tests.serving.conftest import COLUMNS, frame

ROWS = frame(3, seed=7)


class Broken:
    """A model whose predict raises."""

    def predict(self, data: Any) -> Any:
        raise ZeroDivisionError("boom\nsecond line")


def call(app: Any, *requests: tuple[str, str, dict[str, Any]]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return [await client.request(m, url, **kw) for m, url, kw in requests]

    return asyncio.run(go())


@pytest.fixture(scope="module")
def expected(classifier_dir: Path) -> list[int]:
    return load_model(classifier_dir).predict(ROWS).tolist()


def _csv() -> bytes:
    lines = [",".join(COLUMNS)] + [",".join(str(v) for v in row) for row in ROWS.to_numpy()]
    return ("\n".join(lines) + "\n").encode()


MLFLOW = {
    "dataframe_split": {
        "json": {"dataframe_split": ROWS.to_dict(orient="split") | {"index": None}}
    },
    "dataframe_records": {"json": {"dataframe_records": ROWS.to_dict(orient="records")}},
    "instances_records": {"json": {"instances": ROWS.to_dict(orient="records")}},
    "instances_rows": {"json": {"instances": ROWS.to_numpy().tolist()}},
    "inputs_columns": {"json": {"inputs": ROWS.to_dict(orient="list")}},
    "csv": {"content": _csv(), "headers": {"content-type": "text/csv"}},
}


@pytest.mark.parametrize("kind", list(MLFLOW))
def test_every_mlflow_payload_format(kind, classifier_dir, workspace, expected) -> None:
    app = create_app(classifier_dir, workspace=workspace, prediction_log=False)
    (r,) = call(app, ("POST", "/invocations", MLFLOW[kind]))
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == expected
    assert r.json()["prediction_id"] == r.headers["x-prediction-id"]


def test_oip_per_column_and_matrix_tensors(classifier_dir, workspace, expected) -> None:
    app = create_app(classifier_dir, workspace=workspace, prediction_log=False)
    per_column = {
        "id": "mine",
        "inputs": [
            {"name": c, "shape": [3, 1], "datatype": "FP64", "data": ROWS[c].tolist()}
            for c in COLUMNS
        ],
        "outputs": [{"name": "predict"}],
    }
    matrix = {
        "inputs": [
            {
                "name": "x",
                "shape": [3, 3],
                "datatype": "FP32",
                "data": ROWS.to_numpy().reshape(-1).tolist(),
            }
        ]
    }
    a, b, meta, ready = call(
        app,
        ("POST", "/v2/models/clf/infer", {"json": per_column}),
        (
            "POST",
            "/v2/models/clf/versions/1/infer",
            {"content": httpx.Request("POST", "http://t", json=matrix).content},
        ),
        ("GET", "/v2/models/clf", {}),
        ("GET", "/v2/models/clf/versions/1/ready", {}),
    )
    assert a.status_code == 200, a.text
    assert a.json()["id"] == "mine" == a.headers["x-prediction-id"]
    assert [o["name"] for o in a.json()["outputs"]] == ["predict"]
    assert a.json()["outputs"][0]["data"] == expected
    assert b.status_code == 200, b.text  # no Content-Type at all
    out = {o["name"]: o for o in b.json()["outputs"]}
    assert out["predict_proba"]["shape"] == [3, 2]
    assert [i["name"] for i in meta.json()["inputs"]] == COLUMNS
    assert ready.json() == {"name": "clf", "ready": True}


def _records(**row: Any) -> dict[str, Any]:
    base = dict.fromkeys(COLUMNS, 1.0)
    base.update(row)
    return {"json": {"dataframe_records": [{k: v for k, v in base.items() if v != "DROP"}]}}


VIOLATIONS = {
    "missing_column": (_records(age="DROP"), 422, "age"),
    "extra_column": (_records(colour=3.0), 422, "colour"),
    "non_numeric_string": (_records(hour="noon"), 422, "hour"),
    "wrong_type_object": (_records(amount={"a": 1}), 422, "amount"),
    "wrong_shape": (
        {"json": {"inputs": {"amount": [[1, 2]], "hour": [1], "age": [1]}}},
        422,
        "amount",
    ),
    "empty_body": ({"content": b""}, 400, "body"),
    "invalid_json": ({"content": b"{nope"}, 400, "body"),
    "wrong_content_type": (
        {"content": b"x", "headers": {"content-type": "text/plain"}},
        415,
        "content-type",
    ),
    "unknown_key": ({"json": {"rows": []}}, 400, "rows"),
    "too_large": ({"content": b"[" + b"1," * 600 + b"1]"}, 413, "body"),
    "bad_timeout": (
        {**_records(), "headers": {"x-request-timeout-ms": "soon"}},
        400,
        "x-request-timeout-ms",
    ),
}


@pytest.mark.parametrize("case", list(VIOLATIONS))
def test_each_violation_is_a_4xx_naming_the_field(case, classifier_dir, workspace) -> None:
    kwargs, status, field = VIOLATIONS[case]
    app = create_app(classifier_dir, workspace=workspace, prediction_log=False, max_body_bytes=1000)
    (r,) = call(app, ("POST", "/invocations", kwargs))
    assert r.status_code == status, r.text
    assert r.json()["field"] == field
    assert "Traceback" not in r.text


OIP_VIOLATIONS = {
    "bad_datatype": ({"name": "x", "shape": [1, 3], "datatype": "FP99", "data": [1, 2, 3]}, 400),
    "datatype_mismatch": (
        {"name": "x", "shape": [1, 3], "datatype": "FP32", "data": ["a", "b", "c"]},
        422,
    ),
    "shape_mismatch": ({"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, 3]}, 422),
    "wrong_width": ({"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}, 422),
}


@pytest.mark.parametrize("case", list(OIP_VIOLATIONS))
def test_oip_violations(case, classifier_dir, workspace) -> None:
    tensor, status = OIP_VIOLATIONS[case]
    app = create_app(classifier_dir, workspace=workspace, prediction_log=False)
    (r, missing) = call(
        app,
        ("POST", "/v2/models/clf/infer", {"json": {"inputs": [tensor]}}),
        ("POST", "/v2/models/other/infer", {"json": {"inputs": [tensor]}}),
    )
    assert r.status_code == status, r.text
    assert r.json()["field"] == "x"
    assert missing.status_code == 404
    assert missing.json()["field"] == "name"


def test_registered_uris_metrics_and_feedback(registered, workspace: Workspace) -> None:
    for uri in (f"models:/{registered}@champion", f"models:/{registered}/1"):
        app = create_app(uri, workspace=workspace, prediction_log=False)
        r, metrics, doc, ver = call(
            app,
            (
                "POST",
                f"/v2/models/{registered}/versions/1/infer",
                {
                    "json": {
                        "inputs": [
                            {"name": "m", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}
                        ]
                    }
                },
            ),
            ("GET", "/metrics", {}),
            ("GET", "/openapi.json", {}),
            ("GET", "/version", {}),
        )
        assert r.status_code == 200, r.text
        assert r.json()["model_version"] == "1"
        text = metrics.text
        for name in (
            "loopml_serving_requests_total",
            "loopml_serving_batch_rows_bucket",
            "loopml_serving_request_duration_seconds_bucket",
            "loopml_serving_in_flight_requests",
            "loopml_serving_errors_total",
        ):
            assert name in text
        assert "/v2/models/{name}/infer" in doc.json()["paths"]
        assert ver.status_code == 200


def test_predict_in_process_validates(classifier_dir, workspace, expected) -> None:
    out = predict(classifier_dir, ROWS, workspace=workspace)
    assert out["predict"].tolist() == expected
    assert list(out.columns) == ["predict", "predict_proba_0", "predict_proba_1"]
    with pytest.raises(RequestError) as err:
        predict(classifier_dir, ROWS.drop(columns="age"), workspace=workspace)
    assert err.value.field == "age"


def test_fast_path_matches_the_model(classifier_dir, workspace, regressor_dir) -> None:
    from loopml.serving._runtime import load_served

    for directory in (classifier_dir, regressor_dir):
        served = load_served(directory, workspace=workspace)
        assert served.fast_path
        cols = {c: ROWS[c].to_numpy() for c in COLUMNS}
        got = served.predict(cols)["predict"]
        assert np.allclose(got, load_model(directory).predict(ROWS))


def test_onnx_runtime_agrees_with_native(classifier_dir, workspace, expected) -> None:
    pytest.importorskip("skl2onnx")
    app = create_app(classifier_dir, workspace=workspace, prediction_log=False, runtime="onnx")
    (r,) = call(app, ("POST", "/invocations", MLFLOW["dataframe_split"]))
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == expected
    assert app.state.server.served.model.flavor == "onnx"


def test_a_model_that_raises_answers_500_and_is_counted(tmp_path, workspace) -> None:
    from loopml.models import save_model

    save_model(Broken(), tmp_path / "broken", signature=None, flavor="python_function")
    app = create_app(tmp_path / "broken", workspace=workspace, prediction_log=False)
    r, metrics = call(
        app,
        ("POST", "/invocations", {"json": {"instances": [[1.0, 2.0]]}}),
        ("GET", "/metrics", {}),
    )
    assert r.status_code == 500
    assert r.json()["error"] == "the model failed to predict: ZeroDivisionError: boom"
    assert 'loopml_serving_errors_total{kind="model"} 1.0' in metrics.text


def test_a_failed_prediction_is_logged_with_its_error(tmp_path, workspace) -> None:
    from loopml.models import save_model
    from loopml.serving import read_predictions

    save_model(Broken(), tmp_path / "broken", signature=None, flavor="python_function")
    app = create_app(tmp_path / "broken", workspace=workspace)
    (r,) = call(
        app,
        (
            "POST",
            "/invocations",
            {"json": {"instances": [[1.0, 2.0]]}, "headers": {"x-prediction-id": "bad-1"}},
        ),
    )
    assert r.status_code == 500
    logged = read_predictions(workspace=workspace, with_feedback=False)
    row = logged[logged["prediction_id"] == "bad-1"]
    assert row["error"].tolist() == ["model"]


def test_a_package_folder_serves_its_model(registered, workspace, tmp_path) -> None:
    from loopml.registry import package_model

    bundle = package_model(
        f"{registered}@champion",
        tmp_path / "bundle",
        store=workspace.store,
        artifacts=workspace.artifacts,
    )
    app = create_app(bundle, workspace=workspace, prediction_log=False)
    r, meta = call(
        app,
        ("POST", "/invocations", {"json": {"instances": [[1.0, 2.0, 3.0]]}}),
        ("GET", f"/v2/models/{registered}/versions/1", {}),
    )
    assert r.status_code == 200, r.text
    assert meta.json()["name"] == registered


@pytest.mark.parametrize("named", [True, False], ids=["dataframe", "array"])
def test_a_forest_is_read_from_its_trees_and_answers_as_its_predict(
    tmp_path: Path, workspace, named: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    from loopml.models import save_model
    from loopml.serving._runtime import load_served

    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 4))
    y = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    data: Any = pd.DataFrame(x, columns=list("abcd")) if named else x
    forest = RandomForestClassifier(n_estimators=7, random_state=0).fit(data, y)
    save_model(forest, tmp_path / "forest", input_example=data[:5])
    served = load_served(tmp_path / "forest", workspace=workspace)
    assert served.fast_path
    rows = rng.normal(size=(50, 4))
    table: Any = pd.DataFrame(rows, columns=list("abcd")) if named else rows
    expected = forest.predict(table), forest.predict_proba(table)
    walks: list[int] = []
    real = RandomForestClassifier.predict_proba

    def counted(self: Any, X: Any) -> Any:
        walks.append(len(X))
        return real(self, X)

    monkeypatch.setattr(RandomForestClassifier, "predict_proba", counted)

    def columns(matrix: np.ndarray) -> dict[str, np.ndarray]:
        return {c: matrix[:, i] for i, c in enumerate("abcd")} if named else {"input": matrix}

    out = served.predict(columns(rows))
    assert walks == []  # straight from the trees: no predict() and no predict_proba()
    assert out["predict"].tolist() == expected[0].tolist()
    assert np.array_equal(out["predict_proba"], expected[1])  # the same sum: bit for bit

    holed = rows.copy()
    holed[0, 2] = np.nan
    with contextlib.suppress(ValueError):  # the forest's own answer to a NaN, whatever it is
        served.predict(columns(holed))
    assert walks == [50]  # a NaN is left to the forest's own method


@pytest.mark.parametrize("named", [True, False], ids=["dataframe", "array"])
def test_a_binary_logistic_regression_is_one_product_and_answers_as_its_methods(
    tmp_path: Path, workspace, named: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from loopml.models import save_model
    from loopml.serving._runtime import load_served

    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 4))
    y = np.where(x[:, 0] - x[:, 3] > 0, "fraud", "ok")
    data: Any = pd.DataFrame(x, columns=list("abcd")) if named else x
    model = LogisticRegression().fit(data, y)
    save_model(model, tmp_path / "logreg", input_example=data[:5])
    served = load_served(tmp_path / "logreg", workspace=workspace)
    assert served.fast_path
    rows = rng.normal(size=(64, 4))
    rows[0] = 0.0  # the decision is the intercept alone
    table: Any = pd.DataFrame(rows, columns=list("abcd")) if named else rows
    expected = model.predict(table), model.predict_proba(table)
    calls: list[str] = []
    for method in ("predict", "predict_proba"):
        real = getattr(LogisticRegression, method)

        def counted(self: Any, X: Any, _real: Any = real, _name: str = method) -> Any:
            calls.append(_name)
            return _real(self, X)

        monkeypatch.setattr(LogisticRegression, method, counted)

    def columns(matrix: np.ndarray) -> dict[str, np.ndarray]:
        return {c: matrix[:, i] for i, c in enumerate("abcd")} if named else {"input": matrix}

    out = served.predict(columns(rows))
    assert calls == []  # one product, not the model's two validated calls
    assert out["predict"].tolist() == expected[0].tolist()
    # The same operations; a DataFrame's values lie column by column in memory, which can
    # change the product's last bit.
    assert np.allclose(out["predict_proba"], expected[1], rtol=1e-12, atol=1e-15)

    holed = rows.copy()
    holed[1, 1] = np.nan
    with contextlib.suppress(ValueError):  # scikit-learn refuses a NaN, in its own words
        served.predict(columns(holed))
    assert calls  # a NaN is left to the model's own methods
