"""The real CLI: help, version, init, config, db, lineage, and its error contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loopml import __version__
from loopml.store.sql import SqlStore
from tests.fixtures.cli import Cli


def test_version_and_help(cli: Cli) -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"loopml {__version__}"
    top = cli("--help")
    assert top.returncode == 0
    for group in ("init", "demo", "config", "db", "lineage"):
        assert group in top.stdout
    for group in ("config", "db", "lineage"):
        sub = cli(group, "--help")
        assert sub.returncode == 0 and "Usage" in sub.stdout, group


def test_init_config_show_and_db(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "h"
    made = cli("--home", str(home), "init", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["home"] == str(home)
    assert (home / "loopml.db").is_file() and (home / "artifacts").is_dir()

    shown = cli("config", "show", "--json", env={"LOOPML_HOME": str(home)})
    data = json.loads(shown.stdout)
    assert data["home"] == {"value": str(home), "source": "environment"}
    assert data["busy_timeout_s"]["source"] == "default"

    status = cli("db", "status", "--json", env={"LOOPML_HOME": str(home)})
    assert json.loads(status.stdout)["up_to_date"] is True
    again = cli("db", "upgrade", env={"LOOPML_HOME": str(home)})
    assert again.returncode == 0 and "already at revision" in again.stdout


@pytest.mark.postgres
def test_db_upgrade_on_a_shared_database(cli: Cli, pg_url: str) -> None:
    env = {"LOOPML_DB_URL": pg_url}
    before = cli("db", "status", "--json", env=env)
    assert json.loads(before.stdout)["current"] is None
    refused = cli("lineage", "show", "run:x", env=env)
    assert refused.returncode == 2 and "loopml db upgrade" in refused.stderr
    upgraded = cli("db", "upgrade", "--json", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["from"] is None
    assert cli("lineage", "show", "run:x", env=env).returncode == 0


def test_lineage_show_tree_and_json(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "h"
    with SqlStore(f"sqlite:///{home / 'loopml.db'}") as store:
        from loopml.lineage import link

        link("artifact:data", "run:r1", "trained_on", store=store)
        link("run:r1", "model_version:m1", "produced", store=store)
    env = {"LOOPML_HOME": str(home)}
    tree = cli("lineage", "show", "run:r1", env=env)
    assert tree.returncode == 0, tree.stderr
    assert "trained_on artifact:data" in tree.stdout and "produced model_version:m1" in tree.stdout
    data = json.loads(
        cli("lineage", "show", "model_version:m1", "-d", "up", "--json", env=env).stdout
    )
    assert [(e["depth"], e["src"]) for e in data["up"]] == [(1, "run:r1"), (2, "artifact:data")]


def _one_clear_line(result_stderr: str) -> None:
    assert "Traceback" not in result_stderr
    assert result_stderr.startswith("error: ")


def test_malformed_loopml_toml(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "loopml.toml").write_text("home = [unclosed\n")
    result = cli("config", "show")
    assert result.returncode == 2
    _one_clear_line(result.stderr)
    assert "loopml.toml" in result.stderr and "line 1" in result.stderr


def test_unreachable_database(cli: Cli) -> None:
    result = cli(
        "lineage",
        "show",
        "run:x",
        env={"LOOPML_DB_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"},
    )
    assert result.returncode == 2
    _one_clear_line(result.stderr)
    assert "cannot reach the metadata store" in result.stderr and "127.0.0.1:1" in result.stderr


def test_unwritable_home(cli: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = cli("--home", str(blocker / "home"), "init")
    assert result.returncode == 2
    _one_clear_line(result.stderr)
    assert str(blocker / "home") in result.stderr


def test_usage_errors_exit_2(cli: Cli) -> None:
    assert cli("lineage", "show").returncode == 2
    bad_ref = cli("lineage", "show", "not-a-ref")
    assert bad_ref.returncode == 2
    _one_clear_line(bad_ref.stderr)
    assert cli("no-such-command").returncode == 2


def test_debug_shows_traceback(cli: Cli) -> None:
    result = cli("--debug", "lineage", "show", "not-a-ref")
    assert result.returncode == 2 and "Traceback" in result.stderr
