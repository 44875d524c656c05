"""Small, fast pieces the trigger tests plug into rules: a training callable, rollout
drivers and signal sources (importable as ``tests.triggers.loop_helpers:NAME``)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from loopml import deploy, registry

GATES = "metrics:\n  roc_auc: {min: 0.75}\n"


def frame(seed: int, rows: int = 400, *, flip: bool = False) -> pd.DataFrame:
    """Two informative features and a label; ``flip`` inverts the labels (a bad model)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    y = (x1 + 0.5 * x2 + rng.normal(scale=0.5, size=rows) > 0).astype(int)
    if flip:
        y = 1 - y
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y})


def log_call(name: str, **detail: Any) -> None:
    """Append one line to $LOOP_CALLS (tests count how often a step really ran)."""
    where = os.environ.get("LOOP_CALLS")
    if where:
        with Path(where).open("a", encoding="utf-8") as out:
            out.write(json.dumps({"call": name, **detail}) + "\n")


def train(*, params: dict[str, Any], workspace: Any, trigger: Any, chain_id: str) -> Any:
    """Fit a logistic regression and register it as a new version of the trigger's model."""
    log_call("train", chain=chain_id, params=params)
    data = frame(int(params.get("seed", 1)), flip=bool(params.get("flip", False)))
    model = LogisticRegression().fit(data[["x1", "x2"]], data["y"])
    gates = params.get("gates")
    return registry.register_model(
        trigger.model,
        model,
        gates=gates,
        description=f"retrained by chain {chain_id}",
        input_example=data[["x1", "x2"]].head(3),
        store=workspace.store,
        artifacts=workspace.artifacts,
        actor=workspace.actor,
    )


def promote_canary(name: str, *, workspace: Any) -> None:
    """A canary controller that finds every step healthy: step up, then promote."""
    dep = deploy.get(name, workspace=workspace)
    if dep.status.value != "active":
        return
    if dep.step < len(dep.steps) - 1:
        deploy.advance(name, reason="healthy", workspace=workspace)
    else:
        deploy.promote(name, reason="analysis passed", workspace=workspace)


def fail_canary(name: str, *, workspace: Any) -> None:
    """A canary controller whose analysis fails at once: roll back."""
    deploy.rollback(name, reason="analysis failed: error_rate", workspace=workspace)


def slow_canary(name: str, *, workspace: Any) -> None:
    """Records each call and never decides (the agent is killed meanwhile), unless
    $LOOP_ROLLOUT is ``promote`` (the agent that resumes the chain)."""
    log_call("rollout", deployment=name, pid=os.getpid())
    if os.environ.get("LOOP_ROLLOUT") == "promote":
        promote_canary(name, workspace=workspace)
    else:
        time.sleep(0.05)


SIGNAL = {"value": 0.0}


def signal(trigger: Any, workspace: Any) -> Any:
    """A drift/performance source the tests set through $LOOP_SIGNAL or SIGNAL."""
    value = os.environ.get("LOOP_SIGNAL")
    got = float(value) if value is not None else SIGNAL["value"]
    return {"value": got, "alert": os.environ.get("LOOP_ALERT", "alert-1")}


def train_incremental(
    *, params: dict[str, Any], workspace: Any, trigger: Any, chain_id: str
) -> Any:
    """Update the champion on the rows added since its data version (``params["since"]``)
    and register the copy as the candidate."""
    from loopml import triggers
    from loopml.models import load_model

    champion = load_model(f"models:/{trigger.model}@champion", workspace=workspace).raw
    rows = triggers.rows_since(str(params["data"]), str(params["since"]), workspace=workspace)
    before = int(getattr(champion, "t_", 0))
    model, how = triggers.update_model(champion, rows, ["x1", "x2"], "y")
    log_call(
        "train_incremental",
        rows=len(rows),
        how=how,
        since=params["since"],
        updates=int(getattr(model, "t_", 0)) - before,
    )
    return registry.register_model(
        trigger.model,
        model,
        gates=params.get("gates"),
        description=f"{how} on {len(rows)} rows since {params['since']} (chain {chain_id})",
        input_example=rows[["x1", "x2"]].head(3),
        store=workspace.store,
        artifacts=workspace.artifacts,
        actor=workspace.actor,
    )
