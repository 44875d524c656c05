"""The RBAC matrix: every role x every mutating route, allowed and denied, each denial
audited, and the answer to a denial the same whether the object exists or not."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from loopml.artifacts._remote import RemoteArtifactStore
from loopml.entities import Outcome, RunQuery
from loopml.errors import PermissionDenied
from loopml.governance import DEFAULT_MATRIX, PROJECT_TAG, ROLES, create_token
from loopml.store.rest import OPERATIONS, RestStore
from loopml.store.sql import SqlStore
from tests.fixtures.cli import Cli
from tests.server.conftest import Served

MUTATING = sorted(name for name, op in OPERATIONS.items() if op.write)


def test_the_matrix_covers_every_mutating_route() -> None:
    assert len(MUTATING) > 50
    for name in MUTATING:
        permission = OPERATIONS[name].permission
        assert permission == "" or any(permission in p for p in DEFAULT_MATRIX.values()), name


@pytest.mark.parametrize("role", ROLES)
def test_every_mutating_route_for_a_role(served: Served, role: str) -> None:
    allowed = DEFAULT_MATRIX[role]
    user = f"{role}-user"
    headers = {"Authorization": f"Bearer {served.tokens[role]}"}
    denied_routes: list[str] = []
    with httpx.Client(base_url=served.url, headers=headers) as client:
        for name in MUTATING:
            op = OPERATIONS[name]
            answer = client.post(op.path, json={})  # an empty body: the check comes first
            if op.permission == "" or op.permission in allowed:
                assert answer.status_code not in (401, 403), (role, name, answer.text)
            else:
                assert answer.status_code == 403, (role, name, answer.text)
                body = answer.json()
                assert body["error"] == "PermissionDenied"
                assert body["permission"] == op.permission
                denied_routes.append(name)
    events = served.store.list_audit_events(actor=user, outcome=Outcome.DENIED.value)
    denied = [e.entry for e in events]
    assert [e.action for e in denied] == [OPERATIONS[n].permission for n in denied_routes]
    assert [e.object_id for e in denied] == [f"POST {OPERATIONS[n].path}" for n in denied_routes]
    assert (role == "admin") == (not denied_routes)


# --- grants per project -------------------------------------------------------------------

#: Mutations on one object each, with a valid body for an object of the given names.
_SCOPED: list[tuple[str, dict[str, object]]] = [
    ("set_tags", {"run_id": "{run}", "tags": {"k": "v"}}),
    ("log_params", {"run_id": "{run}", "params": {"p": "1"}}),
    ("set_notes", {"run_id": "{run}", "notes": "n"}),
    ("update_model", {"name": "{model}", "actor": "x", "description": "d"}),
    ("set_alias", {"name": "{model}", "alias": "staging", "number": 1, "actor": "x"}),
    ("create_promotion_request", {"name": "{model}", "number": 1, "alias": "c", "actor": "x"}),
]


def _objects(store: SqlStore, project: str) -> dict[str, str]:
    run = store.create_run(name=f"run-{project}", tags={PROJECT_TAG: project})
    model = f"model-{project}"
    store.create_model(model, actor="setup", tags={PROJECT_TAG: project})
    store.create_model_version(
        model,
        actor="setup",
        semver="1.0.0",
        manifest_digest="a" * 64,
        payload_digest="b" * 64,
        flavor="sklearn",
        model_class="m",
    )
    return {"run": run.id, "model": model}


def _body(template: dict[str, object], names: dict[str, str]) -> dict[str, object]:
    return {k: v.format(**names) if isinstance(v, str) else v for k, v in template.items()}


def _account(store: SqlStore, name: str, role: str, project: str) -> str:
    store.create_user(name, actor="setup")
    store.grant_role(name, role, actor="setup", project=project)
    token, _ = create_token(name, actor="setup", store=store)
    return token


@pytest.mark.parametrize("role", ROLES)
def test_a_grant_in_project_a_does_not_reach_project_b(served: Served, role: str) -> None:
    in_a, in_b = _objects(served.store, "a"), _objects(served.store, "b")
    user = f"{role}-of-a"
    headers = {"Authorization": f"Bearer {_account(served.store, user, role, 'a')}"}
    denied: list[str] = []
    with httpx.Client(base_url=served.url, headers=headers) as client:
        for name, template in _SCOPED:
            op = OPERATIONS[name]
            here = client.post(op.path, json=_body(template, in_a))
            if op.permission in DEFAULT_MATRIX[role]:
                assert here.status_code == 200, (role, name, here.text)
            else:
                assert here.status_code == 403, (role, name, here.text)
                denied.append(name)
            there = client.post(op.path, json=_body(template, in_b))
            assert there.status_code == 403, (role, name, there.text)
            assert there.json()["permission"] == op.permission
            assert "'b'" not in there.text  # the answer does not name the other project
            denied.append(name)
            missing = client.post(op.path, json=_body(template, {"run": "0" * 32, "model": "no"}))
            assert (missing.status_code, missing.json()["message"]) == (
                403,
                there.json()["message"],
            )
            denied.append(name)
    events = served.store.list_audit_events(actor=user, outcome=Outcome.DENIED.value)
    assert [e.entry.action for e in events] == [OPERATIONS[n].permission for n in denied]
    assert {e.entry.detail["project"] for e in events} <= {"a", "b", "default"}
    assert "b" in {e.entry.detail["project"] for e in events}
    untouched = served.store.get_run(in_b["run"])
    assert "k" not in untouched.tags and untouched.notes is None


def test_lists_show_only_the_projects_a_grant_reaches(served: Served) -> None:
    in_a = _objects(served.store, "a")
    _objects(served.store, "b")
    token = _account(served.store, "ana", "scientist", "a")
    with RestStore(served.url, token=token) as remote:
        assert [r.id for r in remote.list_runs()] == [in_a["run"]]
        assert remote.count_runs(RunQuery()) == 1  # b's run is not counted either
        assert [m.name for m in remote.list_models()] == ["model-a"]
        child = remote.create_run(name="child", parent_id=in_a["run"])
        assert child.tags[PROJECT_TAG] == "a"  # a child run is in its parent's project
        with pytest.raises(PermissionDenied, match="runs.write"):
            remote.set_tags(in_a["run"], {PROJECT_TAG: "b"})  # no moving it out of reach
        with pytest.raises(PermissionDenied, match="runs.write"):
            remote.create_run(name="elsewhere", tags={PROJECT_TAG: "b"})
    with RestStore(served.url, token=served.tokens["viewer"]) as everywhere:
        assert len(everywhere.list_runs()) == 3
        assert everywhere.count_runs(RunQuery()) == 3


def test_a_project_override_of_the_matrix_takes_effect(served: Served) -> None:
    in_a, in_b = _objects(served.store, "a"), _objects(served.store, "b")
    with RestStore(served.url, token=served.tokens["admin"]) as admin:
        admin.set_role_permission("a", "viewer", "runs.write", True, actor="admin-user")
        admin.set_role_permission("a", "engineer", "models.write", False, actor="admin-user")
    with RestStore(served.url, token=served.tokens["viewer"]) as viewer:
        viewer.set_notes(in_a["run"], "a viewer may write runs in a")
        with pytest.raises(PermissionDenied, match="runs.write"):
            viewer.set_notes(in_b["run"], "but not in b")
    with RestStore(served.url, token=served.tokens["engineer"]) as engineer:
        with pytest.raises(PermissionDenied, match="models.write"):
            engineer.update_model("model-a", actor="x", description="withheld in a")
        engineer.update_model("model-b", actor="x", description="still allowed in b")
    assert served.store.get_run(in_a["run"]).notes == "a viewer may write runs in a"
    assert served.store.get_run(in_b["run"]).notes is None


def test_artifact_blobs_belong_to_no_project(served: Served) -> None:
    writer = RemoteArtifactStore(served.url, token=_account(served.store, "eng", "engineer", "a"))
    admin_of_a = RemoteArtifactStore(served.url, token=_account(served.store, "lead", "admin", "a"))
    try:
        digest = writer.put(b"weights")  # a grant in any project stores and reads blobs
        assert writer.get(digest) == b"weights"
        with pytest.raises(PermissionDenied, match="users.admin"):
            admin_of_a.delete(digest)  # collecting blobs is every project's: needs `*`
        assert writer.exists(digest)
    finally:
        writer.close()
        admin_of_a.close()


def test_an_admin_of_one_project_grants_in_that_project_only(served: Served) -> None:
    served.store.create_user("ana", actor="setup")
    with RestStore(served.url, token=_account(served.store, "lead", "admin", "a")) as lead:
        lead.grant_role("ana", "engineer", actor="lead", project="a")
        with pytest.raises(PermissionDenied, match="users.admin"):
            lead.grant_role("ana", "engineer", actor="lead", project="*")
        with pytest.raises(PermissionDenied, match="users.admin"):
            lead.set_role_permission("b", "viewer", "runs.write", True, actor="lead")
    assert [(b.role, b.project) for b in served.store.list_role_bindings("ana")] == [
        ("engineer", "a")
    ]


def test_roles_grant_with_project_through_the_cli_against_the_server(
    served: Served, run_cli: Cli, tmp_path: Path
) -> None:
    served.store.create_user("ana", actor="setup")
    env = {
        "LOOPML_SERVER_URL": served.url,
        "LOOPML_TOKEN": _account(served.store, "lead", "admin", "a"),
        "LOOPML_HOME": str(tmp_path / "client"),
    }
    granted = run_cli("roles", "grant", "ana", "engineer", "--project", "a", env=env)
    assert granted.returncode == 0, granted.stderr
    everywhere = run_cli("roles", "grant", "ana", "engineer", env=env)
    assert everywhere.returncode == 2 and "users.admin" in everywhere.stderr
    listed = run_cli("roles", "list", "--user", "ana", "--json", env=env)
    # Another account's grants are users.admin's on `*`: the lead sees the matrix only.
    assert json.loads(listed.stdout)["grants"] is None
    admin = {**env, "LOOPML_TOKEN": served.tokens["admin"]}
    grants = json.loads(run_cli("roles", "list", "--user", "ana", "--json", env=admin).stdout)
    assert [(g["role"], g["project"], g["granted_by"]) for g in grants["grants"]] == [
        ("engineer", "a", "lead")
    ]
