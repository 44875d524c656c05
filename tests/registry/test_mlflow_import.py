"""`loopml models import` of models saved by MLflow 3.17 itself (in its own venv).

Each model goes through the real CLI into a temporary home, is loaded back with loopml,
and must predict what MLflow's own loader predicted for the same rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from loopml.artifacts import open_artifact_store
from loopml.config import load_settings
from loopml.errors import InvalidInput
from loopml.models import LoadedModel, load_model
from loopml.registry import import_mlflow_model
from loopml.store import open_store

TREE = "sklearn.tree._tree.Tree"
LGBM_TYPES = (
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
)

# kind -> (the flags its import needs, the loopml flavour it becomes)
CASES = {
    "sklearn_default": ((), "sklearn"),
    "sklearn_cloudpickle": (("--trust-pickle",), "sklearn"),
    "sklearn_tree": (("--trust", TREE), "sklearn"),
    "xgboost": ((), "xgboost"),
    "lightgbm": ((), "lightgbm"),
    "lightgbm_sklearn": (tuple(f for t in LGBM_TYPES for f in ("--trust", t)), "lightgbm"),
    "pyfunc": (("--trust-pickle",), "python_function"),
}
CLASSIFIERS = ("sklearn_default", "sklearn_tree", "xgboost", "lightgbm_sklearn")


def _load(home: Path, uri: str, tmp_path: Path) -> LoadedModel:
    settings = load_settings(cwd=tmp_path, env={}, home=home)
    store = open_store(settings)
    try:
        return load_model(
            uri,
            store=store,
            artifacts=open_artifact_store(settings),
            cache_dir=tmp_path / "cache",
        )
    finally:
        store.close()


def _registered(cli, home: Path) -> list:
    listed = cli("--home", str(home), "models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CASES))
def test_mlflow_model_imports_and_predicts_as_mlflow(kind, mlflow_models, cli, tmp_path):
    flags, flavor = CASES[kind]
    home = tmp_path / "home"
    source = mlflow_models.model(kind)
    done = cli("--home", str(home), "models", "import", str(source), "--name", kind, *flags)
    assert done.returncode == 0, done.stderr
    assert f"registered {kind} version 1" in done.stdout

    model = _load(home, f"models:/{kind}/1", tmp_path)
    data = mlflow_models.data
    assert model.flavor == flavor
    assert model.manifest.metadata["imported_from"] == "mlflow"
    assert model.manifest.metadata["mlflow_version"] == mlflow_models.mlflow_version
    assert model.signature is not None
    assert [(c.name, c.dtype) for c in model.signature.inputs] == [
        ("f0", "float64"),
        ("f1", "float64"),
        ("f2", "float64"),
        ("f3", "float64"),
        ("n", "int64"),
    ]
    pd.testing.assert_frame_equal(model.input_example(), data.head(5), check_exact=False)

    predicted = model.predict(data)
    expected = mlflow_models.expected(kind)
    assert predicted.dtype.kind == expected.dtype.kind
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(predicted, expected, rtol=1e-12, atol=0)
    else:
        np.testing.assert_array_equal(predicted, expected)
    if kind in CLASSIFIERS:
        np.testing.assert_allclose(
            model.predict_proba(data), mlflow_models.expected(kind, "proba"), rtol=1e-12
        )


@pytest.mark.slow
def test_trusted_types_are_kept_for_later_loads(mlflow_models, cli, tmp_path):
    home = tmp_path / "home"
    source = mlflow_models.model("sklearn_tree")
    done = cli("--home", str(home), "models", "import", str(source), "--name", "t", "--trust", TREE)
    assert done.returncode == 0, done.stderr
    model = _load(home, "models:/t/1", tmp_path)
    assert model.manifest.options["serialization"] == "skops"
    assert model.manifest.options["trusted_types"] == [TREE]


@pytest.mark.slow
def test_cli_refuses_untrusted_types_and_pickles_with_the_flag_to_pass(
    mlflow_models, cli, tmp_path
):
    home = tmp_path / "home"

    def refused(kind: str) -> str:
        source = mlflow_models.model(kind)
        done = cli("--home", str(home), "models", "import", str(source), "--name", "x")
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done.stderr

    err = refused("sklearn_tree")
    assert f"model.skops needs type(s) outside skops' trusted defaults: {TREE}\n" in err
    assert f"pass --trust {TREE} (" in err
    err = refused("sklearn_cloudpickle")
    assert "model.pkl is a cloudpickle, which runs code when loaded\n" in err
    assert "Pass --trust-pickle" in err
    err = refused("pyfunc")
    assert "python_model.pkl is a cloudpickle, which runs code when loaded\n" in err
    assert _registered(cli, home) == []


@pytest.mark.slow
def test_each_trust_unlocks_only_what_it_names(mlflow_models, tmp_path):
    tree = mlflow_models.model("sklearn_tree")
    # MLflow lists the tree type in the MLmodel file; loopml does not take the file's word.
    mlmodel = yaml.safe_load((tree / "MLmodel").read_text())
    assert mlmodel["flavors"]["sklearn"]["skops_trusted_types"] == [TREE]
    for kwargs in ({}, {"trust": ["sklearn.linear_model.Ridge"]}, {"trust_pickle": True}):
        with pytest.raises(InvalidInput, match="outside skops' trusted defaults") as caught:
            import_mlflow_model(tree, tmp_path / "out", **kwargs)
        assert caught.value.fields["untrusted"] == [TREE]
    with pytest.raises(InvalidInput, match="is a cloudpickle"):
        import_mlflow_model(
            mlflow_models.model("sklearn_cloudpickle"),
            tmp_path / "out",
            trust=["sklearn.linear_model._ridge.Ridge"],
        )
    if "lightgbm_sklearn" in mlflow_models.kinds:
        with pytest.raises(InvalidInput, match="trusted defaults: lightgbm.basic.Booster\n"):
            import_mlflow_model(
                mlflow_models.model("lightgbm_sklearn"),
                tmp_path / "out",
                trust=[LGBM_TYPES[0], LGBM_TYPES[2]],
            )
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_python_api_takes_a_trust_list(mlflow_models, tmp_path):
    saved = import_mlflow_model(
        mlflow_models.model("sklearn_tree"), tmp_path / "out", trust=[TREE, "unused.Type"]
    )
    model = load_model(saved.path)
    assert model.manifest.metadata["mlflow_flavor"] == "sklearn"
    np.testing.assert_array_equal(
        model.predict(mlflow_models.data), mlflow_models.expected("sklearn_tree")
    )


def _mlmodel(folder: Path, flavors: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLmodel").write_text(yaml.safe_dump({"flavors": flavors}))
    return folder


@pytest.mark.parametrize(
    ("flavors", "message"),
    [
        (
            {"sklearn": {"pickled_model": "../outside.pkl", "serialization_format": "pickle"}},
            "lies outside the model directory",
        ),
        ({"sklearn": {"pickled_model": "gone.skops"}}, "does not exist"),
        ({"xgboost": {"data": "model.ubj", "model_class": "os.system"}}, "not an XGBoost model"),
        (
            {
                "python_function": {
                    "loader_module": "mlflow.pyfunc.model",
                    "model_code_path": "m.py",
                }
            },
            "model from code",
        ),
        (
            {
                "python_function": {
                    "loader_module": "mlflow.pyfunc.model",
                    "python_model": "python_model.pkl",
                    "artifacts": {"weights": {"path": "artifacts/w.bin"}},
                }
            },
            "uses artifacts (weights)",
        ),
        ({"python_function": {"loader_module": "my_loader", "data": "x"}}, "'my_loader'"),
        ({"sklearn": {"pickled_model": "model.skops"}}, "is not a readable skops file"),
    ],
)
def test_damaged_or_unsupported_mlmodel_is_refused(flavors, message, tmp_path):
    folder = _mlmodel(tmp_path / "m", flavors)
    (tmp_path / "outside.pkl").write_bytes(b"not read")
    (folder / "model.ubj").write_bytes(b"{}")
    (folder / "model.skops").write_bytes(b"not a zip file")
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_mlflow_model(folder, tmp_path / "out", trust_pickle=True)
    assert not (tmp_path / "out").exists()


def test_not_an_mlflow_directory_is_refused(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    done = cli("--home", str(tmp_path / "home"), "models", "import", "empty", "--name", "x")
    assert done.returncode == 2
    assert "is not an MLflow model directory" in done.stderr
    assert "Traceback" not in done.stderr


def test_pickled_model_skops_cannot_read_back_is_refused(tmp_path):
    import cloudpickle
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X = np.arange(12, dtype="float64").reshape(6, 2)
    model = make_pipeline(FunctionTransformer(lambda x: x * 2), Ridge()).fit(X, X[:, 0])
    folder = _mlmodel(
        tmp_path / "m",
        {"sklearn": {"pickled_model": "model.pkl", "serialization_format": "cloudpickle"}},
    )
    (folder / "model.pkl").write_bytes(cloudpickle.dumps(model))
    with pytest.raises(InvalidInput, match="cannot be stored with skops") as caught:
        import_mlflow_model(folder, tmp_path / "out", trust_pickle=True)
    assert "not a lambda" in caught.value.hint
    assert not (tmp_path / "out").exists()
