"""The production-readiness checklist of a model version, computed from the store.

Each item is one line with its evidence; ``ok`` is False when any item fails, so
``loopml readiness`` can gate a CI job (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml import registry
from loopml.entities import StepStatus, TriggerKind
from loopml.errors import NotFound
from loopml.ids import ObjectKind, ObjectRef

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    from loopml.entities import LineageNode, ModelVersion
    from loopml.workspace import Workspace


@dataclass(frozen=True)
class ReadinessItem:
    """One checklist line: its name, whether it holds, and the evidence."""

    name: str
    ok: bool
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {"name": self.name, "ok": self.ok, "evidence": self.evidence}


@dataclass(frozen=True)
class Readiness:
    """The checklist of one model version."""

    model: str
    version: int
    items: tuple[ReadinessItem, ...]

    @property
    def ok(self) -> bool:
        """True when every item holds."""
        return all(i.ok for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (``--json``)."""
        return {
            "model": self.model,
            "version": self.version,
            "ok": self.ok,
            "items": [i.to_dict() for i in self.items],
        }


@dataclass
class _Facts:
    ws: Workspace
    version: ModelVersion
    upstream: list[LineageNode]

    def sources(self, kind: ObjectKind) -> list[str]:
        return [n.edge.src.id for n in self.upstream if n.edge.src.kind == kind.value]


def _data(f: _Facts) -> ReadinessItem:
    name = "data versioned and validated"
    versions = f.sources(ObjectKind.DATASET_VERSION)
    if not versions:
        return ReadinessItem(
            name,
            False,
            "no dataset version in the model's lineage: the "
            "training data is not versioned (commit it with `loopml data "
            "commit` and log it as the run's input)",
        )
    stored = f.ws.store.get_version(versions[0])
    dataset = next(d for d in f.ws.store.list_datasets() if d.id == stored.dataset_id)
    ref = f"{dataset.name}@v{stored.seq}"
    if not f.ws.store.list_schemas(dataset.id):
        return ReadinessItem(
            name,
            False,
            f"trained on {ref}, but {dataset.name} has no saved "
            "schema to validate against (`loopml data schema save`)",
        )
    return ReadinessItem(name, True, f"trained on {ref}; schema saved for {dataset.name}")


def _run_tags(f: _Facts) -> dict[str, str]:
    if f.version.run_id is None:
        return {}
    try:
        return dict(f.ws.store.get_run(f.version.run_id).tags)
    except NotFound:
        return {}


def _code(f: _Facts) -> ReadinessItem:
    name = "code in version control, clean tree"
    tags = _run_tags(f)
    commit = tags.get("loopml.git.commit")
    if not commit:
        return ReadinessItem(
            name, False, "the training run recorded no git commit (train from a git checkout)"
        )
    if tags.get("loopml.git.dirty") == "true":
        return ReadinessItem(name, False, f"commit {commit[:12]} with uncommitted changes")
    return ReadinessItem(name, True, f"commit {commit[:12]}, clean tree")


def _registered(f: _Facts) -> ReadinessItem:
    name = "registered with metrics and training metadata"
    v = f.version
    if v.run_id is None:
        return ReadinessItem(name, False, f"{v.model_name}/{v.number} has no training run")
    try:
        run = f.ws.store.get_run(v.run_id)
    except NotFound:
        return ReadinessItem(name, False, f"training run {v.run_id} is gone")
    metrics = [m.key for m in f.ws.store.metric_summaries([run.id])]
    if not metrics or not run.params:
        return ReadinessItem(
            name, False, f"run {run.id} has {len(metrics)} metrics and {len(run.params)} params"
        )
    return ReadinessItem(
        name,
        True,
        f"{v.model_name}/{v.number} ({v.semver}) from run {run.id}: "
        f"{', '.join(sorted(metrics)[:5])}; {len(run.params)} params",
    )


def _reproducible(f: _Facts) -> ReadinessItem:
    name = "pipeline reproducible (a cached re-run matches)"
    runs = f.sources(ObjectKind.PIPELINE_RUN)
    if not runs:
        return ReadinessItem(name, False, "the model was not made by a pipeline run")
    made = f.ws.store.get_pipeline_run(runs[0])
    first = {s.name: s.cache_key for s in f.ws.store.list_step_runs(made.id)}
    for other in f.ws.store.list_pipeline_runs(pipeline=made.pipeline):
        if other.id == made.id:
            continue
        steps = f.ws.store.list_step_runs(other.id)
        cached = [s for s in steps if s.status is StepStatus.CACHED]
        same = all(first.get(s.name) == s.cache_key for s in steps if s.name in first)
        if cached and same:
            return ReadinessItem(
                name,
                True,
                f"re-run {other.id} of {made.pipeline} reused "
                f"{len(cached)}/{len(steps)} steps with the same keys",
            )
    return ReadinessItem(
        name,
        False,
        f"pipeline {made.pipeline} was not re-run: run it again to show the cache reproduces it",
    )


def _deployment(f: _Facts) -> ReadinessItem:
    name = "deployment strategy defined, rollback possible"
    v = f.version
    mine = [
        d
        for d in f.ws.store.list_deployments()
        if any(a.model == v.model_name and a.version == v.number for a in d.arms)
    ]
    if not mine:
        return ReadinessItem(name, False, f"no deployment serves {v.model_name}/{v.number}")
    earlier = [x for x in f.ws.store.list_model_versions(v.model_name) if x.number < v.number]
    if not earlier:
        return ReadinessItem(
            name,
            False,
            f"{mine[0].strategy.value} deployment {mine[0].name}, "
            "but no earlier version to roll back to",
        )
    return ReadinessItem(
        name,
        True,
        f"{mine[0].strategy.value} deployment {mine[0].name}; "
        f"rollback to v{earlier[-1].number} possible",
    )


def _alerts(f: _Facts, health: Callable[[Workspace, str], bool] | None) -> ReadinessItem:
    name = "alerts for drift, performance and health"
    kinds = {t.kind for t in f.ws.store.list_triggers() if t.model == f.version.model_name}
    missing = [k.value for k in (TriggerKind.DRIFT, TriggerKind.PERFORMANCE) if k not in kinds]
    healthy = health(f.ws, f.version.model_name) if health is not None else None
    if healthy is False:
        missing.append("health")
    if missing:
        return ReadinessItem(
            name, False, f"no {', '.join(missing)} rule for {f.version.model_name}"
        )
    extra = "health rule present" if healthy else "health: served /healthz (no alert rule source)"
    return ReadinessItem(name, True, f"drift and performance triggers; {extra}")


def _card_lineage(f: _Facts, card: str | os.PathLike[str] | None) -> ReadinessItem:
    name = "model card and auditable lineage"
    v = f.version
    candidates = [Path(card)] if card is not None else []
    if v.tags.get("loopml.card"):
        candidates.append(Path(v.tags["loopml.card"]))
    cards = f.ws.home / "cards"
    candidates += [
        cards / f"{v.model_name}-v{v.semver}.md",
        cards / f"{v.model_name}-v{v.semver}.html",
    ]
    found = next((p for p in candidates if p.exists()), None)
    if found is None:
        return ReadinessItem(
            name,
            False,
            f"no model card for {v.model_name}/{v.number} (write "
            f"one: `loopml models card {v.model_name}/{v.number}`)",
        )
    if not f.upstream:
        return ReadinessItem(name, False, f"card {found}, but the version has no lineage")
    return ReadinessItem(name, True, f"card {found}; {len(f.upstream)} lineage edges upstream")


def readiness(
    model_uri: str,
    *,
    card: str | os.PathLike[str] | None = None,
    health: Callable[[Workspace, str], bool] | None = None,
    workspace: Workspace | None = None,
) -> Readiness:
    """The production-readiness checklist of a model version.

    Args:
        model_uri: ``models:/NAME@ALIAS``, ``NAME/VERSION``...
        card: Where its model card is (default: the version's ``loopml.card`` tag, then
            ``<home>/cards/NAME-vSEMVER.md``).
        health: Tells whether health alert rules exist for a model (the alerting seam);
            None reports health from the served ``/healthz`` only.
        workspace: The workspace (default: the current one).
    """
    from loopml import lineage
    from loopml.workspace import current_workspace

    ws = workspace or current_workspace()
    version = registry.get_version(model_uri, store=ws.store)
    up = lineage.upstream(ObjectRef(ObjectKind.MODEL_VERSION, version.id), store=ws.store)
    facts = _Facts(ws, version, up)
    items = (
        _data(facts),
        _code(facts),
        _registered(facts),
        _reproducible(facts),
        _deployment(facts),
        _alerts(facts, health),
        _card_lineage(facts, card),
    )
    return Readiness(version.model_name, version.number, items)
