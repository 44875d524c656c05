"""SQL implementation of :class:`~loopml.store.protocols.GovernanceStore`.

Every change to users, tokens, role bindings and role overrides appends its audit entry
in the same transaction (:func:`~loopml.store.sql.audit.append_audit_in`).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from loopml.entities import (
    AccountKind,
    AuditEntry,
    AuditEvent,
    Checkpoint,
    RoleBinding,
    RolePermission,
    Token,
    User,
)
from loopml.entities.governance import EMPTY_ROOT, frontier_root, state_digest
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.store.sql import tables as t
from loopml.store.sql._time import now_ms
from loopml.store.sql.audit import append_audit_in, audited, row_to_event

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from loopml.store.sql._engine import Database

_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,254}$")


def check_user_name(name: str) -> str:
    """Return ``name`` if it is a valid account name, else InvalidInput."""
    if not isinstance(name, str) or not _USER.match(name):
        raise InvalidInput(
            f"invalid account name {name!r}",
            hint="An account name is 1-255 letters, digits, '_', '-', '.' or '@', starting "
            "with a letter or digit.",
        )
    return name


def _user(row: RowMapping) -> User:
    return User(
        name=row["name"],
        kind=AccountKind(row["kind"]),
        display_name=row["display_name"],
        created_at_ms=int(row["created_at_ms"]),
        created_by=row["created_by"],
        disabled=bool(row["disabled"]),
    )


def _user_state(user: User) -> dict[str, Any]:
    return {"name": user.name, "kind": str(user.kind), "disabled": user.disabled}


def _token(row: RowMapping) -> Token:
    return Token(
        token_id=row["token_id"],
        user=row["user_name"],
        name=row["name"],
        secret_hash=row["secret_hash"],
        created_at_ms=int(row["created_at_ms"]),
        created_by=row["created_by"],
        expires_at_ms=None if row["expires_at_ms"] is None else int(row["expires_at_ms"]),
        revoked_at_ms=None if row["revoked_at_ms"] is None else int(row["revoked_at_ms"]),
    )


def _token_state(token: Token) -> dict[str, Any]:
    return {
        "token_id": token.token_id,
        "user": token.user,
        "expires_at_ms": token.expires_at_ms,
        "revoked_at_ms": token.revoked_at_ms,
    }


class SqlGovernanceStore:
    """Users, tokens, roles and the audit log in SQL tables."""

    _db: Database

    # -- users ----------------------------------------------------------------------------

    def _user_row(self, conn: Connection, name: str) -> User:
        row = conn.execute(select(t.users).where(t.users.c.name == name)).mappings().first()
        if row is None:
            raise NotFound("user", name, hint="List accounts with `loopml users list`.")
        return _user(row)

    def create_user(
        self,
        name: str,
        *,
        actor: str,
        kind: AccountKind | str = AccountKind.USER,
        display_name: str = "",
    ) -> User:
        """Create an account; Conflict if the name is taken."""
        check_user_name(name)
        user = User(name, AccountKind(kind), display_name, now_ms(), actor)
        try:
            with self._db.write() as conn:
                conn.execute(
                    insert(t.users).values(
                        name=name,
                        kind=str(user.kind),
                        display_name=display_name,
                        disabled=False,
                        created_at_ms=user.created_at_ms,
                        created_by=actor,
                    )
                )
                audited(
                    conn,
                    actor=actor,
                    action="user.create",
                    kind="user",
                    ident=name,
                    after=state_digest(_user_state(user)),
                    detail={"kind": str(user.kind)},
                )
        except IntegrityError as exc:
            raise Conflict(
                f"an account named {name!r} exists already",
                hint="Pick another name, or enable the existing account.",
                name=name,
            ) from exc
        return user

    def get_user(self, name: str) -> User:
        """Return an account; NotFound if absent."""
        with self._db.read() as conn:
            return self._user_row(conn, name)

    def list_users(self) -> list[User]:
        """Every account, by name."""
        with self._db.read() as conn:
            rows = conn.execute(select(t.users).order_by(t.users.c.name)).mappings()
            return [_user(r) for r in rows]

    def set_user_disabled(self, name: str, disabled: bool, *, actor: str) -> User:
        """Disable (or enable again) an account; a disabled account's tokens stop working."""
        with self._db.write() as conn:
            before = self._user_row(conn, name)
            conn.execute(update(t.users).where(t.users.c.name == name).values(disabled=disabled))
            after = self._user_row(conn, name)
            audited(
                conn,
                actor=actor,
                action="user.disable" if disabled else "user.enable",
                kind="user",
                ident=name,
                before=state_digest(_user_state(before)),
                after=state_digest(_user_state(after)),
            )
            return after

    # -- tokens ---------------------------------------------------------------------------

    def create_token(self, token: Token, *, actor: str) -> Token:
        """Record a token (its hash only) for an existing account."""
        with self._db.write() as conn:
            self._user_row(conn, token.user)
            conn.execute(
                insert(t.api_tokens).values(
                    token_id=token.token_id,
                    user_name=token.user,
                    name=token.name,
                    secret_hash=token.secret_hash,
                    created_at_ms=token.created_at_ms,
                    created_by=actor,
                    expires_at_ms=token.expires_at_ms,
                    revoked_at_ms=None,
                )
            )
            audited(
                conn,
                actor=actor,
                action="token.create",
                kind="token",
                ident=token.token_id,
                after=state_digest(_token_state(token)),
                detail={"user": token.user, "name": token.name},
            )
        return token

    def get_token(self, token_id: str) -> Token:
        """Return a token record (with its hash); NotFound if absent."""
        with self._db.read() as conn:
            row = (
                conn.execute(select(t.api_tokens).where(t.api_tokens.c.token_id == token_id))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound("token", token_id, hint="List tokens with `loopml tokens list`.")
            return _token(row)

    def list_tokens(self, user: str | None = None) -> list[Token]:
        """Tokens of one account (or all), newest first."""
        query = select(t.api_tokens)
        if user is not None:
            query = query.where(t.api_tokens.c.user_name == user)
        query = query.order_by(t.api_tokens.c.created_at_ms.desc(), t.api_tokens.c.token_id)
        with self._db.read() as conn:
            return [_token(r) for r in conn.execute(query).mappings()]

    def revoke_token(self, token_id: str, *, actor: str) -> Token:
        """Revoke a token for good (revoking it again keeps the first time)."""
        with self._db.write() as conn:
            row = (
                conn.execute(select(t.api_tokens).where(t.api_tokens.c.token_id == token_id))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound("token", token_id, hint="List tokens with `loopml tokens list`.")
            before = _token(row)
            if before.revoked_at_ms is not None:
                return before
            stamp = now_ms()
            conn.execute(
                update(t.api_tokens)
                .where(t.api_tokens.c.token_id == token_id)
                .values(revoked_at_ms=stamp)
            )
            after = replace(before, revoked_at_ms=stamp)
            audited(
                conn,
                actor=actor,
                action="token.revoke",
                kind="token",
                ident=token_id,
                before=state_digest(_token_state(before)),
                after=state_digest(_token_state(after)),
                detail={"user": before.user},
            )
            return after

    # -- roles ----------------------------------------------------------------------------

    def grant_role(self, user: str, role: str, *, actor: str, project: str = "*") -> RoleBinding:
        """Bind ``role`` to an account in ``project``; granting it again is a no-op."""
        with self._db.write() as conn:
            self._user_row(conn, user)
            where = (
                (t.role_bindings.c.user_name == user)
                & (t.role_bindings.c.role == role)
                & (t.role_bindings.c.project == project)
            )
            row = conn.execute(select(t.role_bindings).where(where)).mappings().first()
            if row is not None:
                return RoleBinding(
                    user, role, project, int(row["granted_at_ms"]), row["granted_by"]
                )
            binding = RoleBinding(user, role, project, now_ms(), actor)
            conn.execute(
                insert(t.role_bindings).values(
                    user_name=user,
                    role=role,
                    project=project,
                    granted_at_ms=binding.granted_at_ms,
                    granted_by=actor,
                )
            )
            audited(
                conn,
                actor=actor,
                action="role.grant",
                kind="user",
                ident=user,
                after=state_digest({"user": user, "role": role, "project": project}),
                detail={"role": role, "project": project},
            )
            return binding

    def revoke_role(self, user: str, role: str, *, actor: str, project: str = "*") -> None:
        """Remove a role binding; NotFound if the account does not hold it there."""
        with self._db.write() as conn:
            gone = conn.execute(
                delete(t.role_bindings).where(
                    t.role_bindings.c.user_name == user,
                    t.role_bindings.c.role == role,
                    t.role_bindings.c.project == project,
                )
            ).rowcount
            if not gone:
                raise NotFound(
                    "role binding",
                    f"{user}:{role}@{project}",
                    hint=f"See `loopml roles list --user {user}`.",
                )
            audited(
                conn,
                actor=actor,
                action="role.revoke",
                kind="user",
                ident=user,
                before=state_digest({"user": user, "role": role, "project": project}),
                detail={"role": role, "project": project},
            )

    def list_role_bindings(self, user: str | None = None) -> list[RoleBinding]:
        """Role bindings of one account (or all), by user, project and role."""
        query = select(t.role_bindings)
        if user is not None:
            query = query.where(t.role_bindings.c.user_name == user)
        c = t.role_bindings.c
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(c.user_name, c.project, c.role)).mappings()
            return [
                RoleBinding(
                    r["user_name"],
                    r["role"],
                    r["project"],
                    int(r["granted_at_ms"]),
                    r["granted_by"],
                )
                for r in rows
            ]

    def set_role_permission(
        self, project: str, role: str, permission: str, allowed: bool | None, *, actor: str
    ) -> None:
        """Override the default matrix in ``project`` (None: back to the default)."""
        c = t.role_permissions.c
        where = (c.project == project) & (c.role == role) & (c.permission == permission)
        with self._db.write() as conn:
            before = conn.execute(select(c.allowed).where(where)).scalar()
            conn.execute(delete(t.role_permissions).where(where))
            if allowed is not None:
                conn.execute(
                    insert(t.role_permissions).values(
                        project=project, role=role, permission=permission, allowed=allowed
                    )
                )
            key = {"project": project, "role": role, "permission": permission}
            audited(
                conn,
                actor=actor,
                action="role.set_permission",
                kind="role",
                ident=f"{project}/{role}",
                before=None if before is None else state_digest({**key, "allowed": bool(before)}),
                after=None if allowed is None else state_digest({**key, "allowed": allowed}),
                detail={"permission": permission, "allowed": allowed},
            )

    def list_role_permissions(self, project: str | None = None) -> list[RolePermission]:
        """Overrides of the default matrix (of one project, or all)."""
        c = t.role_permissions.c
        query = select(t.role_permissions)
        if project is not None:
            query = query.where(c.project == project)
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(c.project, c.role, c.permission)).mappings()
            return [
                RolePermission(r["project"], r["role"], r["permission"], bool(r["allowed"]))
                for r in rows
            ]

    # -- audit log ------------------------------------------------------------------------

    def append_audit(self, entry: AuditEntry) -> AuditEvent:
        """Append one entry in its own transaction (a refusal, an outside action)."""
        with self._db.write() as conn:
            return append_audit_in(conn, entry)

    def list_audit_events(
        self,
        *,
        offset: int = 0,
        limit: int | None = 1000,
        actor: str | None = None,
        action: str | None = None,
        object_kind: str | None = None,
        object_id: str | None = None,
        outcome: str | None = None,
    ) -> list[AuditEvent]:
        """Audit events by index; ``action`` ending in ``*`` matches a prefix."""
        c = t.audit_events.c
        query = select(t.audit_events)
        for column, value in (
            (c.actor, actor),
            (c.object_kind, object_kind),
            (c.object_id, object_id),
            (c.outcome, outcome),
        ):
            if value is not None:
                query = query.where(column == value)
        if action is not None:
            if action.endswith("*"):
                query = query.where(c.action.startswith(action[:-1], autoescape=True))
            else:
                query = query.where(c.action == action)
        query = query.order_by(c.leaf_index).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            return [row_to_event(r) for r in conn.execute(query).mappings()]

    def audit_head(self) -> tuple[int, str]:
        """The log's recorded size and root (hex), as the appenders left them."""
        with self._db.read() as conn:
            row = conn.execute(
                select(t.audit_head.c.size, t.audit_head.c.frontier_json).where(
                    t.audit_head.c.id == 1
                )
            ).first()
        if row is None:
            return 0, EMPTY_ROOT
        frontier = [bytes.fromhex(h) for h in json.loads(row[1])]
        return int(row[0]), frontier_root(frontier).hex()

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Keep a signed tree head; the same size again must have the same root."""
        with self._db.write() as conn:
            row = conn.execute(
                select(t.audit_checkpoints.c.root).where(
                    t.audit_checkpoints.c.size == checkpoint.size
                )
            ).first()
            if row is not None:
                if row[0] != checkpoint.root:
                    raise Conflict(
                        f"a checkpoint of size {checkpoint.size} with another root is stored",
                        hint="The log was rewritten; run `loopml audit verify`.",
                    )
                return
            conn.execute(
                insert(t.audit_checkpoints).values(
                    size=checkpoint.size,
                    root=checkpoint.root,
                    note=checkpoint.note,
                    created_at_ms=checkpoint.created_at_ms,
                )
            )

    def list_checkpoints(self) -> list[Checkpoint]:
        """Stored signed tree heads, smallest first."""
        c = t.audit_checkpoints.c
        with self._db.read() as conn:
            rows = conn.execute(select(t.audit_checkpoints).order_by(c.size)).mappings()
            return [
                Checkpoint(int(r["size"]), r["root"], r["note"], int(r["created_at_ms"]))
                for r in rows
            ]
