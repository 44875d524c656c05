"""Conformance checks for the GovernanceStore aggregate (accounts, tokens, audit log)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from loopml.entities import AccountKind, AuditEntry, Checkpoint, Outcome, Token
from loopml.entities.governance import EMPTY_ROOT
from loopml.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from loopml.store import Store


class GovernanceStoreConformance:
    """Governance checks; needs a ``store`` fixture (fresh and empty)."""

    def test_accounts_and_roles(self, store: Store) -> None:
        user = store.create_user("ana", actor="root", display_name="Ana")
        assert store.get_user("ana") == user and user.kind is AccountKind.USER
        store.create_user("ci", actor="root", kind="service")
        with pytest.raises(Conflict):
            store.create_user("ana", actor="root")
        with pytest.raises(InvalidInput):
            store.create_user("no spaces", actor="root")
        with pytest.raises(NotFound):
            store.get_user("nobody")
        assert [u.name for u in store.list_users()] == ["ana", "ci"]
        assert store.set_user_disabled("ana", True, actor="root").disabled
        store.grant_role("ana", "viewer", actor="root")
        store.grant_role("ana", "viewer", actor="root")  # again: a no-op
        store.grant_role("ana", "approver", actor="root", project="risk")
        assert [(b.role, b.project) for b in store.list_role_bindings("ana")] == [
            ("viewer", "*"),
            ("approver", "risk"),
        ]
        store.revoke_role("ana", "viewer", actor="root")
        with pytest.raises(NotFound):
            store.revoke_role("ana", "viewer", actor="root")
        store.set_role_permission("risk", "viewer", "runs.write", True, actor="root")
        assert [p.permission for p in store.list_role_permissions("risk")] == ["runs.write"]
        store.set_role_permission("risk", "viewer", "runs.write", None, actor="root")
        assert store.list_role_permissions() == []

    def test_tokens(self, store: Store) -> None:
        store.create_user("ci", actor="root")
        token = Token("0123456789abcdef", "ci", "ci", "f" * 64, 1, "root", expires_at_ms=10)
        store.create_token(token, actor="root")
        assert store.get_token(token.token_id) == token
        assert not store.get_token(token.token_id).is_valid(10)
        revoked = store.revoke_token(token.token_id, actor="root")
        assert revoked.revoked_at_ms is not None
        assert [t.token_id for t in store.list_tokens("ci")] == [token.token_id]
        with pytest.raises(NotFound):
            store.get_token("nope")
        with pytest.raises(NotFound):
            store.create_token(Token("1" * 16, "nobody", "", "f" * 64, 1, "root"), actor="root")

    def test_audit_log(self, store: Store) -> None:
        assert store.audit_head() == (0, EMPTY_ROOT)
        first = store.append_audit(AuditEntry("ana", "x.do", "thing", "1"))
        second = store.append_audit(
            AuditEntry("ben", "x.undo", "thing", "2", outcome=Outcome.DENIED)
        )
        assert (first.index, second.index) == (0, 1) and second.prev_root == first.leaf_hash
        assert store.audit_head() == (2, store.audit_head()[1])
        assert [e.index for e in store.list_audit_events(action="x.*")] == [0, 1]
        assert [e.entry.actor for e in store.list_audit_events(outcome="denied")] == ["ben"]
        assert store.list_audit_events(offset=1, limit=1)[0] == second
        size, root = store.audit_head()
        store.save_checkpoint(Checkpoint(size, root, "note", 5))
        store.save_checkpoint(Checkpoint(size, root, "note", 6))  # same head again: kept
        with pytest.raises(Conflict):
            store.save_checkpoint(Checkpoint(size, "0" * 64, "note", 7))
        assert [c.size for c in store.list_checkpoints()] == [2]
