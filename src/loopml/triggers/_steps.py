"""The six steps of a chain; each returns what it made, kept in its ``completed`` event."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml import registry
from loopml.entities import DeploymentStatus, ModelVersion, RequestStatus, TriggerEventKind
from loopml.errors import InvalidTrigger, NotFound
from loopml.ids import ObjectKind, ObjectRef, new_id
from loopml.lineage import Relation
from loopml.triggers._chain import STATUS_TAG, ChainContext, StepOut, elapsed_s, need
from loopml.triggers._conditions import load_callable
from loopml.triggers._data_check import DEFAULTS, poisoning_check

if TYPE_CHECKING:
    import pandas as pd

    from loopml.workspace import Workspace

CHAMPION = "champion"


def _champion(ws: Workspace, model: str) -> ModelVersion | None:
    try:
        return registry.get_version(f"{model}@{CHAMPION}", store=ws.store)
    except NotFound:
        return None


def trained_on(ws: Workspace, version: ModelVersion) -> str | None:
    """The dataset version id a model version was trained on (lineage), if recorded."""
    from loopml import lineage

    for node in lineage.upstream(ObjectRef(ObjectKind.MODEL_VERSION, version.id), store=ws.store):
        if node.edge.src.kind == ObjectKind.DATASET_VERSION.value:
            return node.edge.src.id
    return None


def _version_ref(ws: Workspace, version_id: str) -> str:
    stored = ws.store.get_version(version_id)
    dataset = next(d for d in ws.store.list_datasets() if d.id == stored.dataset_id)
    return f"{dataset.name}@v{stored.seq}"


def _table(ws: Workspace, ref: str) -> pd.DataFrame:
    from loopml import data

    if Path(ref).exists():
        import pandas as pd

        path = Path(ref)
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return data.load_table(ref, repo=data.repo_for(ws))


# -- check_data ---------------------------------------------------------------------------


def check_data(ctx: ChainContext) -> StepOut:
    """The new data passes its saved schema and the poisoning check, or the retrain is
    refused (an alert-like ``refused`` event)."""
    from loopml import data

    dataset = ctx.action.get("dataset") or ctx.trigger.condition.get("dataset")
    if not dataset:
        return StepOut({"data_check": "skipped: the action names no dataset"})
    ref = str(dataset) if "@" in str(dataset) else f"{dataset}@main"
    repo = data.repo_for(ctx.ws)
    head = repo.resolve(ref)
    name = ref.split("@", 1)[0]
    version = f"{name}@v{head.seq}"
    detail: dict[str, Any] = {"dataset": version, "dataset_version_id": head.id}
    failures: list[str] = []
    if data.list_schemas(name, repo=repo):
        report = data.validate(version, data.get_schema(name, repo=repo), repo=repo)
        detail["schema_ok"] = report.ok
        if not report.ok:
            failures += [f"schema: {a.kind} {a.column}" for a in report.errors][:10]
    settings = {**DEFAULTS, **dict(ctx.action.get("data_check") or {})}
    champion = _champion(ctx.ws, ctx.model)
    reference_id = trained_on(ctx.ws, champion) if champion is not None else None
    if reference_id is not None and reference_id != head.id:
        reference = _table(ctx.ws, _version_ref(ctx.ws, reference_id))
        new = _table(ctx.ws, version)
        target = ctx.action.get("target")
        check = poisoning_check(
            reference,
            new,
            str(target) if target else None,
            drift_share=float(ctx.fired.detail.get("value") or 0.0)
            if ctx.trigger.kind.value == "drift"
            else 0.0,
            max_label_shift=float(settings["max_label_shift"]),
            max_duplicate_fraction=float(settings["max_duplicate_fraction"]),
            max_outlier_fraction=float(settings["max_outlier_fraction"]),
            outlier_z=float(settings["outlier_z"]),
            near_decimals=int(settings["near_decimals"]),
            columns=[str(c) for c in settings["columns"]] if settings.get("columns") else None,
        )
        detail["poisoning"] = check.to_dict()
        detail["reference"] = _version_ref(ctx.ws, reference_id)
        failures += [f"poisoning: {name}" for name in check.failed]
    if failures:
        detail["failed"] = failures
        return StepOut(detail, finish="refused", extra=TriggerEventKind.REFUSED)
    return StepOut(detail)


# -- train --------------------------------------------------------------------------------


def _params(ctx: ChainContext) -> dict[str, Any]:
    params = dict(ctx.action.get("params") or {})
    dataset = ctx.outputs.get("dataset")
    if dataset and ctx.action.get("data_param"):
        params[str(ctx.action["data_param"])] = dataset
    if ctx.action.get("incremental") and ctx.action.get("since_param"):
        champion = _champion(ctx.ws, ctx.model)
        since = trained_on(ctx.ws, champion) if champion is not None else None
        if since is not None:
            params[str(ctx.action["since_param"])] = _version_ref(ctx.ws, since)
    if ctx.action.get("window_days") is not None and "window_days" not in params:
        params["window_days"] = ctx.action["window_days"]
    return params


def _made_by_pipeline(ctx: ChainContext, run_id: str) -> ModelVersion | None:
    """The newest version of the model registered from a tracking run of pipeline run
    ``run_id`` (lineage pipeline run -> step run -> run), also when its steps came from
    the cache of an earlier run."""
    from loopml import lineage

    store = ctx.ws.store
    below = lineage.downstream(ObjectRef(ObjectKind.PIPELINE_RUN, run_id), 2, store=store)
    runs = {n.edge.dst.id for n in below if n.edge.dst.kind == ObjectKind.RUN.value}
    # A step served from the cache reused the outputs of the step run that made them, and
    # that step run tracked the training run: follow the reused outputs back to it.
    reused = [n.edge.dst for n in below if n.edge.relation == Relation.REUSED.value]
    makers = {
        n.edge.src
        for ref in reused
        for n in lineage.upstream(ref, 1, store=store)
        if n.edge.src.kind == ObjectKind.STEP_RUN.value
    }
    for maker in makers:
        runs |= {
            n.edge.dst.id
            for n in lineage.downstream(maker, 1, store=store)
            if n.edge.dst.kind == ObjectKind.RUN.value
        }
    try:
        versions = registry.list_versions(ctx.model, store=ctx.ws.store)
    except NotFound:
        return None
    mine = [v for v in versions if v.run_id in runs]
    return max(mine, key=lambda v: v.number) if mine else None


def _candidate(ctx: ChainContext, made: Any, after_ms: int) -> ModelVersion:
    if isinstance(made, ModelVersion):
        return made
    if isinstance(made, str) and made.startswith("models:/"):
        return registry.get_version(made, store=ctx.ws.store)
    if isinstance(made, str) and made:
        return registry.register_model(
            ctx.model,
            made,
            gates=ctx.action.get("gates"),
            store=ctx.ws.store,
            artifacts=ctx.ws.artifacts,
            actor=ctx.ws.actor,
        )
    versions = [
        v
        for v in registry.list_versions(ctx.model, store=ctx.ws.store)
        if v.created_at_ms >= after_ms
    ]
    if not versions:
        raise InvalidTrigger(
            f"the training action of trigger {ctx.trigger.name!r} registered no new version "
            f"of {ctx.model!r}",
            hint="Let the pipeline register the model, or return its URI from action.train.",
        )
    return max(versions, key=lambda v: v.number)


def train(ctx: ChainContext) -> StepOut:
    """Run the training pipeline (or callable) with parameters from the event."""
    from loopml import pipelines

    params = _params(ctx)
    after = ctx.started.at_ms
    detail: dict[str, Any] = {"params": params}
    if "pipeline" in ctx.action:
        run_id = str(ctx.started.detail.get("pipeline_run") or "")
        existing = None
        if not run_id:
            run_id = new_id()
            ctx.started = ctx.record(
                TriggerEventKind.STEP,
                step="train",
                status="started",
                detail={"pipeline_run": run_id},
            )
        else:
            try:
                existing = ctx.ws.store.get_pipeline_run(run_id)
            except NotFound:
                existing = None
        ctx.link(ctx.here, ObjectRef(ObjectKind.PIPELINE_RUN, run_id), Relation.TRIGGERED)
        if existing is None:
            result = pipelines.run_pipeline(
                pipelines.load_pipeline(str(ctx.action["pipeline"])),
                params,
                workspace=ctx.ws,
                executor=ctx.executor,
                raise_on_failure=False,
                run_id=run_id,
            )
        elif existing.status.value == "COMPLETED":
            result = None
        else:
            result = pipelines.resume(
                run_id, workspace=ctx.ws, executor=ctx.executor, raise_on_failure=False
            )
        if result is not None and not result.ok:
            raise RuntimeError(f"pipeline run {run_id} ended {result.run.status.value}")
        detail["pipeline_run"] = run_id
        made: Any = _made_by_pipeline(ctx, run_id)
    else:
        fn = load_callable(str(need(ctx, "train")))
        made = fn(params=params, workspace=ctx.ws, trigger=ctx.trigger, chain_id=ctx.chain_id)
    version = _candidate(ctx, made, after)
    ctx.link(ctx.here, ObjectRef(ObjectKind.MODEL_VERSION, version.id), Relation.TRIGGERED)
    detail.update({"candidate": version.number, "candidate_id": version.id})
    return StepOut(detail)


# -- evaluate -----------------------------------------------------------------------------


def _reject(ctx: ChainContext, number: int, why: str) -> None:
    current = registry.get_version(f"{ctx.model}/{number}", store=ctx.ws.store)
    tags = {**current.tags, STATUS_TAG: "rejected", "loopml.rejected_by": ctx.chain_id}
    registry.update_version(
        ctx.model,
        number,
        tags=tags,
        description=current.description or why,
        store=ctx.ws.store,
        actor=ctx.ws.actor,
    )


def evaluate(ctx: ChainContext) -> StepOut:
    """Judge the candidate by the model's gates against the champion; a failure rejects it."""
    from loopml.evaluation import evaluate as run_evaluation

    number = int(ctx.outputs["candidate"])
    eval_data = ctx.action.get("eval_data")
    if not eval_data:
        return StepOut({"evaluation": "skipped: the action names no eval_data"})
    report = run_evaluation(
        f"models:/{ctx.model}/{number}",
        _table(ctx.ws, str(eval_data)),
        str(need(ctx, "target")),
        gates=ctx.action.get("gates"),
        robustness=False,
        infra=False,
        analysis=False,
        leakage=False,
        record=True,
        store=ctx.ws.store,
        artifacts=ctx.ws.artifacts,
        actor=ctx.ws.actor.name,
    )
    failed = [g.rule for g in report.gates if not g.passed]
    detail = {"evaluation": report.evaluation_id, "gates_failed": failed, "passed": report.passed}
    if not report.passed:
        _reject(ctx, number, f"failed its gates: {', '.join(failed)}")
        return StepOut(detail, finish="rejected", extra=TriggerEventKind.REJECTED)
    return StepOut(detail)


# -- register -----------------------------------------------------------------------------


def register(ctx: ChainContext) -> StepOut:
    """Mark the candidate as the chain's accepted candidate (tags, with the chain id)."""
    number = int(ctx.outputs["candidate"])
    current = registry.get_version(f"{ctx.model}/{number}", store=ctx.ws.store)
    tags = {**current.tags, STATUS_TAG: "candidate", "loopml.chain": ctx.chain_id}
    registry.update_version(ctx.model, number, tags=tags, store=ctx.ws.store, actor=ctx.ws.actor)
    return StepOut({"registered": f"{ctx.model}/{number}"})


# -- canary -------------------------------------------------------------------------------


def canary(ctx: ChainContext) -> StepOut:
    """Start a canary of the candidate against the champion and wait for its verdict."""
    from loopml import deploy

    base = ctx.action.get("deployment")
    number = int(ctx.outputs["candidate"])
    if not base or _champion(ctx.ws, ctx.model) is None:
        return StepOut({"deployment": None, "rollout": "skipped"})
    name = str(ctx.started.detail.get("deployment") or f"{base}-v{number}")
    if "deployment" not in ctx.started.detail:
        ctx.started = ctx.record(
            TriggerEventKind.STEP, step="canary", status="started", detail={"deployment": name}
        )
    try:
        deploy.get(name, workspace=ctx.ws)
    except NotFound:
        deploy.create(
            name,
            f"{ctx.model}@{CHAMPION}",
            strategy="canary",
            candidate=f"{ctx.model}/{number}",
            steps=ctx.action.get("steps"),
            analysis=ctx.action.get("analysis"),
            workspace=ctx.ws,
        )
    step_rollout = load_callable(str(ctx.action["rollout"])) if ctx.action.get("rollout") else None
    timeout = float(ctx.action.get("rollout_timeout_s", 600))
    poll = float(ctx.action.get("poll_s", 1.0))
    while True:
        dep = deploy.get(name, workspace=ctx.ws)
        if dep.status is DeploymentStatus.COMPLETED:
            return StepOut({"deployment": name, "rollout": "completed"})
        if dep.status is DeploymentStatus.ROLLED_BACK:
            return StepOut({"deployment": name, "rollout": "rolled_back", "why": dep.reason})
        if dep.status is DeploymentStatus.PAUSED and dep.reason == deploy.AWAITING_APPROVAL:
            return StepOut({"deployment": name, "rollout": "awaiting_approval"})
        if elapsed_s(ctx.started) > timeout:
            deploy.rollback(name, reason=f"rollout timed out after {timeout:g}s", workspace=ctx.ws)
            return StepOut({"deployment": name, "rollout": "rolled_back", "why": "timed out"})
        if step_rollout is not None:
            step_rollout(name, workspace=ctx.ws)
        ctx.wait(poll)


# -- promote ------------------------------------------------------------------------------


def _request_id(ctx: ChainContext, deployment: str | None, number: int) -> str | None:
    from loopml import deploy

    if deployment is not None:
        for event in reversed(deploy.history(deployment, workspace=ctx.ws)):
            if event.detail.get("request"):
                return str(event.detail["request"])
        return None
    policy = registry.get_promotion_policy(ctx.model, CHAMPION, store=ctx.ws.store)
    if policy is None:
        registry.set_alias(
            ctx.model,
            CHAMPION,
            number,
            reason=f"trigger chain {ctx.chain_id}",
            store=ctx.ws.store,
            actor=ctx.ws.actor,
        )
        return None
    for request in registry.list_requests(ctx.model, store=ctx.ws.store):
        if (
            request.version == number
            and request.alias == CHAMPION
            and request.status
            in (
                RequestStatus.PENDING,
                RequestStatus.APPROVED,
            )
        ):
            return request.id
    return registry.request_promotion(
        ctx.model,
        number,
        CHAMPION,
        comment=f"trigger chain {ctx.chain_id}",
        store=ctx.ws.store,
        actor=ctx.ws.actor,
    ).id


def _notify(ctx: ChainContext, request_id: str, number: int, deployment: str | None) -> None:
    from loopml.webhooks import send_webhook

    hook = ctx.action.get("webhook") or {}
    payload = {
        "trigger": ctx.trigger.name,
        "chain": ctx.chain_id,
        "model": ctx.model,
        "version": number,
        "deployment": deployment,
        "request": request_id,
        "approve": f"loopml models approve {request_id}",
    }
    sent: dict[str, Any] = {"request": request_id, "notified": False}
    if isinstance(hook, Mapping) and hook.get("url"):
        secret = hook.get("secret")
        if hook.get("secret_env"):
            import os

            secret = os.environ.get(str(hook["secret_env"]), secret)
        delivery = send_webhook(
            str(hook["url"]),
            "loopml.approval_requested",
            payload,
            secret=None if secret is None else str(secret),
            retries=int(hook.get("retries", 2)),
        )
        sent.update({"notified": delivery.ok, "status": delivery.status})
    ctx.record(TriggerEventKind.APPROVAL, step="promote", status="requested", detail=sent)


def _await_approval(
    ctx: ChainContext, request_id: str, number: int, deployment: str | None
) -> StepOut:
    from loopml import deploy

    asked = next(
        (
            e
            for e in ctx.ws.store.list_trigger_events(chain_id=ctx.chain_id, limit=None)
            if e.kind is TriggerEventKind.APPROVAL and e.detail.get("request") == request_id
        ),
        None,
    )
    if asked is None:
        _notify(ctx, request_id, number, deployment)
        asked = ctx.ws.store.list_trigger_events(
            chain_id=ctx.chain_id, kind=TriggerEventKind.APPROVAL, limit=1
        )[0]
    timeout = float(ctx.action.get("approval_timeout_s", 3600))
    poll = float(ctx.action.get("poll_s", 1.0))
    while True:
        request = next(
            r for r in registry.list_requests(ctx.model, store=ctx.ws.store) if r.id == request_id
        )
        if request.status is RequestStatus.APPROVED:
            if deployment is not None:
                dep = deploy.promote(deployment, reason="approved", workspace=ctx.ws)
                if dep.status is not DeploymentStatus.COMPLETED:
                    ctx.wait(poll)
                    continue
            else:
                registry.promote(
                    request_id,
                    reason=f"trigger chain {ctx.chain_id}",
                    store=ctx.ws.store,
                    actor=ctx.ws.actor,
                )
            return _promoted(ctx, number, deployment, approved=request_id)
        if request.status is RequestStatus.PROMOTED:
            return _promoted(ctx, number, deployment, approved=request_id)
        if request.status in (RequestStatus.REJECTED, RequestStatus.CANCELLED):
            return _rolled_back(ctx, deployment, f"promotion request {request.status.value}")
        if elapsed_s(asked) > timeout:
            return _rolled_back(ctx, deployment, f"no approval within {timeout:g}s")
        ctx.wait(poll)


def _promoted(
    ctx: ChainContext, number: int, deployment: str | None, *, approved: str | None = None
) -> StepOut:
    champion = registry.get_version(f"{ctx.model}/{number}", store=ctx.ws.store)
    tags = {**champion.tags, STATUS_TAG: "champion"}
    registry.update_version(ctx.model, number, tags=tags, store=ctx.ws.store, actor=ctx.ws.actor)
    if deployment is not None:
        ctx.link(ObjectRef(ObjectKind.DEPLOYMENT, deployment), ctx.here, Relation.PROMOTED)
    detail: dict[str, Any] = {"champion": f"{ctx.model}/{number}", "deployment": deployment}
    if approved:
        detail["approved_request"] = approved
    return StepOut(detail, finish="promoted")


def _rolled_back(ctx: ChainContext, deployment: str | None, why: str) -> StepOut:
    from loopml import deploy

    if deployment is not None:
        dep = deploy.get(deployment, workspace=ctx.ws)
        if dep.status is not DeploymentStatus.ROLLED_BACK:
            deploy.rollback(deployment, reason=why, workspace=ctx.ws)
    return StepOut({"deployment": deployment, "why": why}, finish="rolled_back")


def promote(ctx: ChainContext) -> StepOut:
    """Promote the candidate (waiting for an approval when a policy asks for one), or end
    the chain rolled back when the canary failed or the approval timed out."""
    number = int(ctx.outputs["candidate"])
    deployment = ctx.outputs.get("deployment")
    rollout = ctx.outputs.get("rollout")
    if rollout == "rolled_back":
        return _rolled_back(ctx, deployment, str(ctx.outputs.get("why") or "canary failed"))
    if rollout == "completed":
        return _promoted(ctx, number, deployment)
    request_id = _request_id(ctx, deployment, number)
    if request_id is None:
        return _promoted(ctx, number, deployment)
    return _await_approval(ctx, request_id, number, deployment)


STEP_FUNCTIONS: dict[str, Callable[[ChainContext], StepOut]] = {
    "check_data": check_data,
    "train": train,
    "evaluate": evaluate,
    "register": register,
    "canary": canary,
    "promote": promote,
}
