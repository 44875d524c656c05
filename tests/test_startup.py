"""Start-up cost guards: what the first run and each command import, checked in fresh
processes (no timing thresholds: the modules loaded are what makes a start slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loopml.store.sql import SqlStore

HEAVY = ("alembic", "pydantic", "pandas", "pyarrow", "sklearn", "fsspec", "psutil", "yaml")

FIRST_RUN = """
import json, sys
import loopml
with loopml.start_run(name="first") as run:
    run.log_metric("loss", 0.5)
print(json.dumps({"run": run.id, "loaded": [m for m in sys.argv[1:] if m in sys.modules]}))
"""

CLI = """
import json, runpy, sys
watch, sys.argv = sys.argv[1].split(","), ["loopml", *sys.argv[2:]]
try:
    runpy.run_module("loopml", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": [m for m in watch if m in sys.modules]}))
"""


def _python(code: str, *args: str, cwd: Path, home: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env.update(LOOPML_HOME=str(home), COLUMNS="120", NO_COLOR="1")
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    result: dict[str, object] = json.loads(last)
    return result


@pytest.mark.parametrize("home_exists", [True, False], ids=["existing-home", "fresh-home"])
def test_first_run_loads_no_migration_tool_and_no_heavy_library(
    tmp_path: Path, home_exists: bool
) -> None:
    home = tmp_path / "home"
    if home_exists:
        _python(FIRST_RUN, cwd=tmp_path, home=home)
    result = _python(FIRST_RUN, *HEAVY, cwd=tmp_path, home=home)
    assert result["loaded"] == []
    with SqlStore(f"sqlite:///{home / 'loopml.db'}") as store:
        points = store.metric_history(str(result["run"]), "loss")
    assert [p.value for p in points] == [0.5]


def test_an_older_home_is_migrated_on_the_first_run(tmp_path: Path) -> None:
    from alembic import command

    from loopml.store.sql import open_database, schema_state
    from loopml.store.sql._migrate import HEAD, _config

    home = tmp_path / "home"
    db = open_database(f"sqlite:///{home / 'loopml.db'}")
    with db.write() as conn:
        command.upgrade(_config(conn), "0004_pipelines")
    result = _python(FIRST_RUN, "alembic", cwd=tmp_path, home=home)
    assert result["loaded"] == ["alembic"]  # a migration was due: the one case that loads it
    assert schema_state(db).current == HEAD
    db.dispose()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An up-to-date embedded home."""
    SqlStore(f"sqlite:///{tmp_path / 'home' / 'loopml.db'}").close()
    return tmp_path / "home"


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["runs", "--help"],
        ["runs", "list"],
        ["db", "status"],
        ["config", "show"],
        ["data", "commit", "plain", "files"],
    ],
    ids=lambda args: " ".join(args),
)
def test_commands_load_only_what_they_use(tmp_path: Path, home: Path, args: list[str]) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.bin").write_bytes(b"\x00" * 100)
    result = _python(CLI, ",".join(HEAVY), *args, cwd=tmp_path, home=home)
    assert result["code"] == 0
    assert result["loaded"] == []


def test_help_imports_no_command_module(tmp_path: Path, home: Path) -> None:
    watch = [f"loopml.cli.{name}" for name in ("data", "runs", "models", "pipeline", "tune")]
    watch += ["loopml.tracking", "loopml.store", "sqlalchemy", "loopml.entities"]
    result = _python(CLI, ",".join(watch), "--help", cwd=tmp_path, home=home)
    assert result["code"] == 0
    assert result["loaded"] == []
