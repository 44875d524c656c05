"""What every command shares: --version, usage errors, --debug, missing homes, config sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loopml import __version__
from tests.cli.conftest import Seeded
from tests.fixtures.cli import Cli


def test_version_is_eager_and_exits_0(run_cli: Cli, tmp_path: Path) -> None:
    for args in (["--version"], ["--version", "runs", "list"], ["--home", "x", "--version"]):
        done = run_cli(*args)
        assert done.returncode == 0 and done.stdout == f"loopml {__version__}\n", args
    assert list(tmp_path.iterdir()) == []  # printing the version opens nothing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-command"], "No such command 'no-such-command'"),
        (["runs", "no-such-command"], "No such command 'no-such-command'"),
        (["--bogus"], "No such option: --bogus"),
        (["runs", "list", "--bogus"], "No such option: --bogus"),
        (["lineage", "show"], "Missing argument 'ref'"),
        (["runs", "list", "--limit", "many"], "Invalid value for '--limit'"),
        (["lineage", "show", "run:x", "-d", "sideways"], "'sideways' is not one of"),
        (["evaluate", "m", "--data", "d.csv"], "Missing option '--target'"),
        (["--home"], "Option '--home' requires an argument"),
    ],
    ids=lambda v: v if isinstance(v, str) else " ".join(v),
)
def test_usage_errors_exit_2_with_usage_and_no_traceback(
    run_cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    done = run_cli(*args)
    assert done.returncode == 2, done
    assert message in done.stderr and "Error: " in done.stderr
    if args != ["--home"]:  # Click names the command only once it got that far
        assert done.stderr.startswith("Usage: loopml")
        assert "Try 'loopml" in done.stderr and "--help' for help" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert list(tmp_path.iterdir()) == []  # a usage error creates no home


def test_debug_adds_the_traceback_and_keeps_the_message_and_code(
    run_cli: Cli, seeded: Seeded
) -> None:
    args = ["--home", str(seeded.home), "runs", "show", "f" * 32]
    plain = run_cli(*args)
    debug = run_cli("--debug", *args)
    assert plain.returncode == debug.returncode == 2
    assert "Traceback" not in plain.stderr
    assert plain.stderr.startswith("error: run 'ffff")
    assert debug.stderr.startswith("Traceback (most recent call last)")
    assert "loopml.errors.NotFound" in debug.stderr
    assert debug.stderr.endswith(plain.stderr)  # the same one-line error and hint, last
    failed = run_cli("--debug", "--home", str(seeded.home), "models", "promote", seeded.request_id)
    assert failed.returncode == 1 and "Traceback" in failed.stderr  # check failures too


# every command that only reads: on a home that does not exist it says so, creating nothing
READ_ONLY = [
    ["runs", "list"],
    ["runs", "show", "abc"],
    ["runs", "compare", "a", "b"],
    ["models", "list"],
    ["models", "show", "fraud"],
    ["models", "versions", "fraud"],
    ["models", "history", "fraud"],
    ["models", "requests", "fraud"],
    ["data", "log", "tx"],
    ["data", "diff", "tx@v1", "tx@v2"],
    ["data", "checkout", "tx@main", "out"],
    ["data", "branch", "list", "tx"],
    ["data", "profile", "tx@main"],
    ["data", "validate", "tx@main", "--schema", "tx@main"],
    ["data", "schema", "infer", "tx@main"],
    ["data", "schema", "list", "tx"],
    ["data", "schema", "show", "tx"],
    ["pipeline", "list"],
    ["pipeline", "show", "abc"],
    ["pipeline", "schedules"],
    ["lineage", "show", "run:abc"],
    ["db", "status"],
]


@pytest.mark.parametrize("args", READ_ONLY, ids=[" ".join(a[:2]) for a in READ_ONLY])
def test_read_only_commands_on_a_missing_home_exit_2_and_create_nothing(
    run_cli: Cli, tmp_path: Path, args: list[str]
) -> None:
    missing = tmp_path / "no-home"
    for how in ("option", "environment"):
        if how == "option":
            done = run_cli("--home", str(missing), *args)
        else:
            done = run_cli(*args, env={"LOOPML_HOME": str(missing)})
        assert done.returncode == 2, (how, done.stdout, done.stderr)
        assert done.stderr.startswith(f"error: loopml home '{missing}' not found"), done.stderr
        assert "loopml init" in done.stderr and "Traceback" not in done.stderr
        assert list(tmp_path.iterdir()) == [], how  # neither the home nor ./.loopml


def test_config_show_needs_no_home(run_cli: Cli, tmp_path: Path) -> None:
    done = run_cli("--home", str(tmp_path / "later"), "config", "show")
    assert done.returncode == 0 and "later" in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_config_show_json_names_every_source(run_cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "loopml.toml").write_text(
        'user = "toml-user"\nbusy_timeout_s = 7\nhome = "from-toml"\nprice_cpu_hour = 0.5\n'
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.loopml]\nuser = "py-user"\nexecutor = "dask"\n'
        "price_cpu_hour = 9.0\n"
    )
    env = {
        "LOOPML_ROLES": "approver,admin",
        "LOOPML_PRICE_CPU_HOUR": "1.25",
        "LOOPML_DB_URL": "postgresql+psycopg://bob:s3cret@127.0.0.1:1/loop",
    }
    data = json.loads(run_cli("--home", "chosen", "config", "show", "--json", env=env).stdout)
    assert set(data) >= {"home", "db_url", "artifact_url", "user", "roles", "executor"}
    assert data["home"] == {"value": str(tmp_path / "chosen"), "source": "argument"}
    assert data["roles"] == {"value": "approver,admin", "source": "environment"}
    assert data["price_cpu_hour"] == {"value": "1.25", "source": "environment"}
    assert data["user"] == {"value": "toml-user", "source": "loopml.toml"}  # beats pyproject
    assert data["busy_timeout_s"] == {"value": "7.0", "source": "loopml.toml"}
    assert data["executor"] == {"value": "dask", "source": "pyproject.toml"}
    assert data["auto_migrate"]["source"] == "default"
    assert data["db_url"]["source"] == "environment"
    assert "s3cret" not in json.dumps(data) and "bob" in data["db_url"]["value"]
    # the table says the same, and the home from loopml.toml is relative to that file
    without_arg = run_cli("config", "show", "--json")
    assert json.loads(without_arg.stdout)["home"] == {
        "value": str(tmp_path / "from-toml"),
        "source": "loopml.toml",
    }
    table = run_cli("config", "show").stdout
    assert "toml-user" in table and "pyproject.toml" in table and "default" in table


def test_a_bad_setting_names_its_source(run_cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "loopml.toml").write_text("colour = 'blue'\n")
    unknown = run_cli("config", "show")
    assert (
        unknown.returncode == 2 and "colour" in unknown.stderr and "loopml.toml" in unknown.stderr
    )
    (tmp_path / "loopml.toml").unlink()
    typed = run_cli("config", "show", env={"LOOPML_BUSY_TIMEOUT_S": "soon"})
    assert typed.returncode == 2
    assert "'soon'" in typed.stderr and "from environment" in typed.stderr
    assert "Traceback" not in unknown.stderr + typed.stderr
