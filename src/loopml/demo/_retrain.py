"""The training action of the demo's drift trigger: a tracked retrain on the newest data.

The chain calls :func:`retrain` with the dataset version its ``check_data`` step accepted
(``params["data"]``, e.g. ``transactions@v2``). It fits the demo's model on that version
in a tracked run that records the version it trained on, and registers the run's model as
the next version of the trigger's model with the loop's gates; the chain then judges it
against the champion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from loopml import registry
from loopml.data import DataRepo
from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN
from loopml.demo._train import fraud_model
from loopml.ids import ObjectRef
from loopml.lineage import ObjectKind, Relation
from loopml.tracking import TrackingClient

if TYPE_CHECKING:
    from loopml.entities import ModelVersion
    from loopml.entities.trigger import Trigger
    from loopml.workspace import Workspace


def retrain(
    *, params: dict[str, Any], workspace: Workspace, trigger: Trigger, chain_id: str
) -> ModelVersion:
    """Fit on ``params["data"]`` in a tracked run and register the result (see module)."""
    import pandas as pd

    repo = DataRepo.for_workspace(workspace)
    ref = str(params["data"])
    version = repo.resolve(ref)
    frame = repo.load_table(ref)
    holdout = pd.read_parquet(str(params["holdout"]))
    features = list(FEATURE_COLUMNS)
    client = TrackingClient.for_workspace(workspace)
    try:
        run_params = {"data": ref, "rows": len(frame), "chain": chain_id, "model": "HGB"}
        with (
            threadpool_limits(limits=1),
            client.start_run(
                "demo-retrain", params=run_params, tags={"demo": "closed-loop", "chain": chain_id}
            ) as run,
        ):
            run.log_input(
                ObjectRef(ObjectKind.DATASET_VERSION, version.id), relation=Relation.TRAINED_ON
            )
            model = fraud_model(frame).fit(frame[features], frame[TARGET_COLUMN])
            scores = model.predict_proba(holdout[features])[:, 1]
            run.log_metrics({"roc_auc": float(roc_auc_score(holdout[TARGET_COLUMN], scores))})
            info = run.log_model(model, "fraud", input_example=holdout[features].head(5))
        client.flush()
    finally:
        client.close()
    return registry.register_model(
        trigger.model,
        info.uri,
        gates=params.get("gates"),
        description=f"Retrained by the closed loop (trigger chain {chain_id}) on {ref}.",
        store=workspace.store,
        artifacts=workspace.artifacts,
        actor=workspace.actor,
    )
