"""A real loopml server on loopback over a fresh SQLite home, with accounts per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from loopml.config import load_settings
from loopml.governance import ROLES, create_token
from loopml.server import running_server
from loopml.store.sql import SqlStore
from loopml.workspace import Workspace


@dataclass
class Served:
    """A running server: its URL, its backing store, and one token per role."""

    url: str
    store: SqlStore
    workspace: Workspace
    tokens: dict[str, str]  # role -> token of the account "<role>-user"


def _accounts(store: SqlStore) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for role in ROLES:
        name = f"{role}-user"
        store.create_user(name, actor="bootstrap")
        store.grant_role(name, role, actor="bootstrap")
        tokens[role], _ = create_token(name, actor="bootstrap", store=store)
    return tokens


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A server with auth on (the default) and accounts viewer-user ... admin-user."""
    home = tmp_path / "server-home"
    workspace = Workspace(load_settings(home=home, env={}))
    store = workspace.store
    assert isinstance(store, SqlStore)
    tokens = _accounts(store)
    with running_server(workspace) as url:
        yield Served(url, store, workspace, tokens)
    workspace.close()
