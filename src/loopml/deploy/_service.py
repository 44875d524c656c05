"""Deployments in Python: create, move traffic, pause, promote, roll back, read history.

Each change reads the deployment, computes the new state and writes it back naming the
revision it read, so a concurrent change makes the later writer fail with ``Conflict``
instead of silently undoing the other. Promotion moves the registry alias only through
the registry's own rules (request, approvals, gates); a missing approval pauses the
deployment with the reason ``awaiting approval`` until it is given.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from loopml import lineage, registry
from loopml.deploy._analysis import AnalysisSpec, load_analysis
from loopml.entities import (
    DEFAULT_STEPS,
    Arm,
    Deployment,
    DeploymentEventKind,
    DeploymentStatus,
    DeploymentStrategy,
    Relation,
)
from loopml.errors import InvalidInput
from loopml.ids import ObjectKind, ObjectRef
from loopml.models import verify_registered
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Mapping, Sequence

    from loopml.entities import DeploymentEvent, ModelVersion
    from loopml.workspace import Workspace

STABLE = "stable"
CANDIDATE_ARM = {
    DeploymentStrategy.CANARY: "canary",
    DeploymentStrategy.SHADOW: "shadow",
    DeploymentStrategy.AB: "treatment",
    DeploymentStrategy.BLUEGREEN: "green",
}
AWAITING_APPROVAL = "awaiting approval"


def _steps(steps: Sequence[int] | None) -> tuple[int, ...]:
    if steps is None:
        return DEFAULT_STEPS
    out = tuple(int(s) for s in steps)
    if not out or any(not 0 < s <= 100 for s in out) or list(out) != sorted(set(out)):
        raise InvalidInput(
            f"canary steps must rise strictly within 1-100 percent, got {list(out)}",
            hint="For example --steps 5,25,50,100.",
        )
    if out[-1] != 100:
        raise InvalidInput(
            f"the last canary step must be 100 percent, got {out[-1]}",
            hint="End the steps with 100 (the candidate then takes all traffic).",
        )
    return out


def _version(ref: str, ws: Workspace) -> tuple[ModelVersion, str]:
    """The version a reference names, and its alias ("" when named by number).

    A signed version's signature is verified here, so nothing unverifiable is deployed.
    """
    version = registry.get_version(ref, store=ws.store)
    verify_registered(version, ws)
    text = ref.removeprefix("models:/")
    alias = text.split("@", 1)[1] if "@" in text else ""
    return version, alias


def create(
    name: str,
    model: str = "fraud@champion",
    *,
    strategy: DeploymentStrategy | str = "canary",
    candidate: str | None = None,
    steps: Sequence[int] | None = None,
    analysis: AnalysisSpec | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    feature_service: str | None = None,
    workspace: Workspace | None = None,
) -> Deployment:
    """Create a deployment of ``model`` (the stable arm), optionally with a candidate.

    Args:
        name: The endpoint name.
        model: The stable version: ``NAME@ALIAS`` (a promotion then moves that alias to
            the candidate) or ``NAME/VERSION``.
        strategy: ``canary`` (the candidate starts at 0 % and steps up), ``shadow`` (it
            gets copies of the requests), ``ab`` (a 50/50 split) or ``bluegreen`` (a full
            switch in one step).
        candidate: The candidate version (``NAME/VERSION`` or ``NAME@ALIAS``).
        steps: Canary traffic steps in percent (default 5, 25, 50, 100).
        analysis: Analysis spec (a YAML path, a dict or a parsed spec).
        feature_service: A feature service (``loopml features apply``) whose online
            values the router joins to each request before predicting; callers then send
            the entity keys instead of those features.
        workspace: Where to store it (default: the current workspace).

    Returns:
        The stored deployment at revision 1.
    """
    ws = workspace or current_workspace()
    try:
        kind = DeploymentStrategy(strategy)
    except ValueError:
        raise InvalidInput(
            f"unknown deployment strategy {strategy!r}",
            hint=f"Use one of {', '.join(s.value for s in DeploymentStrategy)}.",
        ) from None
    stable, alias = _version(model, ws)
    arms = [Arm(STABLE, stable.model_name, stable.number, 100)]
    versions = [stable]
    if candidate is not None:
        other, _ = _version(candidate, ws)
        if other.model_name != stable.model_name:
            raise InvalidInput(
                f"candidate {candidate!r} is a version of {other.model_name!r}, not of "
                f"{stable.model_name!r}",
                hint="A candidate must be another version of the stable arm's model.",
            )
        split = 50 if kind is DeploymentStrategy.AB else 0
        arms = [replace(arms[0], weight=100 - split)]
        arms.append(Arm(CANDIDATE_ARM[kind], other.model_name, other.number, split))
        versions.append(other)
    spec = None if analysis is None else load_analysis(analysis).to_dict()
    service_id = None
    if feature_service:
        from loopml.features import client_for

        # NotFound names the known services
        service_id = client_for(ws).selection(feature_service).service_id
    stored = ws.store.create_deployment(
        Deployment(
            name=name,
            strategy=kind,
            arms=tuple(arms),
            alias=alias,
            steps=_steps(steps),
            analysis=spec or {},
            feature_service=feature_service or "",
        ),
        actor=ws.actor.name,
    )
    lineage.record(
        [
            lineage.edge(
                ObjectRef(ObjectKind.MODEL_VERSION, v.id),
                ObjectRef(ObjectKind.DEPLOYMENT, name),
                Relation.DEPLOYED,
            )
            for v in versions
        ]
        + (
            [
                lineage.edge(
                    ObjectRef(ObjectKind.FEATURE_SERVICE, service_id),
                    ObjectRef(ObjectKind.DEPLOYMENT, name),
                    Relation.ENRICHES,
                )
            ]
            if service_id
            else []
        ),
        store=ws.store,
    )
    return stored


def get(name: str, *, workspace: Workspace | None = None) -> Deployment:
    """The deployment called ``name`` (NotFound if absent)."""
    return (workspace or current_workspace()).store.get_deployment(name)


def list_deployments(
    *, status: DeploymentStatus | str | None = None, workspace: Workspace | None = None
) -> list[Deployment]:
    """Every deployment (with one status), by name."""
    return (workspace or current_workspace()).store.list_deployments(status)


def history(name: str, *, workspace: Workspace | None = None) -> list[DeploymentEvent]:
    """Every event of a deployment, oldest first."""
    return (workspace or current_workspace()).store.deployment_events(name)


def change(
    name: str,
    kind: DeploymentEventKind,
    make: Callable[[Deployment], Deployment],
    *,
    allowed: tuple[DeploymentStatus, ...],
    reason: str,
    revision: int | None,
    workspace: Workspace | None,
    detail: Mapping[str, Any] | None = None,
) -> Deployment:
    ws = workspace or current_workspace()
    current = ws.store.get_deployment(name)
    if revision is not None:
        current = replace(current, revision=revision)  # the store refuses a stale one
    if current.status not in allowed:
        raise InvalidInput(
            f"deployment {name!r} is {current.status.value}; {kind.value} needs it "
            f"{' or '.join(s.value for s in allowed)}",
            hint="See `loopml deploy status NAME` and its history.",
        )
    return ws.store.update_deployment(
        make(current), actor=ws.actor.name, kind=kind, reason=reason, detail=detail
    )


LIVE = (DeploymentStatus.ACTIVE, DeploymentStatus.PAUSED)


def set_weights(
    name: str,
    weights: Mapping[str, int],
    *,
    reason: str = "",
    revision: int | None = None,
    workspace: Workspace | None = None,
) -> Deployment:
    """Set the arms' traffic weights (percent; the served arms must sum to 100).

    Raises:
        InvalidInput: An unknown arm or weights that do not sum to 100.
        Conflict: ``revision`` is not the stored one.
    """

    def make(dep: Deployment) -> Deployment:
        unknown = sorted(set(weights) - {a.name for a in dep.arms})
        if unknown:
            raise InvalidInput(
                f"deployment {name!r} has no arm {unknown[0]!r}",
                hint=f"Its arms: {', '.join(a.name for a in dep.arms)}.",
            )
        arms = dep.with_weights(dict(weights))
        served = sum(a.weight for a in arms if a.name != "shadow")
        if served != 100:
            raise InvalidInput(
                f"weights of deployment {name!r} must sum to 100, got {served}",
                hint="Give every served arm's percent, e.g. stable=90 canary=10.",
            )
        return replace(dep, arms=arms)

    return change(
        name, DeploymentEventKind.WEIGHTS, make, allowed=LIVE, reason=reason,
        revision=revision, workspace=workspace,
    )  # fmt: skip


def advance(
    name: str, *, reason: str = "", revision: int | None = None, workspace: Workspace | None = None
) -> Deployment:
    """Move a canary to its next traffic step (blue-green: switch to green at once).

    Raises:
        InvalidInput: Not a canary or blue-green deployment, no candidate, not active, or
            at the last step already (promote it instead).
    """
    ws = workspace or current_workspace()
    dep = ws.store.get_deployment(name)
    if dep.strategy not in (DeploymentStrategy.CANARY, DeploymentStrategy.BLUEGREEN):
        raise InvalidInput(
            f"deployment {name!r} is {dep.strategy.value}; only canary and blue-green "
            "deployments step",
            hint="Use set_weights (`loopml deploy` weights) or promote.",
        )
    if len(dep.arms) < 2:
        raise InvalidInput(f"deployment {name!r} has no candidate to step up")
    step = len(dep.steps) - 1 if dep.strategy is DeploymentStrategy.BLUEGREEN else dep.step + 1
    if step >= len(dep.steps) or dep.step == len(dep.steps) - 1:
        raise InvalidInput(
            f"deployment {name!r} is at its last step ({dep.steps[-1]} %)",
            hint="Promote it: `loopml deploy promote NAME`.",
        )
    percent = dep.steps[step]
    candidate = dep.arms[1].name

    def make(current: Deployment) -> Deployment:
        arms = current.with_weights({STABLE: 100 - percent, candidate: percent})
        return replace(current, arms=arms, step=step)

    return change(
        name, DeploymentEventKind.STEP, make, allowed=(DeploymentStatus.ACTIVE,),
        reason=reason or f"step {step + 1}/{len(dep.steps)}: {percent} %", revision=revision,
        workspace=ws, detail={"step": step, "percent": percent},
    )  # fmt: skip


def pause(
    name: str, *, reason: str = "", revision: int | None = None, workspace: Workspace | None = None
) -> Deployment:
    """Hold an active deployment where it is (weights unchanged)."""
    return change(
        name, DeploymentEventKind.PAUSE,
        lambda d: replace(d, status=DeploymentStatus.PAUSED, reason=reason),
        allowed=(DeploymentStatus.ACTIVE,), reason=reason, revision=revision, workspace=workspace,
    )  # fmt: skip


def resume(
    name: str, *, reason: str = "", revision: int | None = None, workspace: Workspace | None = None
) -> Deployment:
    """Let a paused deployment go on."""
    return change(
        name, DeploymentEventKind.RESUME,
        lambda d: replace(d, status=DeploymentStatus.ACTIVE, reason=""),
        allowed=(DeploymentStatus.PAUSED,), reason=reason, revision=revision, workspace=workspace,
    )  # fmt: skip
