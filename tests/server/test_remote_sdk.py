"""Every SDK call and CLI command unchanged against a server: LOOPML_SERVER_URL and
LOOPML_TOKEN make the metadata store a RestStore (the README example, a data commit,
registry actions through the CLI)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loopml.config import load_settings
from loopml.store import open_store
from loopml.store.rest import RestStore
from tests.fixtures.cli import Cli
from tests.server.conftest import Served

README = Path(__file__).parents[2] / "README.md"


def _readme_example() -> str:
    text = README.read_text()
    match = re.search(r"```python\n(.*?)```", text, re.S)
    assert match is not None
    return match.group(1)


def _env(served: Served, tmp_path: Path, role: str = "scientist") -> dict[str, str]:
    return {
        "LOOPML_SERVER_URL": served.url,
        "LOOPML_TOKEN": served.tokens[role],
        "LOOPML_USER": f"{role}-user",
        "LOOPML_HOME": str(tmp_path / "client-home"),
    }


def test_the_settings_select_a_rest_store(tmp_path: Path) -> None:
    settings = load_settings(
        env={"LOOPML_SERVER_URL": "http://127.0.0.1:5000", "LOOPML_TOKEN": "secret"},
        home=tmp_path,
    )
    store = open_store(settings)
    assert isinstance(store, RestStore) and store.url == "http://127.0.0.1:5000"
    store.close()
    shown = {name: value for name, value, _ in settings.describe()}
    assert shown["token"] == "****" and not settings.is_embedded


def test_the_readme_example_runs_against_the_server(served: Served, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(_readme_example())
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("LOOPML_")}
    env.update(_env(served, tmp_path))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "dataset_version:" in done.stdout
    runs = served.store.list_runs()
    assert [r.name for r in runs] == ["baseline"]
    assert served.store.get_run(runs[0].id).params == {"C": "1.0"}
    dataset = served.store.get_dataset("transactions")
    assert [v.author for v in served.store.list_versions(dataset.id)] == ["scientist-user"]


@pytest.mark.usefixtures("served")
def test_cli_data_runs_and_registry_through_the_server(
    served: Served, tmp_path: Path, cli: Cli
) -> None:
    env = _env(served, tmp_path)
    (tmp_path / "tx.csv").write_text("a,b\n1,2\n3,4\n")
    done = cli("data", "commit", "tx", str(tmp_path / "tx.csv"), "-m", "first", env=env)
    assert done.returncode == 0, done.stderr
    assert served.store.get_dataset("tx").name == "tx"
    script = (
        "import loopml\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "with loopml.start_run(name='remote') as run:\n"
        "    run.log_metric('acc', 0.5)\n"
        "    model = LogisticRegression().fit([[0], [1]], [0, 1])\n"
        "    run.log_model(model, 'm')\n"
        "print(run.id)\n"
    )
    (tmp_path / "train.py").write_text(script)
    import os

    full = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")} | env
    trained = subprocess.run(
        [sys.executable, "train.py"],
        cwd=tmp_path,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert trained.returncode == 0, trained.stderr
    run_id = trained.stdout.strip().splitlines()[-1]
    listed = cli("runs", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert run_id in listed.stdout
    registered = cli("models", "register", "fraud", f"runs:/{run_id}/m", env=env)
    assert registered.returncode == 0, registered.stderr
    engineer = _env(served, tmp_path, "engineer")
    moved = cli("models", "alias", "fraud", "staging", "1", env=engineer)
    assert moved.returncode == 0, moved.stderr
    assert served.store.get_alias("fraud", "staging").number == 1
    viewer = _env(served, tmp_path, "viewer")
    refused = cli("models", "alias", "fraud", "prod", "1", env=viewer)
    assert refused.returncode == 2 and "models.promote" in refused.stderr
    history = served.store.alias_history("fraud", "staging")
    assert [m.actor for m in history] == ["engineer-user"]
    assert json.loads(listed.stdout)
    admin = _env(served, tmp_path, "admin")
    anonymous = {k: v for k, v in admin.items() if k != "LOOPML_USER"}  # the token says who
    made = cli("tokens", "create", "scientist-user", "--name", "ci", "--json", env=anonymous)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["user"] == "scientist-user"
