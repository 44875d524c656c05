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


def test_roles_granted_per_project_show_in_roles_list(run_cli: Cli, tmp_path: Path) -> None:
    home = ["--home", str(tmp_path / "home")]
    root, lead = {"LOOPML_USER": "root"}, {"LOOPML_USER": "lead"}
    assert run_cli(*home, "users", "add", "root", "--role", "admin", env=root).returncode == 0
    assert run_cli(*home, "users", "add", "ana", env=root).returncode == 0
    assert run_cli(*home, "users", "add", "lead", env=root).returncode == 0
    granted = run_cli(*home, "roles", "grant", "ana", "engineer", "--project", "fraud", env=root)
    assert granted.returncode == 0 and "in fraud" in granted.stdout
    assert run_cli(*home, "roles", "grant", "ana", "viewer", env=root).returncode == 0
    assert (
        run_cli(*home, "roles", "grant", "lead", "admin", "--project", "fraud", env=root).returncode
        == 0
    )

    listed = json.loads(run_cli(*home, "roles", "list", "--json").stdout)
    grants = {(g["user"], g["role"], g["project"]) for g in listed["grants"]}
    assert {("ana", "engineer", "fraud"), ("ana", "viewer", "*")} <= grants
    assert "models.promote" in listed["matrix"]["engineer"]
    only_risk = json.loads(run_cli(*home, "roles", "list", "--project", "risk", "--json").stdout)
    assert ("ana", "engineer", "fraud") not in {
        (g["user"], g["role"], g["project"]) for g in only_risk["grants"]
    }

    # An admin of one project administers that project only.
    scoped = run_cli(*home, "roles", "grant", "ana", "approver", "--project", "fraud", env=lead)
    assert scoped.returncode == 0
    everywhere = run_cli(*home, "roles", "grant", "ana", "approver", env=lead)
    assert everywhere.returncode == 2 and "users.admin" in everywhere.stderr
    override = run_cli(
        *home, "roles", "set", "viewer", "runs.write", "--project", "fraud", "--allow", env=lead
    )
    assert override.returncode == 0
    fraud = json.loads(run_cli(*home, "roles", "list", "--project", "fraud", "--json").stdout)
    assert "runs.write" in fraud["matrix"]["viewer"]
    assert "runs.write" not in listed["matrix"]["viewer"]
