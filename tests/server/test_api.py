"""The REST API as a client sees it: health, schema, errors, tokens, idempotency."""

from __future__ import annotations

import time

import httpx
import pytest

from loopml.entities import Outcome
from loopml.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from loopml.governance import create_token
from loopml.store.rest import IDEMPOTENCY_HEADER, RestStore
from tests.server.conftest import Served


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_and_schema_need_no_token(served: Served) -> None:
    health = httpx.get(f"{served.url}/api/v1/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    schema = httpx.get(f"{served.url}/openapi.json").json()
    assert "/api/v1/runs/create-run" in schema["paths"]
    assert "Run" in schema["components"]["schemas"]


def test_missing_wrong_expired_and_revoked_tokens_get_401(served: Served) -> None:
    path = f"{served.url}/api/v1/runs/list-runs"
    assert httpx.get(path).status_code == 401
    wrong = httpx.get(path, headers=_bearer("lml_0123456789abcdef_" + "x" * 43))
    assert wrong.status_code == 401 and wrong.json()["error"] == "Unauthenticated"
    short, _ = create_token(
        "scientist-user", expires_in_s=0.05, actor="admin-user", store=served.store
    )
    time.sleep(0.1)
    expired = httpx.get(path, headers=_bearer(short))
    assert expired.status_code == 401
    assert expired.json()["message"] == wrong.json()["message"]  # does not say which
    good, record = create_token("scientist-user", actor="admin-user", store=served.store)
    assert httpx.get(path, headers=_bearer(good)).status_code == 200
    served.store.revoke_token(record.token_id, actor="admin-user")
    assert httpx.get(path, headers=_bearer(good)).status_code == 401
    with RestStore(served.url, token=good) as store, pytest.raises(Unauthenticated):
        store.list_runs()


def test_errors_come_back_as_the_same_classes_with_their_fields(served: Served) -> None:
    with RestStore(served.url, token=served.tokens["scientist"]) as store:
        with pytest.raises(NotFound) as info:
            store.get_run("f" * 32)
        assert info.value.kind == "run" and info.value.ident == "f" * 32
        with pytest.raises(InvalidInput):
            store.create_run(name="")
        store.create_model("fraud", actor="scientist-user")
        with pytest.raises(Conflict):
            store.create_model("fraud", actor="scientist-user")
        with pytest.raises(PermissionDenied) as denied:
            store.grant_role("viewer-user", "admin", actor="scientist-user")
        assert denied.value.fields["permission"] == "users.admin"


def test_a_denial_names_the_permission_hides_existence_and_is_audited(served: Served) -> None:
    served.store.create_model("fraud", actor="admin-user")
    path = f"{served.url}/api/v1/models/set-alias"
    answers = [
        httpx.post(
            path,
            json={"name": name, "alias": "champion", "number": 1, "actor": "x"},
            headers=_bearer(served.tokens["viewer"]),
        )
        for name in ("fraud", "no-such-model")
    ]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json()["permission"] == "models.promote"
    assert answers[0].json()["message"] == answers[1].json()["message"]
    denials = served.store.list_audit_events(actor="viewer-user", outcome=Outcome.DENIED.value)
    assert [d.entry.action for d in denials] == ["models.promote", "models.promote"]
    assert {d.entry.source for d in denials} == {"http:127.0.0.1"}


def test_bad_input_is_a_400_never_a_500(served: Served) -> None:
    headers = _bearer(served.tokens["admin"])
    for body in (b"not json", b"[1, 2]", b'{"name": 3}', b'{"nope": 1}', b"{}"):
        answer = httpx.post(f"{served.url}/api/v1/runs/create-run", content=body, headers=headers)
        assert answer.status_code == 400, body
        assert answer.json()["error"] == "InvalidInput"
    answer = httpx.get(f"{served.url}/api/v1/runs/list-runs?limit=lots", headers=headers)
    assert answer.status_code == 400
    assert httpx.get(f"{served.url}/api/v1/nowhere", headers=headers).status_code == 404


def test_writes_act_as_the_token_holder_whatever_actor_they_name(served: Served) -> None:
    with RestStore(served.url, token=served.tokens["scientist"]) as store:
        model = store.create_model("fraud", actor="admin-user")
    assert model.created_by == "scientist-user"
    entry = served.store.list_audit_events(object_id="fraud")[-1].entry
    assert (entry.actor, entry.source) == ("scientist-user", "http:127.0.0.1")


def test_replaying_an_idempotency_key_makes_one_run(served: Served) -> None:
    headers = {**_bearer(served.tokens["scientist"]), IDEMPOTENCY_HEADER: "key-1"}
    path = f"{served.url}/api/v1/runs/create-run"
    first = httpx.post(path, json={"name": "once"}, headers=headers)
    again = httpx.post(path, json={"name": "once"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert [r.name for r in served.store.list_runs()] == ["once"]
    other = httpx.post(
        f"{served.url}/api/v1/runs/set-notes",
        json={"run_id": first.json()["id"], "notes": "n"},
        headers=headers,
    )
    assert other.status_code == 400  # a key is for one write only


class _LosesFirstAnswer(httpx.BaseTransport):
    """Forwards every request, but drops the first answer as a broken connection would."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.sent.append(request.headers.get(IDEMPOTENCY_HEADER, ""))
        if len(self.sent) == 1:
            response.read()
            response.close()
            raise httpx.ReadError("connection reset", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_a_retried_write_after_a_lost_answer_happens_once(served: Served) -> None:
    transport = _LosesFirstAnswer()
    with RestStore(
        served.url, token=served.tokens["scientist"], transport=transport, backoff_s=0.01
    ) as store:
        run = store.create_run(name="retried")
    assert len(transport.sent) == 2 and transport.sent[0] == transport.sent[1] != ""
    assert [r.id for r in served.store.list_runs()] == [run.id]


def test_connection_errors_are_retried_then_reported(served: Served) -> None:
    with RestStore("http://127.0.0.1:9", retries=2, backoff_s=0.01) as store:
        with pytest.raises(Exception) as info:
            store.list_runs()
    assert type(info.value).__name__ == "StoreUnavailable"


def test_whoami_and_the_four_eyes_rule_hold_on_the_server(served: Served) -> None:
    from loopml.entities import RequestStatus

    served.store.create_user("pat", actor="admin-user")
    for role in ("scientist", "approver"):
        served.store.grant_role("pat", role, actor="admin-user")
    pat, _ = create_token("pat", actor="admin-user", store=served.store)
    served.store.create_model("fraud", actor="admin-user")
    served.store.create_model_version(
        "fraud",
        actor="admin-user",
        semver="1.0.0",
        manifest_digest="a" * 64,
        payload_digest="b" * 64,
        flavor="sklearn",
        model_class="LogisticRegression",
    )
    with RestStore(served.url, token=pat) as store:
        assert store.whoami()["name"] == "pat"
        request = store.create_promotion_request("fraud", 1, "champion", actor="someone-else")
        assert request.requested_by == "pat"
        with pytest.raises(PermissionDenied, match="four-eyes"):
            store.add_decision(
                request.id,
                actor="another",
                role="approver",
                approve=True,
                comment="",
                status=RequestStatus.APPROVED,
            )
    with RestStore(served.url, token=served.tokens["approver"]) as store:
        decided = store.add_decision(
            request.id,
            actor="x",
            role="approver",
            approve=True,
            comment="ok",
            status=RequestStatus.APPROVED,
        )
        assert decided.status is RequestStatus.APPROVED
        assert [d.actor for d in decided.decisions] == ["approver-user"]


def test_concurrent_replays_of_one_key_make_one_run(served: Served) -> None:
    from concurrent.futures import ThreadPoolExecutor

    headers = {**_bearer(served.tokens["scientist"]), IDEMPOTENCY_HEADER: "same-key"}

    def send(_: int) -> httpx.Response:
        return httpx.post(
            f"{served.url}/api/v1/runs/create-run", json={"name": "c"}, headers=headers
        )

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(6)))
    assert {a.status_code for a in answers} <= {200, 503}  # 503: the first is still running
    ids = {a.json()["id"] for a in answers if a.status_code == 200}
    assert len(ids) == 1
    assert len(served.store.list_runs()) == 1
