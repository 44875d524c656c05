"""Save/load round trips per flavour, with prediction equality, and integrity checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression

from loopml.errors import Conflict, DigestMismatch, InvalidInput, UnsignedModel
from loopml.models import (
    MANIFEST,
    PythonModel,
    Signature,
    infer_signature,
    load_model,
    save_model,
)


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="module")
def classifier(cancer: tuple[pd.DataFrame, pd.Series]) -> LogisticRegression:
    X, y = cancer
    return LogisticRegression(max_iter=5000).fit(X, y)


class Doubler(PythonModel):
    def __init__(self, factor: float) -> None:
        self.factor = factor

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        return data.to_numpy().sum(axis=1) * self.factor


@pytest.mark.parametrize("serialization", ["skops", "pickle"])
def test_sklearn_round_trip(
    tmp_path: Path, cancer: tuple[pd.DataFrame, pd.Series], classifier, serialization: str
) -> None:
    X, _ = cancer
    saved = save_model(
        classifier,
        tmp_path / "m",
        input_example=X.head(5),
        options={"serialization": serialization},
    )
    model = load_model(saved.path)
    assert saved.flavor == model.flavor == "sklearn"
    np.testing.assert_array_equal(model.predict(X), classifier.predict(X))
    np.testing.assert_array_equal(model.predict_proba(X), classifier.predict_proba(X))
    assert model.digest == saved.digest
    assert model.signature is not None and model.signature.columns == list(X.columns)
    pd.testing.assert_frame_equal(model.input_example(), X.head(5), check_dtype=False)
    assert any(r.startswith("scikit-learn==") for r in model.manifest.requirements)


def test_regression_and_numpy_input(tmp_path: Path) -> None:
    X, y = load_diabetes(return_X_y=True)
    reg = LinearRegression().fit(X, y)
    model = load_model(save_model(reg, tmp_path / "r", input_example=X[:3]).path)
    np.testing.assert_allclose(model.predict(X), reg.predict(X))
    assert model.signature is not None
    assert model.signature.inputs[0].shape == (-1, 10)


def test_python_function_round_trip(tmp_path: Path, cancer) -> None:
    X, _ = cancer
    saved = save_model(Doubler(2.0), tmp_path / "p", input_example=X.head(2))
    assert saved.flavor == "python_function"
    model = load_model(saved.path)
    np.testing.assert_allclose(model.predict(X), X.to_numpy().sum(axis=1) * 2.0)
    with pytest.raises(InvalidInput):
        model.predict_proba(X)


def test_onnx_round_trip(tmp_path: Path, cancer, classifier) -> None:
    pytest.importorskip("skl2onnx")
    pytest.importorskip("onnxruntime")
    X, _ = cancer
    model = load_model(
        save_model(classifier, tmp_path / "o", flavor="onnx", input_example=X.head()).path
    )
    np.testing.assert_array_equal(model.predict(X), classifier.predict(X))
    np.testing.assert_allclose(model.predict_proba(X), classifier.predict_proba(X), atol=1e-5)


def test_onnx_needs_an_example(tmp_path: Path, classifier) -> None:
    pytest.importorskip("skl2onnx")
    with pytest.raises(InvalidInput, match="input example"):
        save_model(classifier, tmp_path / "o", flavor="onnx")
    assert not (tmp_path / "o").exists()


def test_xgboost_round_trip(tmp_path: Path, cancer) -> None:
    xgboost = pytest.importorskip("xgboost")
    X, y = cancer
    clf = xgboost.XGBClassifier(n_estimators=15, max_depth=3).fit(X, y)
    saved = save_model(clf, tmp_path / "x", input_example=X.head())
    assert saved.flavor == "xgboost"
    model = load_model(saved.path)
    np.testing.assert_array_equal(model.predict(X), clf.predict(X))
    np.testing.assert_allclose(model.predict_proba(X), clf.predict_proba(X))


def test_lightgbm_round_trip(tmp_path: Path, cancer) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    X, y = cancer
    clf = lightgbm.LGBMClassifier(n_estimators=15, verbose=-1).fit(X, y)
    saved = save_model(clf, tmp_path / "l", input_example=X.head())
    assert saved.flavor == "lightgbm"
    model = load_model(saved.path)
    np.testing.assert_array_equal(model.predict(X), clf.predict(X))
    np.testing.assert_allclose(model.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("serialization", ["skops", "pickle"])
def test_one_changed_byte_is_refused(tmp_path: Path, classifier, serialization: str) -> None:
    saved = save_model(classifier, tmp_path / "m", options={"serialization": serialization})
    name = "model.skops" if serialization == "skops" else "model.pkl"
    data = bytearray((saved.path / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (saved.path / name).write_bytes(bytes(data))
    with pytest.raises(DigestMismatch) as info:
        load_model(saved.path)
    assert name in info.value.location


def test_missing_file_and_rewritten_manifest_are_refused(tmp_path: Path, classifier) -> None:
    saved = save_model(classifier, tmp_path / "m")
    (saved.path / "model.skops").unlink()
    with pytest.raises(DigestMismatch):
        load_model(saved.path)
    other = save_model(classifier, tmp_path / "n", metadata={"note": "x"})
    body = json.loads((other.path / MANIFEST).read_text())
    body["metadata"] = {"note": "changed"}
    (other.path / MANIFEST).write_text(json.dumps(body))
    load_model(other.path)  # files intact: a local path has no recorded digest to compare
    with pytest.raises(DigestMismatch):
        load_model(other.path, expected_digest=other.digest)


def test_unsigned_model_is_refused(tmp_path: Path, classifier) -> None:
    import pickle

    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(pickle.dumps(classifier))
    with pytest.raises(UnsignedModel) as info:
        load_model(folder)
    assert isinstance(info.value, DigestMismatch)
    with pytest.raises(UnsignedModel):
        load_model(folder / "model.pkl")


def test_bad_inputs(tmp_path: Path, classifier, cancer) -> None:
    X, _ = cancer
    with pytest.raises(InvalidInput, match="no model flavour"):
        save_model(object(), tmp_path / "a")
    with pytest.raises(InvalidInput, match="unknown model flavour"):
        save_model(classifier, tmp_path / "b", flavor="nope")
    with pytest.raises(InvalidInput, match="serialization"):
        save_model(classifier, tmp_path / "c", options={"serialization": "json"})
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("x")
    with pytest.raises(Conflict):
        save_model(classifier, tmp_path / "d")
    with pytest.raises(InvalidInput, match="no model at"):
        load_model(tmp_path / "missing")
    model = load_model(save_model(classifier, tmp_path / "e", input_example=X.head()).path)
    with pytest.raises(InvalidInput, match="missing column"):
        model.predict(X.drop(columns=["mean radius"]))
    np.testing.assert_array_equal(model.predict(X.to_numpy()), classifier.predict(X))


def test_signature_inference_and_round_trip() -> None:
    frame = pd.DataFrame(
        {
            "a": [1, 2],
            "b": [0.5, 1.5],
            "c": ["x", "y"],
            "d": [True, False],
            "t": pd.to_datetime(["2026-01-01", "2026-01-02"]),
        }
    )
    sig = infer_signature(frame, np.array([0, 1]))
    assert [(c.name, c.dtype) for c in sig.inputs] == [
        ("a", "int64"),
        ("b", "float64"),
        ("c", "string"),
        ("d", "bool"),
        ("t", "datetime"),
    ]
    assert sig.outputs is not None and sig.outputs[0].shape == (-1,)
    assert Signature.from_dict(sig.to_dict()) == sig
    assert infer_signature([{"a": 1}]).columns == ["a"]
    assert infer_signature({"a": [1.0]}).inputs[0].dtype == "float64"
    with pytest.raises(InvalidInput):
        infer_signature(object())
    with pytest.raises(InvalidInput):
        Signature.from_dict({"inputs": [{"dtype": "complex"}]})
