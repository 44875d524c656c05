"""`loopml server` as a real process: one worker and several, auth on and --no-auth."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from loopml.governance import create_token
from loopml.store.rest import RestStore
from loopml.store.sql import SqlStore


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(home: Path, *args: str) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env["LOOPML_HOME"] = str(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopml", "server", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out, err = proc.communicate(timeout=10)
                pytest.fail(f"loopml server did not start: {out}\n{err}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_server_process_with_tokens(tmp_path: Path, workers: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with SqlStore(f"sqlite:///{home}/loopml.db") as store:
        store.create_user("ana", actor="setup")
        store.grant_role("ana", "scientist", actor="setup")
        token, _ = create_token("ana", actor="setup", store=store)
    with _server(home, "--workers", workers) as url:
        assert httpx.get(f"{url}/api/v1/runs/list-runs").status_code == 401
        with RestStore(url, token=token) as remote:
            ids = {remote.create_run(name=f"r{i}").id for i in range(4)}
            assert {r.id for r in remote.list_runs()} == ids


def test_no_auth_serves_the_local_user(tmp_path: Path) -> None:
    with _server(tmp_path / "home", "--no-auth") as url:
        assert httpx.get(f"{url}/api/v1/health").json()["auth"] is False
        with RestStore(url) as remote:
            run = remote.create_run(name="local")
            assert remote.get_run(run.id).name == "local"
