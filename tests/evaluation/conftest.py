"""Small models with known behaviour, their data, and a real registry home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from loopml.artifacts import ArtifactStore
from loopml.evaluation import EvaluationContext
from loopml.models import load_model, save_model
from loopml.store.sql import SqlStore
from tests.evaluation.toy_models import FlipNorth


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    with SqlStore(f"sqlite:///{tmp_path / 'loopml.db'}") as db:
        yield db


@pytest.fixture
def artifacts(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "artifacts"), fsync=False)


@pytest.fixture(scope="session")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    """Four features of the breast-cancer data, renamed a..d, and the label."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :4].copy()
    X.columns = ["a", "b", "c", "d"]
    return X, y


@pytest.fixture(scope="session")
def logistic(cancer, tmp_path_factory) -> tuple[LogisticRegression, Path]:
    """A fitted logistic regression on ``cancer`` and its saved directory."""
    X, y = cancer
    model = LogisticRegression(max_iter=5000).fit(X, y)
    return model, save_model(model, tmp_path_factory.mktemp("lr") / "m", input_example=X).path


@pytest.fixture(scope="session")
def regions() -> pd.DataFrame:
    """x in [0, 1), label x > 0.5, and a region column; FlipNorth is wrong only in north."""
    rng = np.random.default_rng(7)
    n = 600
    x = rng.uniform(0.0, 1.0, n)
    x[np.isclose(x, 0.5)] = 0.4
    return pd.DataFrame(
        {
            "x": x,
            "region": np.array(["north", "south", "east"])[np.arange(n) % 3],
            "y": (x > 0.5).astype(int),
        }
    )


@pytest.fixture(scope="session")
def flip_north(regions, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("flip") / "m"
    return save_model(FlipNorth(), path, input_example=regions[["x", "region"]].head()).path


@pytest.fixture
def context_of():
    """``context_of(path, frame, target, **kw)``: the checks' inputs for a saved model."""

    def build(path: Path, frame: pd.DataFrame, target: str, **kw) -> EvaluationContext:
        return EvaluationContext.of(load_model(path), frame, target, **kw)

    return build
