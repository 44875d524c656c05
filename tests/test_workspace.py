"""The Workspace: one home governs everything, nothing leaks into the working directory."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import loopml
from loopml.config import load_settings
from loopml.errors import ConfigError, HomeNotFound
from loopml.store.sql import SqlStore
from loopml.workspace import Workspace, current_workspace, use_workspace, workspace_for_spec
from tests.fixtures.cli import Cli

TOML = 'user = "dana"\nroles = "approver"\n'


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _model_dir(tmp_path: Path) -> Path:
    from sklearn.linear_model import LogisticRegression

    from loopml.datasets import generate_transactions
    from loopml.models import save_model

    frame = generate_transactions(start="2026-10-01", days=3, rows_per_day=100, seed=3)
    X = frame[["amount", "hour", "customer_age"]]
    model = LogisticRegression(max_iter=200).fit(X, frame["is_fraud"])
    frame.to_csv(tmp_path / "eval.csv", index=False)
    return save_model(model, tmp_path / "model", input_example=X.head()).path


def test_home_elsewhere_writes_nothing_to_the_working_directory(cli: Cli, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    model = _model_dir(work)
    (work / "loopml.toml").write_text(TOML)
    before = _files(work)
    h = ("--home", str(home))
    assert cli(*h, "data", "commit", "tx", "eval.csv", cwd=work).returncode == 0
    assert cli(*h, "models", "register", "fraud", str(model), cwd=work).returncode == 0
    done = cli(
        *h,
        "evaluate",
        "models:/fraud/1",
        "--data",
        "eval.csv",
        "--target",
        "is_fraud",
        "--no-infra",
        cwd=work,
    )
    assert done.returncode == 0, done.stderr
    for args in (
        ("runs", "list"),
        ("models", "list"),
        ("data", "log", "tx"),
        ("lineage", "show", "model_version:1"),
    ):
        assert cli(*h, *args, cwd=work).returncode in (0, 2)
    assert _files(work) == before  # no ./.loopml, no ./.loopml/cache/models
    assert (home / "cache" / "models").is_dir()  # the model cache followed --home
    log = cli(*h, "data", "log", "tx", "--json", cwd=work)
    assert '"author": "dana"' in log.stdout  # the loopml.toml user authors data commits
    models = cli(*h, "models", "versions", "fraud", "--json", cwd=work)
    assert '"created_by": "dana"' in models.stdout  # ... and registry actions


def test_read_only_command_on_a_missing_home_says_so(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    for args in (
        ("runs", "list"),
        ("models", "list"),
        ("data", "log", "tx"),
        ("pipeline", "list"),
        ("lineage", "show", "run:x"),
    ):
        done = cli("--home", str(missing), *args)
        assert done.returncode == 2, (args, done.stderr)
        assert "loopml home" in done.stderr and "not found" in done.stderr
        assert "Traceback" not in done.stderr
    assert not missing.exists()


def test_empty_home_is_refused(cli: Cli, tmp_path: Path) -> None:
    done = cli("--home", "", "runs", "list")
    assert done.returncode == 2
    assert "home folder is empty" in done.stderr
    assert not (tmp_path / ".loopml").exists()
    with pytest.raises(ConfigError):
        Workspace.open(home="")


def test_workspace_pickles_as_its_spec_and_reopens_once_per_process(tmp_path: Path) -> None:
    ws = Workspace.open(home=tmp_path / "h", env={}, cwd=tmp_path, user="erin")
    copy = pickle.loads(pickle.dumps(ws))
    assert copy.home == ws.home and copy.actor.name == "erin"
    assert copy.settings.db_url == ws.settings.db_url
    assert pickle.loads(pickle.dumps(ws)) is copy  # one opened workspace per spec
    assert workspace_for_spec(ws.spec()) is copy
    assert "home" in ws.spec()["settings"]  # JSON-able, no handles
    copy.close()


def test_current_workspace_is_per_context(tmp_path: Path) -> None:
    a = Workspace.open(home=tmp_path / "a", env={}, cwd=tmp_path)
    b = Workspace.open(home=tmp_path / "b", env={}, cwd=tmp_path)
    seen: dict[str, Path] = {}

    def other() -> None:
        with use_workspace(b):
            seen["thread"] = current_workspace().home

    with use_workspace(a):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        seen["main"] = current_workspace().home
    assert seen == {"thread": tmp_path / "b", "main": tmp_path / "a"}


def test_read_only_workspace_does_not_create_the_home(tmp_path: Path) -> None:
    ws = Workspace.open(home=tmp_path / "none", env={}, cwd=tmp_path, create=False)
    with pytest.raises(HomeNotFound):
        _ = ws.store
    assert not (tmp_path / "none").exists()


def test_sdk_calls_follow_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    ws = Workspace.open(home=tmp_path / "sdk", env={}, cwd=tmp_path, user="fay")
    with use_workspace(ws):
        version = loopml.data.commit("x", tmp_path / "x.csv")
        with loopml.start_run(name="r") as run:
            run.log_metric("m", 1.0)
    ws.close()
    with SqlStore(f"sqlite:///{tmp_path / 'sdk' / 'loopml.db'}") as store:
        assert store.get_version(version.id).author == "fay"
        assert store.get_run(run.id).name == "r"
    assert not (tmp_path / ".loopml").exists()


@pytest.fixture
def dask_executor() -> Iterator[object]:
    pytest.importorskip("distributed")
    from loopml.pipelines import DaskExecutor

    executor = DaskExecutor(n_workers=1)
    try:
        yield executor
    finally:
        executor.close()


@pytest.mark.dask
def test_dask_pipeline_in_a_non_default_home(tmp_path: Path, dask_executor: object) -> None:
    from loopml.pipelines import run_pipeline
    from tests.pipelines import steps

    home = tmp_path / "elsewhere"
    ws = Workspace(load_settings(cwd=tmp_path, env={}, home=home, user="gil"))
    result = run_pipeline(
        steps.ambient,
        {"n": 4, "folder": str(tmp_path / "out")},
        executor=dask_executor,  # type: ignore[arg-type]
        workspace=ws,
    )
    assert result.ok
    runs = ws.store.list_runs(limit=10)
    assert [r.name for r in runs] == ["inside-step"]
    assert ws.store.get_dataset("step-data").name == "step-data"
    versions = ws.store.list_versions(ws.store.get_dataset("step-data").id)
    assert [v.author for v in versions] == ["gil"]
    assert not (tmp_path / ".loopml").exists()
    ws.close()


def test_file_commands_need_no_existing_home(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4\n")
    inferred = cli("data", "schema", "infer", "t.csv")
    assert inferred.returncode == 0, inferred.stderr
    (tmp_path / "s.yaml").write_text(inferred.stdout)
    done = cli("data", "validate", "t.csv", "--schema", "s.yaml")
    assert done.returncode == 0, done.stderr


def test_exists_follows_a_configured_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere.db"
    ws = Workspace.open(home=tmp_path / "h", env={}, cwd=tmp_path, db_url=f"sqlite:///{db}")
    assert not ws.exists()
    SqlStore(f"sqlite:///{db}").close()
    assert ws.exists()  # the home folder itself has no loopml.db, the configured file counts
