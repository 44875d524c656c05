"""A server SIGKILLed around a write's commit, then retried through RestStore: the write
happens exactly once (the Idempotency-Key's record commits with the write itself)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from loopml.governance import create_token
from loopml.server._routes import CRASH_ENV
from loopml.store.rest import RestStore
from loopml.store.sql import SqlStore
from tests.server._process import free_port, start_server, stop_server


def _home(tmp_path: Path, db_url: str | None = None) -> tuple[Path, str, str]:
    home = tmp_path / "home"
    home.mkdir()
    db_url = db_url or f"sqlite:///{home}/loopml.db"
    with SqlStore(db_url, migrate=True) as store:
        store.create_user("ana", actor="setup")
        store.grant_role("ana", "scientist", actor="setup")
        token, _ = create_token("ana", actor="setup", store=store)
    return home, token, db_url


def _survives_a_crash(
    home: Path, db_url: str, token: str, crash: str, write: Callable[[RestStore], Any]
) -> Any:
    """Run ``write`` against a server that kills itself at ``crash``; restart the server
    (no crash point) while the client retries; return the write's answer."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    first = start_server(home, port, env={CRASH_ENV: crash, "LOOPML_DB_URL": db_url})
    outcome: dict[str, Any] = {}
    # Backoff 0.25 s doubling over 9 retries: about two minutes to get the new server up.
    remote = RestStore(url, token=token, retries=9, backoff_s=0.25)

    def client() -> None:
        try:
            outcome["value"] = write(remote)
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc

    thread = threading.Thread(target=client)
    second = None
    try:
        thread.start()
        assert first.wait(timeout=120) == -signal.SIGKILL  # it crashed at the crash point
        second = start_server(home, port, env={"LOOPML_DB_URL": db_url})
        thread.join(timeout=240)
        assert not thread.is_alive()
    finally:
        stop_server(first)
        if second is not None:
            stop_server(second)
        remote.close()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
@pytest.mark.parametrize("moment", ["after-commit", "before-commit"])
def test_a_run_survives_a_crash_around_its_commit(
    tmp_path: Path, moment: str, backend: str, request: pytest.FixtureRequest
) -> None:
    pg = request.getfixturevalue("pg_url") if backend == "postgres" else None
    home, token, db_url = _home(tmp_path, pg)
    run = _survives_a_crash(
        home, db_url, token, f"{moment}:create_run", lambda remote: remote.create_run(name="once")
    )
    with SqlStore(db_url) as store:
        runs = store.list_runs()
    assert [(r.id, r.name) for r in runs] == [(run.id, "once")]


def test_a_version_is_registered_once_when_the_server_dies_after_the_commit(
    tmp_path: Path,
) -> None:
    home, token, db_url = _home(tmp_path)

    def register(remote: RestStore) -> Any:
        remote.create_model("fraud", actor="ana")
        return remote.create_model_version(
            "fraud",
            actor="ana",
            semver="1.0.0",
            manifest_digest="a" * 64,
            payload_digest="b" * 64,
            flavor="sklearn",
            model_class="sklearn.linear_model.LogisticRegression",
        )

    version = _survives_a_crash(home, db_url, token, "after-commit:create_model_version", register)
    with SqlStore(db_url) as store:
        versions = store.list_model_versions("fraud")
    assert [(v.number, v.id) for v in versions] == [(1, version.id)]
    assert version.created_by == "ana"
