"""log_model saves with loopml.models; runs:/ URIs resolve to the run's verified model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from loopml.config import load_settings
from loopml.errors import InvalidInput, InvalidReference, NotFound
from loopml.models import Signature, load_model, resolve
from loopml.tracking import TrackingClient
from loopml.workspace import Workspace


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"amount": [1.0, 5.0, 3.0, 9.0], "hour": [1, 23, 4, 22]})


def _fit(frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(frame, [0, 1, 0, 1])


def test_runs_uri_loads_through_load_model(
    client: TrackingClient, frame: pd.DataFrame, tmp_path: Path
) -> None:
    model = _fit(frame)
    with client.start_run("train") as run:
        info = run.log_model(model, "fraud", input_example=frame)
    loaded = load_model(
        info.uri, store=client.store, artifacts=client.artifacts, cache_dir=tmp_path / "cache"
    )
    assert loaded.digest == info.manifest_digest and loaded.uri == info.uri
    assert (loaded.predict(frame) == model.predict(frame)).all()
    assert loaded.input_example().shape == frame.shape
    workspace = Workspace(
        load_settings(cwd=tmp_path, env={}),
        store=client.store,
        artifacts=client.artifacts,
        cache_dir=tmp_path / "cache",
    )
    resolved = resolve(info.uri, workspace)
    assert str(resolved.ref) == f"run:{run.id}"
    assert resolved.manifest_digest == info.manifest_digest
    assert resolved.path == tmp_path / "cache" / "models" / info.manifest_digest


def test_explicit_signature_options_and_nested_name(
    client: TrackingClient, frame: pd.DataFrame
) -> None:
    sig = {"inputs": [{"name": "amount", "dtype": "float64"}, {"name": "hour", "dtype": "int64"}]}
    with client.start_run("sig") as run:
        info = run.log_model(
            _fit(frame), "models/lr/", signature=sig, options={"serialization": "pickle"}
        )
    assert info.name == "models/lr" and info.uri.endswith("/models/lr")
    assert info.signature == Signature.from_dict(sig)
    assert {a.path for a in info.artifacts} == {
        "models/lr/loopml-model.json",
        "models/lr/model.pkl",
    }
    assert client.load_model(run.id, "models/lr").manifest.options["serialization"] == "pickle"


def test_bad_models_names_and_uris(client: TrackingClient, frame: pd.DataFrame) -> None:
    with client.start_run("bad") as run:
        with pytest.raises(InvalidInput):
            run.log_model({"weights": [1, 2]}, "dict")
        for name in ("", "../escape", "a/../../b", "/", "/models/lr", "a\x00b"):
            with pytest.raises(InvalidInput):
                run.log_model(_fit(frame), name)
        run.log_text("not a model", "notes/readme.txt")
    assert client.list_artifacts(run.id)[-1].path == "notes/readme.txt"
    with pytest.raises(NotFound):
        client.load_model(run.id, "notes")
    with pytest.raises(NotFound):
        client.load_model("f" * 32, "model")
    with pytest.raises(InvalidReference):
        load_model(f"runs:/{run.id}", store=client.store, artifacts=client.artifacts)
