"""``loopml users|tokens|roles|audit`` end to end in a fresh home."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from loopml.governance import authenticate
from loopml.store.sql import SqlStore
from tests.fixtures.cli import Cli


def test_the_cli_governs_and_audits(run_cli: Cli, tmp_path: Path) -> None:
    home = ["--home", str(tmp_path / "home")]
    root, eve = {"LOOPML_USER": "root"}, {"LOOPML_USER": "eve", "LOOPML_ROLES": "viewer"}
    assert run_cli(*home, "users", "add", "root", "--role", "admin", env=root).returncode == 0
    assert run_cli(*home, "users", "add", "ci", "--service", env=root).returncode == 0
    assert run_cli(*home, "roles", "grant", "ci", "engineer", env=root).returncode == 0
    made = run_cli(*home, "tokens", "create", "ci", "--name", "deploy", "--json", env=root)
    token = json.loads(made.stdout)
    denied = run_cli(*home, "users", "add", "mallory", env=eve)
    assert denied.returncode == 2 and "users.admin" in denied.stderr
    db = tmp_path / "home" / "loopml.db"
    with SqlStore(f"sqlite:///{db}") as store:
        assert authenticate(token["token"], store=store).roles_in() == ("engineer",)
    log = json.loads(run_cli(*home, "audit", "log", "--filter", "outcome=denied", "--json").stdout)
    assert [(e["actor"], e["action"], e["source"]) for e in log] == [("eve", "users.admin", "cli")]

    cp = tmp_path / "cp.txt"
    assert run_cli(*home, "audit", "checkpoint", "--output", str(cp)).returncode == 0
    assert run_cli(*home, "audit", "verify", "--checkpoint", str(cp)).returncode == 0
    assert run_cli(*home, "tokens", "revoke", token["token_id"], env=root).returncode == 0
    assert run_cli(*home, "audit", "verify", "--checkpoint", str(cp)).returncode == 0

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_events SET actor = 'nobody' WHERE leaf_index = 1")
    bad = run_cli(*home, "audit", "verify")
    assert bad.returncode == 1 and "entry 1" in bad.stderr
