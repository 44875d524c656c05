"""Database URLs loopml cannot use, and files that are not databases: one clear error each."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from loopml.errors import ConfigError, StoreUnavailable
from loopml.store.sql import SqlStore
from tests.fixtures.cli import Cli

SUPPORTED = "sqlite:///PATH/TO/loopml.db (the embedded store) and postgresql+psycopg://"


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("mysql://user:secret@db.example/loopml", "mysql"),
        ("mysql+pymysql://user@db.example/loopml", "mysql+pymysql"),
        ("foo://", "foo"),
        ("oracle://scott@db/orcl", "oracle"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite"),
    ],
)
def test_an_unsupported_database_is_refused_naming_what_is_supported(url: str, scheme: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SqlStore(url)
    err = caught.value
    assert err.message.startswith(f"unsupported database URL {scheme}://")
    assert "secret" not in err.message  # the password is never echoed
    assert err.hint is not None and SUPPORTED in err.hint


@pytest.mark.parametrize(
    ("url", "meant"),
    [
        ("postgres://u@127.0.0.1/db", "postgresql+psycopg://"),
        ("postgresql+psycopg2://u@127.0.0.1/db", "postgresql+psycopg://"),
    ],
)
def test_a_habitual_scheme_gets_the_spelling_loopml_wants(url: str, meant: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SqlStore(url)
    assert caught.value.hint is not None and caught.value.hint.startswith(f"Write {meant}")


def test_an_unparseable_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot parse database URL"):
        SqlStore("::not a url::")


@pytest.mark.postgres
def test_postgresql_without_a_driver_means_psycopg(pg_url: str) -> None:
    bare = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with SqlStore(bare) as store:
        assert store.database.engine.url.drivername == "postgresql+psycopg"
        assert store.create_run(name="r").name == "r"


def test_a_text_file_is_not_a_database(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a database\n")
    with pytest.raises(StoreUnavailable) as caught:
        SqlStore(f"sqlite:///{text}")
    assert caught.value.message.startswith(f"{text} is not a SQLite database")
    assert "loopml init" in (caught.value.hint or "")
    assert text.read_text() == "hello, not a database\n"  # left as it was


def test_a_folder_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="it is a folder"):
        SqlStore(f"sqlite:///{tmp_path}")


def test_a_damaged_database_is_reported_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "loopml.db"
    SqlStore(f"sqlite:///{path}").close()
    with path.open("r+b") as handle:  # keep the header, wreck the schema page
        handle.seek(100)
        handle.write(b"\xff" * 3000)
    with pytest.raises(StoreUnavailable) as caught:
        SqlStore(f"sqlite:///{path}")
    assert caught.value.message.startswith(f"{path} is a damaged SQLite database")
    assert "malformed" in caught.value.message


def test_an_empty_file_becomes_the_database(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with SqlStore(f"sqlite:///{empty}") as store:
        assert store.create_run(name="r").name == "r"
    assert empty.read_bytes().startswith(b"SQLite format 3\x00")


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def test_cli_unsupported_url_is_one_line_and_exit_2(cli: Cli, tmp_path: Path) -> None:
    result = cli("runs", "list", env={"LOOPML_DB_URL": "mysql://u:pw@localhost/loopml"})
    assert result.returncode == 2, result.stderr
    _no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (
        "error: unsupported database URL mysql://u:***@localhost/loopml: mysql:// is not a "
        "database loopml can use"
    )
    assert SUPPORTED in lines[1]


def test_cli_text_file_as_database_is_exit_2(cli: Cli, tmp_path: Path) -> None:
    text = tmp_path / "readme.txt"
    text.write_text("just text\n" * 50)
    result = cli("data", "commit", "x", "readme.txt", env={"LOOPML_DB_URL": f"sqlite:///{text}"})
    assert result.returncode == 2
    _no_traceback(result)
    assert f"error: {text} is not a SQLite database" in result.stderr


def test_cli_home_with_garbage_loopml_db_is_exit_2(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "loopml.db").write_bytes(bytes(range(256)) * 40)
    for args in (("runs", "list"), ("db", "status"), ("init",)):
        result = cli("--home", str(home), *args)
        assert result.returncode == 2, (args, result.stderr)
        _no_traceback(result)
        assert f"{home / 'loopml.db'} is not a SQLite database" in result.stderr, args
