"""SQL implementation of :class:`~loopml.store.protocols.DeploymentStore`.

Updates are compare-and-set on the ``revision`` column: the caller passes the deployment
as it read it, and an update whose revision is no longer the stored one changes nothing
and raises :class:`~loopml.errors.Conflict`. Each write records a deployment event and an
audit entry in the same transaction.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from loopml.entities.deployment import (
    Arm,
    Deployment,
    DeploymentEvent,
    DeploymentEventKind,
    DeploymentStatus,
    DeploymentStrategy,
)
from loopml.entities.governance import state_digest
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import new_id
from loopml.store.sql import tables as t
from loopml.store.sql._time import now_ms
from loopml.store.sql.audit import audited

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import Connection, RowMapping

    from loopml.store.sql._engine import Database


def _to_deployment(row: RowMapping) -> Deployment:
    return Deployment(
        name=row["name"],
        strategy=DeploymentStrategy(row["strategy"]),
        arms=tuple(Arm.from_dict(a) for a in json.loads(row["arms_json"])),
        alias=row["alias"],
        status=DeploymentStatus(row["status"]),
        step=int(row["step"]),
        steps=tuple(int(s) for s in json.loads(row["steps_json"])),
        analysis=json.loads(row["analysis_json"]),
        created_at_ms=int(row["created_at_ms"]),
        updated_at_ms=int(row["updated_at_ms"]),
        revision=int(row["revision"]),
        created_by=row["created_by"],
        reason=row["reason"],
        feature_service=row["feature_service"],
    )


def _to_event(row: RowMapping) -> DeploymentEvent:
    return DeploymentEvent(
        deployment=row["deployment"],
        kind=DeploymentEventKind(row["kind"]),
        from_weights=json.loads(row["from_json"]),
        to_weights=json.loads(row["to_json"]),
        reason=row["reason"],
        actor=row["actor"],
        at_ms=int(row["at_ms"]),
        revision=int(row["revision"]),
        detail=json.loads(row["detail_json"]),
    )


def _check(deployment: Deployment) -> None:
    if not deployment.name or len(deployment.name) > 255:
        raise InvalidInput(
            f"deployment name {deployment.name!r} must be 1-255 characters",
            hint="Name it after the endpoint, e.g. `fraud`.",
        )
    if not deployment.arms:
        raise InvalidInput(f"deployment {deployment.name!r} has no arms", hint="Give a model.")
    names = [a.name for a in deployment.arms]
    if len(set(names)) != len(names):
        raise InvalidInput(f"deployment {deployment.name!r} repeats an arm name: {names}")
    bad = [a.weight for a in deployment.arms if not 0 <= a.weight <= 100]
    if bad:
        raise InvalidInput(
            f"deployment {deployment.name!r}: weights must be 0-100 percent, got {bad}"
        )


def _weights(arms: tuple[Arm, ...]) -> dict[str, int]:
    return {a.name: a.weight for a in arms}


def _state(deployment: Deployment) -> dict[str, Any]:
    data = deployment.to_dict()
    for volatile in ("updated_at_ms", "revision", "created_at_ms"):
        data.pop(volatile)
    return data


class SqlDeploymentStore:
    """Deployments with a revision counter, and their events."""

    _db: Database

    def _record(
        self,
        conn: Connection,
        deployment: Deployment,
        kind: DeploymentEventKind,
        *,
        actor: str,
        before: Deployment | None,
        reason: str,
        detail: Mapping[str, Any] | None,
    ) -> None:
        events = t.deployment_events
        seq = conn.execute(
            select(func.coalesce(func.max(events.c.seq), 0)).where(
                events.c.deployment == deployment.name
            )
        ).scalar_one()
        conn.execute(
            insert(events).values(
                id=new_id(),
                deployment=deployment.name,
                seq=int(seq) + 1,
                kind=kind.value,
                from_json=json.dumps({} if before is None else _weights(before.arms)),
                to_json=json.dumps(_weights(deployment.arms)),
                reason=reason,
                actor=actor,
                at_ms=deployment.updated_at_ms,
                revision=deployment.revision,
                detail_json=json.dumps(dict(detail or {}), sort_keys=True, default=str),
            )
        )
        audited(
            conn,
            actor=actor,
            action=f"deployment.{kind.value}",
            kind="deployment",
            ident=deployment.name,
            before=None if before is None else state_digest(_state(before)),
            after=state_digest(_state(deployment)),
            detail={"reason": reason} if reason else None,
        )

    def create_deployment(
        self, deployment: Deployment, *, actor: str, reason: str = ""
    ) -> Deployment:
        """Store a new deployment at revision 1; Conflict if the name is taken."""
        _check(deployment)
        at = now_ms()
        stored = Deployment(
            name=deployment.name,
            strategy=DeploymentStrategy(deployment.strategy),
            arms=deployment.arms,
            alias=deployment.alias,
            status=DeploymentStatus(deployment.status),
            step=deployment.step,
            steps=deployment.steps,
            analysis=deployment.analysis,
            created_at_ms=at,
            updated_at_ms=at,
            revision=1,
            created_by=actor,
            reason=deployment.reason,
            feature_service=deployment.feature_service,
        )
        try:
            with self._db.write() as conn:
                conn.execute(
                    insert(t.deployments).values(
                        name=stored.name,
                        strategy=stored.strategy.value,
                        arms_json=json.dumps([a.to_dict() for a in stored.arms]),
                        alias=stored.alias,
                        status=stored.status.value,
                        step=stored.step,
                        steps_json=json.dumps(list(stored.steps)),
                        analysis_json=json.dumps(stored.analysis, sort_keys=True),
                        reason=stored.reason,
                        feature_service=stored.feature_service,
                        created_at_ms=at,
                        updated_at_ms=at,
                        created_by=actor,
                        revision=1,
                    )
                )
                self._record(
                    conn,
                    stored,
                    DeploymentEventKind.CREATED,
                    actor=actor,
                    before=None,
                    reason=reason,
                    detail=None,
                )
        except IntegrityError as exc:
            raise Conflict(
                f"deployment {deployment.name!r} exists already",
                hint="Pick another name, or change the existing one with `loopml deploy`.",
                deployment=deployment.name,
            ) from exc
        return stored

    def get_deployment(self, name: str) -> Deployment:
        """Return a deployment; NotFound if absent."""
        with self._db.read() as conn:
            row = (
                conn.execute(select(t.deployments).where(t.deployments.c.name == name))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound("deployment", name, hint="List deployments with `loopml deploy list`.")
        return _to_deployment(row)

    def list_deployments(self, status: DeploymentStatus | str | None = None) -> list[Deployment]:
        """Every deployment (with one status), by name."""
        query = select(t.deployments).order_by(t.deployments.c.name)
        if status is not None:
            query = query.where(t.deployments.c.status == DeploymentStatus(status).value)
        with self._db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [_to_deployment(r) for r in rows]

    def update_deployment(
        self,
        deployment: Deployment,
        *,
        actor: str,
        kind: DeploymentEventKind | str,
        reason: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> Deployment:
        """Write ``deployment`` if its ``revision`` is still the stored one.

        Returns:
            The stored deployment at the next revision.

        Raises:
            Conflict: Someone changed it since it was read (re-read and retry).
            NotFound: No such deployment.
        """
        _check(deployment)
        event = DeploymentEventKind(kind)
        table = t.deployments
        with self._db.write() as conn:
            row = conn.execute(select(table).where(table.c.name == deployment.name)).mappings()
            current = row.first()
            if current is None:
                raise NotFound("deployment", deployment.name)
            before = _to_deployment(current)
            at = max(now_ms(), before.updated_at_ms)
            moved = conn.execute(
                update(table)
                .where(table.c.name == deployment.name, table.c.revision == deployment.revision)
                .values(
                    arms_json=json.dumps([a.to_dict() for a in deployment.arms]),
                    alias=deployment.alias,
                    status=DeploymentStatus(deployment.status).value,
                    step=deployment.step,
                    steps_json=json.dumps(list(deployment.steps)),
                    analysis_json=json.dumps(deployment.analysis, sort_keys=True),
                    reason=deployment.reason,
                    feature_service=deployment.feature_service,
                    updated_at_ms=at,
                    revision=deployment.revision + 1,
                )
            ).rowcount
            if moved != 1:
                raise Conflict(
                    f"deployment {deployment.name!r} changed since it was read (revision "
                    f"{deployment.revision}, stored {before.revision})",
                    hint="Read it again and retry the change.",
                    deployment=deployment.name,
                    revision=before.revision,
                )
            stored = _to_deployment(
                conn.execute(select(table).where(table.c.name == deployment.name)).mappings().one()
            )
            self._record(
                conn, stored, event, actor=actor, before=before, reason=reason, detail=detail
            )
        return stored

    def deployment_events(self, name: str) -> list[DeploymentEvent]:
        """Every event of a deployment, oldest first; NotFound if there is no deployment."""
        self.get_deployment(name)
        events = t.deployment_events
        with self._db.read() as conn:
            rows = (
                conn.execute(
                    select(events).where(events.c.deployment == name).order_by(events.c.seq)
                )
                .mappings()
                .all()
            )
        return [_to_event(r) for r in rows]
