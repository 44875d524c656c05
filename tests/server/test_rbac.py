"""The RBAC matrix: every role x every mutating route, allowed and denied, each denial
audited, and the answer to a denial the same whether the object exists or not."""

from __future__ import annotations

import httpx
import pytest

from loopml.entities import Outcome
from loopml.governance import DEFAULT_MATRIX, ROLES
from loopml.store.rest import OPERATIONS
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
