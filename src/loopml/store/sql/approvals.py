"""SQL implementation of :class:`~loopml.store.protocols.ApprovalStore`."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from loopml.entities import Decision, PromotionPolicy, PromotionRequest, RequestStatus
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import new_id
from loopml.store.sql import tables as t
from loopml.store.sql._time import now_ms
from loopml.store.sql.models import SqlModelStore, check_new_alias

if TYPE_CHECKING:
    from sqlalchemy import RowMapping


class SqlApprovalStore(SqlModelStore):
    """Promotion policies, requests and decisions in SQL tables."""

    def set_promotion_policy(self, name: str, policy: PromotionPolicy, *, actor: str) -> None:
        """Set (or replace) the policy guarding ``policy.alias`` of a model."""
        check_new_alias(policy.alias)
        if policy.approvals < 0 or not policy.approver_role:
            raise InvalidInput(
                f"invalid promotion policy {policy!r}",
                hint="approvals is 0 or more and approver_role a non-empty role name.",
            )
        body = json.dumps(asdict(policy), sort_keys=True)
        with self._db.write() as conn:
            model = self._lock_model(conn, name)
            where = (t.promotion_policies.c.model_id == model["id"]) & (
                t.promotion_policies.c.alias == policy.alias
            )
            conn.execute(t.promotion_policies.delete().where(where))
            conn.execute(
                insert(t.promotion_policies).values(
                    model_id=model["id"],
                    alias=policy.alias,
                    policy_json=body,
                    updated_at_ms=now_ms(),
                    updated_by=actor,
                )
            )
            self._event(conn, model["id"], "set_policy", actor, detail=asdict(policy))

    def get_promotion_policies(self, name: str) -> list[PromotionPolicy]:
        """Every policy of a model, by alias."""
        with self._db.read() as conn:
            model = self._model_row(conn, name)
            rows = conn.execute(
                select(t.promotion_policies.c.policy_json)
                .where(t.promotion_policies.c.model_id == model["id"])
                .order_by(t.promotion_policies.c.alias)
            ).scalars()
            return [PromotionPolicy(**json.loads(body)) for body in rows]

    def create_promotion_request(
        self, name: str, number: int, alias: str, *, actor: str, comment: str = ""
    ) -> PromotionRequest:
        """Open a PENDING request to move ``alias`` to version ``number``."""
        check_new_alias(alias)
        request_id = new_id()
        with self._db.write() as conn:
            model = self._lock_model(conn, name)
            version = self._version_row(conn, model["id"], number)
            conn.execute(
                insert(t.promotion_requests).values(
                    id=request_id,
                    model_id=model["id"],
                    version_id=version["id"],
                    alias=alias,
                    status=RequestStatus.PENDING.value,
                    requested_by=actor,
                    comment=comment,
                    created_at_ms=now_ms(),
                )
            )
            self._event(
                conn,
                model["id"],
                "request_promotion",
                actor,
                version=number,
                reason=comment,
                detail={"request": request_id, "alias": alias},
            )
            return self._request(conn, request_id)

    def get_promotion_request(self, request_id: str) -> PromotionRequest:
        """Return a request with its decisions; NotFound if absent."""
        with self._db.read() as conn:
            return self._request(conn, request_id)

    def list_promotion_requests(
        self, name: str, *, status: RequestStatus | None = None
    ) -> list[PromotionRequest]:
        """Requests of a model, newest first."""
        with self._db.read() as conn:
            model = self._model_row(conn, name)
            query = select(t.promotion_requests.c.id).where(
                t.promotion_requests.c.model_id == model["id"]
            )
            if status is not None:
                query = query.where(t.promotion_requests.c.status == status.value)
            ids = list(conn.execute(query.order_by(t.promotion_requests.c.id.desc())).scalars())
            return [self._request(conn, i) for i in ids]

    def add_decision(
        self,
        request_id: str,
        *,
        actor: str,
        role: str,
        approve: bool,
        comment: str,
        status: RequestStatus,
    ) -> PromotionRequest:
        """Record a verdict and move the open request to ``status``."""
        with self._db.write() as conn:
            request = self._request(conn, request_id)
            model = self._lock_model(conn, request.model_name)
            request = self._request(conn, request_id)  # re-read under the lock
            if not request.status.is_open:
                raise Conflict(
                    f"promotion request {request_id} is {request.status.value}; it can no "
                    "longer be decided",
                    hint="Open a new request with `loopml models request-promotion`.",
                )
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(t.promotion_decisions).values(
                            request_id=request_id,
                            actor=actor,
                            role=role,
                            approve=int(approve),
                            comment=comment,
                            at_ms=now_ms(),
                        )
                    )
            except IntegrityError as exc:
                raise Conflict(
                    f"{actor} has already decided promotion request {request_id}",
                    hint="Each reviewer decides a request once.",
                ) from exc
            values: dict[str, object] = {"status": status.value}
            if not status.is_open:
                values["decided_at_ms"] = now_ms()
            conn.execute(
                update(t.promotion_requests)
                .where(t.promotion_requests.c.id == request_id)
                .values(**values)
            )
            self._event(
                conn,
                model["id"],
                "approve" if approve else "reject",
                actor,
                version=request.version,
                reason=comment,
                detail={"request": request_id, "role": role, "status": status.value},
                before={"request": request_id, "status": request.status.value},
                after={"request": request_id, "status": status.value},
            )
            return self._request(conn, request_id)

    def _request(self, conn: Connection, request_id: str) -> PromotionRequest:
        row: RowMapping | None = (
            conn.execute(
                select(
                    t.promotion_requests,
                    t.models.c.name.label("model_name"),
                    t.model_versions.c.number,
                )
                .join(t.models, t.models.c.id == t.promotion_requests.c.model_id)
                .join(t.model_versions, t.model_versions.c.id == t.promotion_requests.c.version_id)
                .where(t.promotion_requests.c.id == request_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound("promotion request", request_id)
        decisions = conn.execute(
            select(t.promotion_decisions)
            .where(t.promotion_decisions.c.request_id == request_id)
            .order_by(t.promotion_decisions.c.at_ms, t.promotion_decisions.c.actor)
        ).mappings()
        return PromotionRequest(
            id=row["id"],
            model_name=row["model_name"],
            version=int(row["number"]),
            alias=row["alias"],
            status=RequestStatus(row["status"]),
            requested_by=row["requested_by"],
            created_at_ms=int(row["created_at_ms"]),
            comment=row["comment"],
            decided_at_ms=None if row["decided_at_ms"] is None else int(row["decided_at_ms"]),
            decisions=tuple(
                Decision(d["actor"], d["role"], bool(d["approve"]), d["comment"], int(d["at_ms"]))
                for d in decisions
            ),
        )
