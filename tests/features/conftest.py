"""A workspace with generated feature data: two entities, two views, random times."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml import features as fs

BASE = pd.Timestamp("2026-01-01")


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[loopml.Workspace]:
    workspace = loopml.Workspace.open(home=tmp_path / "home")
    with loopml.use_workspace(workspace):
        yield workspace
    workspace.close()


def generate(seed: int, n_users: int = 6, n_merchants: int = 4, rows: int = 120) -> dict:
    """User rows with created times (some backfilled late), merchant rows without."""
    rng = np.random.default_rng(seed)
    user_ids = rng.integers(0, n_users, rows)
    event = rng.choice(np.arange(0, 10_000), rows, replace=False)
    delay = np.where(
        rng.random(rows) < 0.3, rng.integers(500, 5_000, rows), rng.integers(0, 50, rows)
    )
    users = pd.DataFrame(
        {
            "user_id": user_ids,
            "ts": BASE + pd.to_timedelta(event, unit="s"),
            "created": BASE + pd.to_timedelta(event + delay, unit="s"),
            "spend": rng.normal(size=rows).round(4),
            "visits": rng.integers(0, 100, rows),
        }
    )
    m_rows = rows // 2
    merchants = pd.DataFrame(
        {
            "merchant": [f"m{i}" for i in rng.integers(0, n_merchants, m_rows)],
            "at": BASE
            + pd.to_timedelta(rng.choice(np.arange(0, 10_000), m_rows, replace=False), unit="s"),
            "risk": rng.random(m_rows).round(4),
        }
    )
    entity = pd.DataFrame(
        {
            "user_id": rng.integers(0, n_users + 1, 300),  # one id has no rows at all
            "merchant": [f"m{i}" for i in rng.integers(0, n_merchants, 300)],
            "event_timestamp": BASE + pd.to_timedelta(rng.integers(-100, 12_000, 300), unit="s"),
        }
    )
    return {
        "users": users,
        "merchants": merchants,
        "entity": entity,
        "ttl": int(rng.integers(200, 3_000)),
    }


def definitions(folder: Path, ttl_s: int) -> fs.Definitions:
    return fs.Definitions(
        entities=(
            fs.Entity("user", {"user_id": "int64"}),
            fs.Entity("merchant", {"merchant": "string"}),
        ),
        views=(
            fs.FeatureView(
                "user_stats",
                entities=("user",),
                source=str(folder / "users*.parquet"),
                event_timestamp="ts",
                created_timestamp="created",
                ttl=ttl_s,
                features=(
                    fs.Field("spend"),
                    fs.Field("visits", "int64"),
                    fs.Field("spend2", expr="spend * 2"),
                ),
            ),
            fs.FeatureView(
                "merchant_risk",
                entities=("merchant",),
                source=str(folder / "merchants.parquet"),
                event_timestamp="at",
                features=(fs.Field("risk"),),
            ),
        ),
        services=(fs.FeatureService("model", ("user_stats", "merchant_risk:risk")),),
    )


def setup_data(folder: Path, seed: int) -> dict:
    data = generate(seed)
    data["users"].to_parquet(folder / "users.parquet")
    data["merchants"].to_parquet(folder / "merchants.parquet")
    fs.apply(definitions(folder, data["ttl"]))
    return data


def reference(data: dict) -> pd.DataFrame:
    """Brute force: for each entity row, scan every source row."""
    users, merchants, ttl = data["users"], data["merchants"], pd.Timedelta(seconds=data["ttl"])
    out = []
    for row in data["entity"].itertuples():
        t = row.event_timestamp
        seen = users[(users.user_id == row.user_id) & (users.ts <= t) & (users.created <= t)]
        rec = {"spend": None, "visits": None, "spend2": None, "risk": None}
        if len(seen):
            best = seen.sort_values(["ts", "created"]).iloc[-1]
            if t - best.ts <= ttl:
                rec.update(spend=best.spend, visits=int(best.visits), spend2=best.spend * 2)
        m = merchants[(merchants.merchant == row.merchant) & (merchants["at"] <= t)]
        if len(m):
            rec["risk"] = m.sort_values("at").iloc[-1].risk
        out.append(rec)
    return pd.DataFrame(out)
