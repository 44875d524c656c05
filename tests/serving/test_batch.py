"""Batch scoring: correctness, inputs, the signature check, resume after a kill, lineage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

import loopml
from loopml.errors import Conflict, InvalidInput
from loopml.lineage import Relation, upstream
from loopml.models import load_model, save_model
from loopml.serving import score_batch
from loopml.serving._batch_input import chunk_key, iter_chunks, open_input
from loopml.workspace import Workspace, use_workspace
from tests.serving.batch_models import GatedDoubler

ROOT = Path(__file__).parents[2]
FEATURES = ["amount", "hour", "segment"]


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype="int64"),
            "amount": rng.gamma(2.0, 30.0, n),
            "hour": rng.integers(0, 24, n),
            "segment": rng.integers(0, 3, n).astype("float64"),
        }
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(home=tmp_path / "home", env={}, cwd=tmp_path, user="ana")
    with ws, use_workspace(ws):
        yield ws


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    frame = _frame(400, seed=1)
    labels = (frame["amount"] + 3 * frame["hour"] > 90).astype(int)
    model = LogisticRegression(max_iter=500).fit(frame[FEATURES], labels)
    save_model(model, tmp_path / "model", input_example=frame[FEATURES].head())
    return tmp_path / "model"


def _expected(model_dir: Path, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    model = load_model(model_dir)
    return model.predict(frame[FEATURES]), model.predict_proba(frame[FEATURES])


def test_parquet_output_equals_predict_on_the_same_rows(
    workspace: Workspace, model_dir: Path, tmp_path: Path
) -> None:
    frame = _frame(2_000)
    frame.to_parquet(tmp_path / "in.parquet", row_group_size=450)
    result = score_batch(
        model_dir, tmp_path / "in.parquet", tmp_path / "out.parquet", chunk_rows=333, proba=True
    )
    out = pd.read_parquet(tmp_path / "out.parquet")
    labels, probs = _expected(model_dir, frame)
    assert result.rows == 2_000 and result.chunks == 7 and result.skipped_chunks == 0
    assert list(out.columns) == [
        *frame.columns,
        "prediction",
        "prediction_proba_0",
        "prediction_proba_1",
    ]
    pd.testing.assert_frame_equal(out[frame.columns], frame)
    assert (out["prediction"].to_numpy() == labels).all()
    np.testing.assert_allclose(out[["prediction_proba_0", "prediction_proba_1"]], probs)
    assert not (tmp_path / "out.parquet.parts").exists()  # the work folder is gone


def test_csv_input_with_kept_columns(workspace: Workspace, model_dir: Path, tmp_path: Path) -> None:
    frame = _frame(700)
    frame.to_csv(tmp_path / "in.csv", index=False)
    score_batch(
        model_dir, tmp_path / "in.csv", tmp_path / "out.parquet", chunk_rows=100, keep=["id"]
    )
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns) == ["id", "prediction"]
    assert out["id"].tolist() == list(range(700))
    assert (out["prediction"].to_numpy() == _expected(model_dir, frame)[0]).all()


def test_folder_of_parquet_and_csv_files(
    workspace: Workspace, model_dir: Path, tmp_path: Path
) -> None:
    frame = _frame(900)
    folder = tmp_path / "in"
    folder.mkdir()
    frame.iloc[:300].to_parquet(folder / "a.parquet")
    frame.iloc[300:650].to_csv(folder / "b.csv", index=False)
    frame.iloc[650:].to_parquet(folder / "c.parquet")
    result = score_batch(model_dir, folder, tmp_path / "out.parquet", chunk_rows=128)
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert result.rows == 900
    assert out["id"].tolist() == list(range(900))  # files in name order, rows in file order
    assert (out["prediction"].to_numpy() == _expected(model_dir, frame)[0]).all()


def test_dataset_version_input_records_lineage(
    workspace: Workspace, model_dir: Path, tmp_path: Path
) -> None:
    from loopml.registry import register_model, set_alias

    frame = _frame(500)
    frame.to_parquet(tmp_path / "tx.parquet")
    version = loopml.data.commit("tx", tmp_path / "tx.parquet", message="to score")
    registered = register_model("scorer", model_dir)
    set_alias("scorer", "champion", registered.number)
    result = score_batch("models:/scorer@champion", "tx@main", tmp_path / "out.parquet")
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert (out["prediction"].to_numpy() == _expected(model_dir, frame)[0]).all()
    assert result.dataset_version == f"dataset_version:{version.id}"
    assert result.run_id is not None
    edges = {
        (str(n.edge.src), n.edge.relation)
        for n in upstream(f"artifact:{result.output_digest}", store=workspace.store)
    }
    assert (f"run:{result.run_id}", Relation.PRODUCED) in edges
    assert (f"dataset_version:{version.id}", Relation.INPUT) in edges
    assert (f"model_version:{registered.id}", Relation.SCORED) in edges
    run = workspace.store.get_run(result.run_id)
    assert run.params["model_digest"] == result.model_digest
    assert run.params["input"] == "tx@main"
    stored = workspace.store.list_run_artifacts(result.run_id)
    assert [a.digest for a in stored] == [result.output_digest]
    assert workspace.artifacts.get(result.output_digest) == (tmp_path / "out.parquet").read_bytes()


@pytest.mark.parametrize(
    ("column", "values", "problem"),
    [
        ("hour", None, "'hour' (int64) is missing"),
        ("amount", ["a few"] * 5, "the model takes float64"),
        ("hour", [1.5] * 5, "'hour' is double, the model takes int64"),
    ],
)
def test_signature_mismatch_is_refused_before_anything_is_written(
    workspace: Workspace, model_dir: Path, tmp_path: Path, column, values, problem
) -> None:
    frame = _frame(5)
    if values is None:
        frame = frame.drop(columns=[column])
    else:
        frame[column] = values
    frame.to_parquet(tmp_path / "in.parquet")
    with pytest.raises(InvalidInput, match="does not fit the model's signature") as caught:
        score_batch(model_dir, tmp_path / "in.parquet", tmp_path / "out.parquet")
    assert caught.value.fields["columns"] == [column]
    assert problem in str(caught.value)
    assert not {"out.parquet", "out.parquet.parts"} & {p.name for p in tmp_path.iterdir()}


def test_csv_value_that_is_no_number_is_named(
    workspace: Workspace, model_dir: Path, tmp_path: Path
) -> None:
    frame = _frame(50).astype({"amount": "object"})
    frame.loc[40, "amount"] = "lots"
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(InvalidInput, match=r"in\.csv") as caught:
        score_batch(model_dir, tmp_path / "in.csv", tmp_path / "out.parquet", chunk_rows=10)
    assert "lots" in str(caught.value) or "amount" in str(caught.value)
    assert not (tmp_path / "out.parquet").exists()


def _gated(tmp_path: Path, *, after: int, mode: str) -> tuple[Path, Path, Path]:
    log, gate = tmp_path / "calls.log", tmp_path / "gate"
    gate.touch()
    frame = pd.DataFrame({"id": np.arange(500), "x": np.arange(500, dtype="float64")})
    frame.to_parquet(tmp_path / "in.parquet", row_group_size=120)
    save_model(
        GatedDoubler(str(log), str(gate), after, mode),
        tmp_path / "gated",
        input_example=frame[["x"]].head(),
    )
    log.unlink(missing_ok=True)  # save_model's signature probe called predict once
    return tmp_path / "gated", log, gate


def _check_complete(path: Path, rows: int) -> None:
    out = pd.read_parquet(path)
    assert out["id"].tolist() == list(range(rows))  # every row once, in order
    assert (out["prediction"].to_numpy() == 2 * out["x"].to_numpy()).all()


def test_killed_job_resumes_without_redoing_finished_chunks(tmp_path: Path) -> None:
    model, log, gate = _gated(tmp_path, after=3, mode="block")
    args = [
        sys.executable, "-m", "loopml", "--home", str(tmp_path / "home"), "batch", str(model),
        "--input", str(tmp_path / "in.parquet"), "--output", str(tmp_path / "out.parquet"),
        "--chunk-rows", "50", "--json",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    journal = tmp_path / "out.parquet.parts" / "journal.jsonl"
    proc = subprocess.Popen(
        args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while "blocked" not in (log.read_text() if log.exists() else ""):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the job never reached its fourth chunk"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert len(journal.read_text().splitlines()) == 3
    assert not (tmp_path / "out.parquet").exists()

    gate.unlink()
    done = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["chunks"], result["skipped_chunks"], result["scored_chunks"]) == (10, 3, 7)
    _check_complete(tmp_path / "out.parquet", 500)
    calls = log.read_text().split()
    # the first run scored chunks 0, 50 and 100 and blocked on 150; the second starts there
    assert calls[:5] == ["0", "50", "100", "blocked", "150"]
    assert calls[5:] == [str(x) for x in range(150, 500, 50)]
    assert not (tmp_path / "out.parquet.parts").exists()


def test_failed_job_resumes_and_a_stale_work_folder_is_refused(
    workspace: Workspace, tmp_path: Path
) -> None:
    model, log, gate = _gated(tmp_path, after=2, mode="raise")
    target = tmp_path / "out.parquet"
    with pytest.raises(InvalidInput, match="the model failed on chunk f00000-c0000002"):
        score_batch(model, tmp_path / "in.parquet", target, chunk_rows=50)
    assert not target.exists()
    other = save_model(GatedDoubler(str(log), str(gate), 99), tmp_path / "other").path
    # another model, or other chunking, must not mix with the two finished chunks
    with pytest.raises(Conflict, match="--restart") as caught:
        score_batch(other, tmp_path / "in.parquet", target, chunk_rows=50)
    assert caught.value.fields["differ"] == ["model_digest"]
    with pytest.raises(Conflict, match="chunk_rows"):
        score_batch(model, tmp_path / "in.parquet", target, chunk_rows=60)
    gate.unlink()
    result = score_batch(model, tmp_path / "in.parquet", target, chunk_rows=50)
    assert (result.skipped_chunks, result.scored_chunks) == (2, 8)
    _check_complete(target, 500)
    assert log.read_text().split() == [str(x) for x in (0, 50, *range(100, 500, 50))]
    first_run = workspace.store.get_run(result.run_id)
    assert first_run.status.value == "FINISHED"  # the interrupted run was resumed and ended


def test_restart_discards_finished_chunks(workspace: Workspace, tmp_path: Path) -> None:
    model, log, gate = _gated(tmp_path, after=2, mode="raise")
    target = tmp_path / "out.parquet"
    with pytest.raises(InvalidInput):
        score_batch(model, tmp_path / "in.parquet", target, chunk_rows=50)
    gate.unlink()
    result = score_batch(model, tmp_path / "in.parquet", target, chunk_rows=100, restart=True)
    assert (result.skipped_chunks, result.scored_chunks) == (0, 5)
    _check_complete(target, 500)


def test_two_worker_processes(workspace: Workspace, model_dir: Path, tmp_path: Path) -> None:
    frame = _frame(1_200)
    frame.to_parquet(tmp_path / "in.parquet", row_group_size=500)
    result = score_batch(
        model_dir, tmp_path / "in.parquet", tmp_path / "out.parquet", chunk_rows=150, workers=2
    )
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert result.chunks == 8
    assert out["id"].tolist() == list(range(1_200))
    assert (out["prediction"].to_numpy() == _expected(model_dir, frame)[0]).all()


@pytest.mark.dask
def test_dask_executor(workspace: Workspace, model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    frame = _frame(800)
    frame.to_csv(tmp_path / "in.csv", index=False)
    result = score_batch(
        model_dir,
        tmp_path / "in.csv",
        tmp_path / "out.parquet",
        chunk_rows=200,
        executor="dask",  # one worker process: a cluster of two costs seconds on 2 CPUs
        proba=True,
    )
    out = pd.read_parquet(tmp_path / "out.parquet")
    labels, probs = _expected(model_dir, frame)
    assert result.rows == 800
    assert (out["prediction"].to_numpy() == labels).all()
    np.testing.assert_allclose(out[["prediction_proba_0", "prediction_proba_1"]], probs)


def test_unknown_input_and_bad_options(
    workspace: Workspace, model_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="no file, folder or dataset version"):
        score_batch(model_dir, "nothing@main", tmp_path / "out.parquet")
    _frame(10).to_parquet(tmp_path / "in.parquet")
    with pytest.raises(InvalidInput, match="unknown batch executor"):
        score_batch(model_dir, tmp_path / "in.parquet", tmp_path / "o.parquet", executor="ray")
    with pytest.raises(InvalidInput, match="lacks column"):
        score_batch(model_dir, tmp_path / "in.parquet", tmp_path / "o.parquet", keep=["nope"])
    with pytest.raises(InvalidInput, match="exists in the input already"):
        score_batch(
            model_dir, tmp_path / "in.parquet", tmp_path / "o.parquet", prediction_column="id"
        )


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(0, 300),
    group=st.integers(1, 120),
    chunk=st.integers(1, 90),
    done_mask=st.integers(0, 2**12),
)
def test_chunks_cover_every_row_once(
    tmp_path_factory: pytest.TempPathFactory, rows: int, group: int, chunk: int, done_mask: int
) -> None:
    folder = tmp_path_factory.mktemp("chunks")
    table = pa.table({"id": pa.array(range(rows), pa.int64())})
    pq.write_table(table, folder / "a.parquet", row_group_size=group)
    pd.DataFrame({"id": range(rows)}).to_csv(folder / "b.csv", index=False)
    batch_input = open_input(folder, workspace=None)  # type: ignore[arg-type]
    n = -(-rows // chunk)
    done = {chunk_key(f, i) for f in (0, 1) for i in range(n) if done_mask >> (i % 12) & 1}
    seen: dict[str, list[int]] = {}
    for c in iter_chunks(batch_input, chunk, done=done, types={}):
        assert c.key not in done and c.key not in seen
        seen[c.key] = c.table.column("id").to_pylist()
    for f in (0, 1):
        for i in range(n):
            key = chunk_key(f, i)
            assert (key in done) != (key in seen)
            if key in seen:
                assert seen[key] == list(range(i * chunk, min((i + 1) * chunk, rows)))
