"""Tokens, the permission matrix, denials audited, and the registry's four-eyes rule."""

from __future__ import annotations

import pytest

from loopml import registry
from loopml.entities import Actor
from loopml.errors import PermissionDenied, Unauthenticated
from loopml.governance import (
    DEFAULT_MATRIX,
    PERMISSIONS,
    ROLES,
    Principal,
    authenticate,
    authorize,
    create_token,
    local_principal,
    permissions_of,
)
from loopml.store.sql import SqlStore

# The documented matrix (docs/governance.md): role -> permissions it holds by default.
DOCUMENTED = {
    "viewer": "runs.read data.read models.read deployments.read",
    "scientist": "runs.read runs.write data.read data.write pipelines.run models.read "
    "models.write models.request deployments.read tokens.create",
    "engineer": "runs.read runs.write data.read data.write pipelines.run models.read "
    "models.write models.request models.promote deployments.read deployments.write "
    "tokens.create",
    "approver": "runs.read data.read models.read models.approve models.promote "
    "deployments.read audit.read tokens.create",
    "admin": " ".join(PERMISSIONS),
}
CELLS = [(role, perm) for role in ROLES for perm in PERMISSIONS]


def test_the_code_matrix_is_the_documented_one() -> None:
    assert {r: frozenset(p.split()) for r, p in DOCUMENTED.items()} == DEFAULT_MATRIX


@pytest.mark.parametrize(("role", "permission"), CELLS, ids=[f"{r}-{p}" for r, p in CELLS])
def test_every_role_and_permission(role: str, permission: str, tmp_path) -> None:
    with SqlStore(f"sqlite:///{tmp_path / 'db'}") as store:
        who = Principal("ana", (("*", role),))
        if permission in DOCUMENTED[role].split():
            authorize(who, permission, store=store)
            assert store.list_audit_events() == []
        else:
            with pytest.raises(PermissionDenied, match=permission.replace(".", r"\.")):
                authorize(who, permission, "model:fraud", store=store)
            (denial,) = store.list_audit_events(outcome="denied")
            assert (denial.entry.actor, denial.entry.action) == ("ana", permission)
            assert (denial.entry.object_kind, denial.entry.object_id) == ("model", "fraud")


def test_project_overrides_and_bindings(store: SqlStore) -> None:
    store.create_user("ana", actor="root")
    store.grant_role("ana", "viewer", actor="root", project="risk")
    store.set_role_permission("risk", "viewer", "runs.write", True, actor="root")
    store.set_role_permission("risk", "viewer", "data.read", False, actor="root")
    from loopml.governance import principal_for

    ana = principal_for("ana", store=store)
    assert ana.roles_in("risk") == ("viewer",) and ana.roles_in("other") == ()
    held = permissions_of(ana, "risk", store=store)
    assert "runs.write" in held and "data.read" not in held
    with pytest.raises(PermissionDenied):
        authorize(ana, "runs.write", project="other", store=store)


def test_tokens_authenticate_expire_and_revoke(store: SqlStore) -> None:
    store.create_user("ci", actor="root", kind="service")
    store.grant_role("ci", "engineer", actor="root")
    secret, token = create_token("ci", name="deploy", expires_in_s=60, actor="root", store=store)
    assert token.secret_hash not in secret and secret not in str(store.get_token(token.token_id))
    who = authenticate(secret, store=store)
    assert who.name == "ci" and who.roles_in() == ("engineer",) and who.token_id == token.token_id
    wrong = [secret[:-1] + ("A" if secret[-1] != "A" else "B"), "nonsense", ""]
    messages = set()
    for bad in wrong:
        with pytest.raises(Unauthenticated) as caught:
            authenticate(bad, store=store)
        messages.add(str(caught.value))
    with pytest.raises(Unauthenticated) as caught:  # expired
        authenticate(secret, store=store, at_ms=token.created_at_ms + 61_000)
    messages.add(str(caught.value))
    store.set_user_disabled("ci", True, actor="root")
    with pytest.raises(Unauthenticated):
        authenticate(secret, store=store)
    store.set_user_disabled("ci", False, actor="root")
    store.revoke_token(token.token_id, actor="root")
    with pytest.raises(Unauthenticated) as caught:
        authenticate(secret, store=store)
    messages.add(str(caught.value))
    assert len(messages) == 1  # never says which of wrong, expired or revoked
    actions = [e.entry.action for e in store.list_audit_events(action="token.*")]
    assert actions == ["token.create", "token.revoke"]


def test_the_local_actor_bootstraps_then_needs_an_account(store: SqlStore) -> None:
    assert local_principal(Actor("root"), store=store).roles_in() == ("admin",)
    store.create_user("root", actor="root")
    store.grant_role("root", "admin", actor="root")
    assert local_principal(Actor("eve", ("viewer", "bogus")), store=store).roles_in() == ("viewer",)


def test_the_author_cannot_approve_through_a_principal(store: SqlStore) -> None:
    store.create_model("fraud", actor="ana")
    store.create_model_version(
        "fraud",
        actor="ana",
        semver="1.0.0",
        manifest_digest="a" * 64,
        payload_digest="a" * 64,
        flavor="sklearn",
        model_class="x",
    )
    request = registry.request_promotion("fraud", 1, "champion", store=store, actor="ana")
    ana = Principal("ana", (("*", "approver"),))
    authorize(ana, "models.approve", store=store)  # the permission is there ...
    with pytest.raises(PermissionDenied, match="not the author"):  # ... the registry says no
        registry.approve(request.id, store=store, actor=ana.actor())
    ben = Principal("ben", (("*", "approver"),))
    approved = registry.approve(request.id, store=store, actor=ben.actor())
    assert approved.status.value == "APPROVED"
    assert store.list_audit_events(action="model.approve")[0].entry.actor == "ben"


def test_the_docs_table_is_the_matrix() -> None:
    from pathlib import Path

    page = Path(__file__).parents[2] / "docs" / "governance.md"
    rows = [line for line in page.read_text().splitlines() if line.startswith("| `")]
    table = {role: set() for role in ROLES}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for role, cell in zip(ROLES, cells[1:], strict=True):
            if cell == "yes":
                table[role].add(cells[0].strip("`"))
    assert len(rows) == len(PERMISSIONS)
    assert {r: frozenset(p) for r, p in table.items()} == DEFAULT_MATRIX
