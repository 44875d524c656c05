"""Schemathesis over the server's /openapi.json: generated requests never get a 5xx.

Bounded: a few examples per operation, on a loopback server over SQLite, auth on (an
admin token, so requests reach the store rather than stopping at the permission check).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from loopml.governance import create_token
from tests.server.conftest import Served


@pytest.mark.parametrize("caller", ["admin", "engineer-of-a-project"])
def test_schemathesis_finds_no_5xx(served: Served, caller: str) -> None:
    # The second caller holds a role in one project only, so every request also goes
    # through the lookup of the project of whatever object the generated arguments name.
    if caller == "admin":
        token = served.tokens["admin"]
    else:
        served.store.create_user(caller, actor="setup")
        served.store.grant_role(caller, "engineer", actor="setup", project="a")
        token, _ = create_token(caller, actor="setup", store=served.store)
    api = schemathesis.openapi.from_url(f"{served.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 100
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    for operation in operations:

        @settings(
            max_examples=5, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(operation.as_strategy())
        def check(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(timeout=10, headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.path} {case.body!r}: {response.text[:300]}")

        check()
    assert not failures, "\n".join(failures[:10])
