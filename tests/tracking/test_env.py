"""The environment capture's cache: reused across processes, renewed when a distribution is
installed or removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loopml.artifacts import ArtifactStore
from loopml.store.sql import SqlStore
from loopml.tracking import TrackingClient, _env

START_RUN = """
import loopml
with loopml.start_run(name="env") as run:
    pass
print(run.id)
"""


def _cache_files(cache: Path) -> list[Path]:
    return sorted((cache / "loopml" / "environments").glob("*.json"))


def _add_marker(path: Path, line: str) -> None:
    data = json.loads(path.read_text())
    data["requirements"] += line
    path.write_text(json.dumps(data))


def _install(site: Path, name: str, version: str) -> None:
    dist = site / f"{name}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    later = os.stat(site).st_mtime_ns + 1_000_000_000  # coarse clocks: make the change visible
    os.utime(site, ns=(later, later))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path to install fake distributions into; a private user cache."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(_env, "_memo", {})
    return folder


def test_facts_are_read_back_from_the_cache(site: Path, tmp_path: Path) -> None:
    first = _env.interpreter_facts()
    assert "sqlalchemy==" in first.requirements
    (cached,) = _cache_files(tmp_path / "cache")
    _add_marker(cached, "only-in-the-cache==1\n")
    _env._memo.clear()  # as a new process would start
    assert "only-in-the-cache==1" in _env.interpreter_facts().requirements


def test_an_install_renews_the_facts(site: Path, tmp_path: Path) -> None:
    _env.interpreter_facts()
    (cached,) = _cache_files(tmp_path / "cache")
    _add_marker(cached, "stale==1\n")
    _install(site, "freshly-installed", "1.2")
    renewed = _env.interpreter_facts()
    assert "freshly-installed==1.2" in renewed.requirements
    assert "stale==1" not in renewed.requirements
    assert len(_cache_files(tmp_path / "cache")) == 2  # one entry per environment


def test_an_unwritable_cache_costs_only_the_capture(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert "sqlalchemy==" in _env.interpreter_facts().requirements


def test_runs_in_later_processes_use_the_cached_list(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env.update(LOOPML_HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"))

    def requirements() -> str:
        done = subprocess.run(
            [sys.executable, "-c", START_RUN],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        home = tmp_path / "home"
        with SqlStore(f"sqlite:///{home / 'loopml.db'}") as store:
            reader = TrackingClient(store, ArtifactStore(str(home / "artifacts")))
            text = reader.read_artifact(done.stdout.strip(), "environment/requirements.txt")
            reader.close()
        return text.decode()

    assert "sqlalchemy==" in requirements()
    (cached,) = _cache_files(tmp_path / "cache")
    _add_marker(cached, "written-by-the-first-process==1\n")
    assert "written-by-the-first-process==1" in requirements()


def test_the_run_records_the_cached_facts(client: TrackingClient, site: Path) -> None:
    facts = _env.interpreter_facts()
    with client.start_run("tags") as run:
        pass
    tags = client.get_run(run.id).tags
    assert tags["loopml.python"] == facts.python and tags["loopml.platform"] == facts.platform
    assert client.read_artifact(run.id, "environment/requirements.txt").decode() == (
        facts.requirements
    )
