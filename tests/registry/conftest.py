"""A real SQLite store and artifact store per test, and small fraud models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from loopml.artifacts import ArtifactStore
from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN, generate_transactions
from loopml.store.sql import SqlStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    with SqlStore(f"sqlite:///{tmp_path / 'loopml.db'}") as db:
        yield db


@pytest.fixture
def artifacts(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "artifacts"), fsync=False)


@pytest.fixture(scope="session")
def fraud_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = generate_transactions(start="2026-10-01", days=8, rows_per_day=600, seed=3)
    cutoff = frame["timestamp"].min() + pd.Timedelta(days=6)
    return frame[frame["timestamp"] < cutoff], frame[frame["timestamp"] >= cutoff]


def fraud_pipeline(columns: list[str], C: float = 1.0) -> Pipeline:
    categorical = [c for c in columns if c in ("merchant_category", "country", "device")]
    numeric = [c for c in columns if c not in categorical]
    encode = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ("num", StandardScaler(), numeric),
        ]
    )
    return Pipeline([("encode", encode), ("model", LogisticRegression(C=C, max_iter=2000))])


@pytest.fixture(scope="session")
def fraud_model(fraud_data):
    train, _ = fraud_data
    cols = list(FEATURE_COLUMNS)
    return fraud_pipeline(cols).fit(train[cols], train[TARGET_COLUMN])


@pytest.fixture(scope="session")
def weak_model(fraud_data):
    train, _ = fraud_data
    cols = ["hour", "customer_age"]
    return fraud_pipeline(cols).fit(train[cols], train[TARGET_COLUMN])
