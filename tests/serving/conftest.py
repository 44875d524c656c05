"""Small models trained here, a workspace per test session, and the app over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from loopml import Workspace, use_workspace
from loopml.models import save_model

COLUMNS = ["amount", "hour", "age"]


def frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.normal(size=n) for c in COLUMNS})


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace.open(home=tmp_path_factory.mktemp("serving-home"))
    with use_workspace(ws):
        yield ws
    ws.close()


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x = frame()
    y = (x["amount"] + x["hour"] > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    path = tmp_path_factory.mktemp("models") / "clf"
    save_model(model, path, input_example=x.head(5))
    return path


@pytest.fixture(scope="session")
def regressor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x = frame()
    model = LinearRegression().fit(x, x["amount"] * 2)
    path = tmp_path_factory.mktemp("models") / "reg"
    save_model(model, path, input_example=x.head(5))
    return path


@pytest.fixture(scope="session")
def registered(workspace: Workspace) -> str:
    from loopml.registry import register_model, set_alias

    x = frame()
    y = (x["amount"] > 0).astype(int)
    version = register_model(
        "scorer",
        LogisticRegression().fit(x, y),
        input_example=x.head(5),
        store=workspace.store,
        artifacts=workspace.artifacts,
    )
    set_alias("scorer", "champion", version.number, store=workspace.store)
    return "scorer"
