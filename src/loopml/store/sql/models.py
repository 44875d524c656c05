"""SQL implementation of :class:`~loopml.store.protocols.ModelStore`.

Every write takes the model's row lock first (``SELECT ... FOR UPDATE`` on PostgreSQL; the
SQLite write transaction is exclusive already), so version numbers, alias moves and their
history stay consistent under concurrent writers.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, RowMapping, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from loopml.entities import (
    MAX_KEY_LENGTH,
    MAX_TAG_LENGTH,
    AliasMove,
    ModelEvent,
    ModelVersion,
    RegisteredModel,
    RequestStatus,
)
from loopml.entities.governance import state_digest
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import SemVer, check_digest, new_id
from loopml.store.sql import tables as t
from loopml.store.sql._time import now_ms
from loopml.store.sql.audit import audited

if TYPE_CHECKING:
    from collections.abc import Mapping

    from loopml.store.sql._engine import Database

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
# Aliases that read as a version: fraud@latest beside fraud/latest, fraud@v3 beside fraud/3
# (MLflow reserves the same names, so imported registries never hold them).
_VERSION_LIKE = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


def check_model_name(name: str) -> str:
    """Return ``name`` if it is a valid model name, else InvalidInput."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"invalid model name {name!r}",
            hint="A model name is 1-255 letters, digits, '_', '-' or '.', starting with a "
            "letter or digit.",
        )
    return name


def check_alias(alias: str) -> str:
    """Return ``alias`` if valid (letters first; digits alone would read as versions)."""
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise InvalidInput(
            f"invalid alias {alias!r}",
            hint="An alias is 1-64 letters, digits, '_' or '-', starting with a letter.",
        )
    return alias


def check_new_alias(alias: str) -> str:
    """Like :func:`check_alias`, and refuse a new alias that reads as a version.

    Existing aliases of such names (made before this check) can still be moved away and
    deleted.
    """
    check_alias(alias)
    if _VERSION_LIKE.match(alias):
        raise InvalidInput(
            f"alias {alias!r} would read as a version: NAME@{alias} and NAME/"
            f"{alias.lower().removeprefix('v')} could name different versions",
            hint="'latest' and v<N> are reserved for versions; pick a name such as "
            "'champion', 'staging' or 'release-3'.",
            alias=alias,
        )
    return alias


def _tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    out = dict(tags or {})
    for key, value in out.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise InvalidInput(f"invalid tag {key!r}={value!r}", hint="Tags map text to text.")
        if len(key) > MAX_KEY_LENGTH or len(value) > MAX_TAG_LENGTH:
            raise InvalidInput(
                f"tag {key[:40]!r} is too long: a key of {len(key):,} characters (limit "
                f"{MAX_KEY_LENGTH}) and a value of {len(value):,} (limit {MAX_TAG_LENGTH:,})",
                hint="Keep long text in the model's description or card details instead.",
                key=key,
            )
    return out


def _model(row: RowMapping) -> RegisteredModel:
    return RegisteredModel(
        id=row["id"],
        name=row["name"],
        created_at_ms=int(row["created_at_ms"]),
        updated_at_ms=int(row["updated_at_ms"]),
        created_by=row["created_by"],
        description=row["description"],
        tags=json.loads(row["tags_json"]),
    )


class SqlModelStore:
    """Models, versions, aliases and their history in SQL tables."""

    _db: Database

    # -- helpers shared with the approval and evaluation mixins --------------------------

    def _lock_model(self, conn: Connection, name: str) -> RowMapping:
        query = select(t.models).where(t.models.c.name == name)
        if self._db.dialect == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound("model", name, hint="Create it with `loopml models create NAME`.")
        return row

    def _event(
        self,
        conn: Connection,
        model_id: str,
        action: str,
        actor: str,
        *,
        version: int | None = None,
        reason: str = "",
        detail: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a model event and its audit entry, in the caller's transaction."""
        name = conn.execute(select(t.models.c.name).where(t.models.c.id == model_id)).scalar_one()
        kind, ident = "model", name
        if detail is not None and "alias" in detail and action.endswith("alias"):
            kind, ident = "model_alias", f"{name}@{detail['alias']}"
        elif version is not None:
            kind, ident = "model_version", f"{name}/{version}"
        audited(
            conn,
            actor=actor,
            action=f"model.{action}",
            kind=kind,
            ident=ident,
            before=state_digest(before),
            after=state_digest(after if after is not None else dict(detail or {})),
            detail={"reason": reason} if reason else None,
        )
        conn.execute(
            insert(t.model_events).values(
                id=new_id(),
                model_id=model_id,
                version_number=version,
                action=action,
                actor=actor,
                reason=reason,
                detail_json=json.dumps(dict(detail or {}), sort_keys=True, default=str),
                at_ms=now_ms(),
            )
        )

    def _version_row(self, conn: Connection, model_id: str, number: int) -> RowMapping:
        row = (
            conn.execute(
                select(t.model_versions).where(
                    t.model_versions.c.model_id == model_id,
                    t.model_versions.c.number == number,
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound("model version", f"{number}")
        return row

    def _to_version(self, conn: Connection, row: RowMapping, name: str) -> ModelVersion:
        aliases = conn.execute(
            select(t.model_aliases.c.alias)
            .where(t.model_aliases.c.version_id == row["id"])
            .order_by(t.model_aliases.c.alias)
        ).scalars()
        return ModelVersion(
            id=row["id"],
            model_name=name,
            number=int(row["number"]),
            semver=row["semver"],
            manifest_digest=row["manifest_digest"],
            payload_digest=row["payload_digest"],
            flavor=row["flavor"],
            model_class=row["model_class"],
            created_at_ms=int(row["created_at_ms"]),
            created_by=row["created_by"],
            signature_digest=row["signature_digest"],
            run_id=row["run_id"],
            source=row["source"],
            description=row["description"],
            gates_digest=row["gates_digest"],
            tags=json.loads(row["tags_json"]),
            aliases=tuple(aliases),
        )

    def _model_row(self, conn: Connection, name: str) -> RowMapping:
        row = conn.execute(select(t.models).where(t.models.c.name == name)).mappings().first()
        if row is None:
            raise NotFound("model", name, hint="List models with `loopml models list`.")
        return row

    # -- models ---------------------------------------------------------------------------

    def create_model(
        self,
        name: str,
        *,
        actor: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        """Create a registered model; Conflict if the name is taken."""
        check_model_name(name)
        stamp, model_id = now_ms(), new_id()
        try:
            with self._db.write() as conn:
                conn.execute(
                    insert(t.models).values(
                        id=model_id,
                        name=name,
                        description=description,
                        tags_json=json.dumps(_tags(tags), sort_keys=True),
                        created_at_ms=stamp,
                        updated_at_ms=stamp,
                        created_by=actor,
                    )
                )
                self._event(conn, model_id, "create_model", actor)
                return _model(self._model_row(conn, name))
        except IntegrityError as exc:
            raise Conflict(
                f"a model named {name!r} exists already",
                hint="Register a new version of it, or choose another name.",
                name=name,
            ) from exc

    def get_model(self, name: str) -> RegisteredModel:
        """Return the model; NotFound if absent."""
        with self._db.read() as conn:
            return _model(self._model_row(conn, name))

    def list_models(self, *, limit: int = 100, offset: int = 0) -> list[RegisteredModel]:
        """Return models by name."""
        query = select(t.models).order_by(t.models.c.name).limit(limit).offset(offset)
        with self._db.read() as conn:
            return [_model(row) for row in conn.execute(query).mappings()]

    def update_model(
        self,
        name: str,
        *,
        actor: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        """Change the description and/or set tags (merged into the existing ones)."""
        with self._db.write() as conn:
            row = self._lock_model(conn, name)
            values: dict[str, Any] = {"updated_at_ms": now_ms()}
            if description is not None:
                values["description"] = description
            if tags is not None:
                values["tags_json"] = json.dumps(
                    {**json.loads(row["tags_json"]), **_tags(tags)}, sort_keys=True
                )
            conn.execute(update(t.models).where(t.models.c.id == row["id"]).values(**values))
            self._event(
                conn,
                row["id"],
                "update_model",
                actor,
                detail={"description": description, "tags": tags},
            )
            return _model(self._model_row(conn, name))

    # -- versions -------------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        *,
        actor: str,
        semver: str,
        manifest_digest: str,
        payload_digest: str,
        flavor: str,
        model_class: str,
        signature_digest: str | None = None,
        run_id: str | None = None,
        source: str = "",
        description: str = "",
        gates_digest: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Add the next numbered version; Conflict if ``semver`` is already used."""
        semver = str(SemVer.parse(semver))
        values = {
            "manifest_digest": check_digest(manifest_digest),
            "payload_digest": check_digest(payload_digest),
            "gates_digest": None if gates_digest is None else check_digest(gates_digest),
            "signature_digest": signature_digest,
        }
        with self._db.write() as conn:
            model = self._lock_model(conn, name)
            if (
                run_id is not None
                and conn.execute(select(t.runs.c.id).where(t.runs.c.id == run_id)).first() is None
            ):
                raise NotFound("run", run_id)
            taken = conn.execute(
                select(t.model_versions.c.number).where(
                    t.model_versions.c.model_id == model["id"],
                    t.model_versions.c.semver == semver,
                )
            ).first()
            if taken is not None:
                raise Conflict(
                    f"model {name!r} already has version {semver} (number {taken[0]})",
                    hint="Leave the version to be assigned automatically, or pick another.",
                    semver=semver,
                )
            number = 1 + int(
                conn.execute(
                    select(func.coalesce(func.max(t.model_versions.c.number), 0)).where(
                        t.model_versions.c.model_id == model["id"]
                    )
                ).scalar_one()
            )
            version_id = new_id()
            conn.execute(
                insert(t.model_versions).values(
                    id=version_id,
                    model_id=model["id"],
                    number=number,
                    semver=semver,
                    flavor=flavor,
                    model_class=model_class,
                    run_id=run_id,
                    source=source,
                    description=description,
                    tags_json=json.dumps(_tags(tags), sort_keys=True),
                    created_at_ms=now_ms(),
                    created_by=actor,
                    **values,
                )
            )
            conn.execute(
                update(t.models).where(t.models.c.id == model["id"]).values(updated_at_ms=now_ms())
            )
            self._event(
                conn,
                model["id"],
                "create_version",
                actor,
                version=number,
                detail={"semver": semver, "manifest_digest": manifest_digest, "run_id": run_id},
            )
            return self._to_version(conn, self._version_row(conn, model["id"], number), name)

    def get_model_version(self, name: str, number: int) -> ModelVersion:
        """Return version ``number``; NotFound if absent."""
        with self._db.read() as conn:
            model = self._model_row(conn, name)
            return self._to_version(conn, self._version_row(conn, model["id"], number), name)

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of a model, newest first."""
        with self._db.read() as conn:
            model = self._model_row(conn, name)
            rows = conn.execute(
                select(t.model_versions)
                .where(t.model_versions.c.model_id == model["id"])
                .order_by(t.model_versions.c.number.desc())
            ).mappings()
            return [self._to_version(conn, row, name) for row in list(rows)]

    def update_model_version(
        self,
        name: str,
        number: int,
        *,
        actor: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Change a version's description and/or set tags (merged)."""
        with self._db.write() as conn:
            model = self._lock_model(conn, name)
            row = self._version_row(conn, model["id"], number)
            values: dict[str, Any] = {}
            if description is not None:
                values["description"] = description
            if tags is not None:
                values["tags_json"] = json.dumps(
                    {**json.loads(row["tags_json"]), **_tags(tags)}, sort_keys=True
                )
            if values:
                conn.execute(
                    update(t.model_versions)
                    .where(t.model_versions.c.id == row["id"])
                    .values(**values)
                )
            self._event(
                conn,
                model["id"],
                "update_version",
                actor,
                version=number,
                detail={"description": description, "tags": tags},
            )
            return self._to_version(conn, self._version_row(conn, model["id"], number), name)

    # -- aliases --------------------------------------------------------------------------

    def set_alias(
        self,
        name: str,
        alias: str,
        number: int | None,
        *,
        actor: str,
        reason: str = "",
        request_id: str | None = None,
    ) -> AliasMove:
        """Point ``alias`` at version ``number`` (None removes it), atomically, with history."""
        if number is None:
            check_alias(alias)
        else:
            check_new_alias(alias)
        with self._db.write() as conn:
            model = self._lock_model(conn, name)
            current = conn.execute(
                select(t.model_versions.c.number)
                .join(t.model_aliases, t.model_aliases.c.version_id == t.model_versions.c.id)
                .where(t.model_aliases.c.model_id == model["id"], t.model_aliases.c.alias == alias)
            ).scalar()
            where = (t.model_aliases.c.model_id == model["id"]) & (t.model_aliases.c.alias == alias)
            conn.execute(t.model_aliases.delete().where(where))
            if number is not None:
                target = self._version_row(conn, model["id"], number)
                conn.execute(
                    insert(t.model_aliases).values(
                        model_id=model["id"],
                        alias=alias,
                        version_id=target["id"],
                        updated_at_ms=now_ms(),
                    )
                )
            elif current is None:
                raise NotFound("alias", f"{name}@{alias}")
            if request_id is not None:
                self._mark_promoted(conn, request_id, model["id"], alias, number)
            stamp = now_ms()
            seq = conn.execute(
                insert(t.alias_history)
                .values(
                    model_id=model["id"],
                    alias=alias,
                    from_number=current,
                    to_number=number,
                    actor=actor,
                    reason=reason,
                    at_ms=stamp,
                )
                .returning(t.alias_history.c.seq)
            ).scalar_one()
            self._event(
                conn,
                model["id"],
                "set_alias" if number is not None else "delete_alias",
                actor,
                version=number,
                reason=reason,
                detail={"alias": alias, "from": current, "to": number, "request": request_id},
                before=None if current is None else {"alias": alias, "version": current},
                after=None if number is None else {"alias": alias, "version": number},
            )
            return AliasMove(
                int(seq),
                name,
                alias,
                None if current is None else int(current),
                number,
                actor,
                reason,
                stamp,
            )

    def _mark_promoted(
        self, conn: Connection, request_id: str, model_id: str, alias: str, number: int | None
    ) -> None:
        row = (
            conn.execute(
                select(t.promotion_requests, t.model_versions.c.number)
                .join(t.model_versions, t.model_versions.c.id == t.promotion_requests.c.version_id)
                .where(t.promotion_requests.c.id == request_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound("promotion request", request_id)
        if row["model_id"] != model_id or row["alias"] != alias or int(row["number"]) != number:
            raise Conflict(
                f"promotion request {request_id} is for {row['alias']} -> version "
                f"{row['number']}, not {alias} -> {number}",
            )
        if row["status"] != RequestStatus.APPROVED.value:
            raise Conflict(
                f"promotion request {request_id} is {row['status']}, not APPROVED",
                hint="Only an approved request can be promoted.",
            )
        conn.execute(
            update(t.promotion_requests)
            .where(t.promotion_requests.c.id == request_id)
            .values(status=RequestStatus.PROMOTED.value, decided_at_ms=now_ms())
        )

    def get_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at; NotFound if unset."""
        with self._db.read() as conn:
            model = self._model_row(conn, name)
            row = (
                conn.execute(
                    select(t.model_versions)
                    .join(t.model_aliases, t.model_aliases.c.version_id == t.model_versions.c.id)
                    .where(
                        t.model_aliases.c.model_id == model["id"],
                        t.model_aliases.c.alias == alias,
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound(
                    "alias",
                    f"{name}@{alias}",
                    hint=f"Set it with `loopml models alias {name} {alias} VERSION`.",
                )
            return self._to_version(conn, row, name)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of an alias (or of all aliases), oldest first."""
        with self._db.read() as conn:
            model = self._model_row(conn, name)
            query = select(t.alias_history).where(t.alias_history.c.model_id == model["id"])
            if alias is not None:
                query = query.where(t.alias_history.c.alias == alias)
            rows = conn.execute(query.order_by(t.alias_history.c.seq)).mappings()
            return [
                AliasMove(
                    int(r["seq"]),
                    name,
                    r["alias"],
                    None if r["from_number"] is None else int(r["from_number"]),
                    None if r["to_number"] is None else int(r["to_number"]),
                    r["actor"],
                    r["reason"],
                    int(r["at_ms"]),
                )
                for r in rows
            ]

    def list_model_events(self, name: str) -> list[ModelEvent]:
        """The change log of a model, oldest first."""
        with self._db.read() as conn:
            model = self._model_row(conn, name)
            rows = conn.execute(
                select(t.model_events)
                .where(t.model_events.c.model_id == model["id"])
                .order_by(t.model_events.c.id)
            ).mappings()
            return [
                ModelEvent(
                    id=r["id"],
                    model_name=name,
                    action=r["action"],
                    actor=r["actor"],
                    at_ms=int(r["at_ms"]),
                    version=None if r["version_number"] is None else int(r["version_number"]),
                    reason=r["reason"],
                    detail=json.loads(r["detail_json"]),
                )
                for r in rows
            ]
