"""Debian's Prometheus, promtool and Alertmanager for the tests, started on loopback.

``.ci/services.sh`` installs them; off CI a missing binary skips the test with the reason,
under CI=true it fails it.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.fixtures.services import require_service

INSTALL = "apt-get install --no-install-recommends prometheus prometheus-alertmanager"


def binary(name: str) -> str:
    """The path of ``name`` (promtool, prometheus, prometheus-alertmanager), or skip/fail."""
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
    )
    if found is None:
        require_service(name, f"not on PATH (run .ci/services.sh, or {INSTALL})")
    assert found is not None
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run promtool; the caller checks ``returncode`` (its output says why)."""
    return subprocess.run(
        [binary("promtool"), *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def wait_ready(url: str, proc: subprocess.Popen[bytes], what: str, deadline_s: float = 15) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what} was not ready at {url} within {deadline_s}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def prometheus(folder: Path, config: dict[str, Any]) -> Iterator[str]:
    """Start Prometheus with ``config`` on a free loopback port; yield its URL."""
    import yaml

    exe = binary("prometheus")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(folder / "prometheus.log", "wb")
    proc = subprocess.Popen(
        [
            exe,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={folder / 'data'}",
            "--storage.tsdb.retention.time=1h",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/-/ready", proc, "prometheus")
        yield url
    finally:
        _stop(proc)
        log.close()


@contextmanager
def alertmanager(folder: Path) -> Iterator[str]:
    """Start Alertmanager (no cluster port, a null receiver) on loopback; yield its URL."""
    exe = binary("prometheus-alertmanager")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "am.yml").write_text(
        "route: {receiver: 'null', group_wait: 1s}\nreceivers: [{name: 'null'}]\n"
    )
    port = free_port()
    log = open(folder / "alertmanager.log", "wb")
    proc = subprocess.Popen(
        [
            exe,
            f"--config.file={folder / 'am.yml'}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/-/ready", proc, "alertmanager")
        yield url
    finally:
        _stop(proc)
        log.close()


def query(url: str, promql: str) -> list[dict[str, Any]]:
    """The instant vector ``promql`` evaluates to now."""
    answer = get_json(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
    assert answer["status"] == "success", answer
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result
