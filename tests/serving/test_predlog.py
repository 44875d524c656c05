"""The prediction log: every record readable after close, bounded loss on SIGKILL, none on
SIGTERM, back-pressure and shedding counted, segments rolled by rows and by time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import loopml
from loopml.errors import InvalidInput, Overloaded
from loopml.ids import ObjectRef
from loopml.serving import PredictionLog, PredictionRecord, read_predictions
from loopml.serving._spool import spool_dir, spool_files

SRC = Path(loopml.__file__).parent.parent
CHILD = Path(__file__).with_name("predlog_child.py")


def record(pid: str, rows: int = 1, *, model: str = "fraud", **changes: object) -> PredictionRecord:
    values: dict[str, object] = {
        "prediction_id": pid,
        "time_ms": int(time.time() * 1000),
        "model": model,
        "version": None,
        "deployment": None,
        "arm": None,
        "inputs": {"x": np.arange(rows, dtype=np.float64), "tag": np.array(["t"] * rows, object)},
        "outputs": {"predict": np.arange(rows) % 2, "proba": np.full((rows, 2), 0.5)},
        "latency_ms": 1.25,
    }
    values.update(changes)
    return PredictionRecord(**values)  # type: ignore[arg-type]


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[loopml.Workspace]:
    with loopml.Workspace.open(home=tmp_path / "home") as workspace:
        yield workspace


def test_every_record_is_readable_after_close(ws: loopml.Workspace) -> None:
    log = PredictionLog(ws, flush_interval_s=0.05)
    log.start()
    for n in range(300):
        log.append(record(f"p{n}", rows=1 + n % 3))
    log.close()
    log.close()  # idempotent
    frame = read_predictions(workspace=ws)
    assert len(frame) == sum(1 + n % 3 for n in range(300))
    assert set(frame["prediction_id"]) == {f"p{n}" for n in range(300)}
    assert not frame.duplicated(["prediction_id", "row"]).any()
    two = frame[frame["prediction_id"] == "p2"]
    assert list(two["row"]) == [0, 1, 2] and list(two["in.x"]) == [0.0, 1.0, 2.0]
    assert [list(v) for v in two["out.proba"]] == [[0.5, 0.5]] * 3
    assert log.stats["dropped"] == 0 and log.stats["written"] == 300
    assert log.stats["sealed_rows"] == len(frame) and spool_files(spool_dir(ws.home)) == []
    with pytest.raises(InvalidInput):
        log.append(record("late"))


def test_a_log_never_started_still_writes_on_close(ws: loopml.Workspace) -> None:
    log = PredictionLog(ws)
    log.append(record("only"))
    log.close()
    assert list(read_predictions(workspace=ws)["prediction_id"]) == ["only"]


def test_bad_records_are_refused_at_append(ws: loopml.Workspace) -> None:
    log = PredictionLog(ws)
    with pytest.raises(InvalidInput, match="3 rows, expected 2"):
        log.append(record("p", rows=2, outputs={"predict": np.zeros(3)}))
    with pytest.raises(InvalidInput, match="prediction id"):
        log.append(record("x" * 129))
    with pytest.raises(InvalidInput, match="when_full"):
        PredictionLog(ws, when_full="drop")  # type: ignore[arg-type]
    log.close()


def test_segments_roll_by_rows(ws: loopml.Workspace) -> None:
    log = PredictionLog(ws, segment_max_rows=10)
    log.start()
    for n in range(12):
        log.append(record(f"p{n}", rows=2))  # 24 rows: 10 + 10 + 4
    log.close()
    segments = ws.store.list_prediction_segments(model="fraud")
    assert [s.rows for s in segments] == [10, 10, 4]
    # p4 (rows 8, 9) sits in the first; p5's rows fill the second from its start
    assert ws.store.find_predictions(["p4"]) == {"p4": [segments[0].id]}


def test_segments_roll_by_time(ws: loopml.Workspace) -> None:
    log = PredictionLog(ws, flush_interval_s=0.02, segment_max_age_s=0.05)
    log.start()
    log.append(record("early"))
    log.flush()
    deadline = time.monotonic() + 30
    while log.stats["segments"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    log.append(record("later"))
    log.close()
    segments = ws.store.list_prediction_segments()
    assert len(segments) == 2
    assert [ws.store.find_predictions([p]) for p in ("early", "later")] == [
        {"early": [segments[0].id]},
        {"later": [segments[1].id]},
    ]


def test_groups_and_lineage_to_the_model_version(ws: loopml.Workspace) -> None:
    ws.store.create_model("fraud", actor="ana")
    version = ws.store.create_model_version(
        "fraud",
        actor="ana",
        semver="1.0.0",
        manifest_digest="a" * 64,
        payload_digest="a" * 64,
        flavor="sklearn",
        model_class="m",
    )
    log = PredictionLog(ws)
    log.append(record("v1", version=1, deployment="web", arm="stable"))
    log.append(record("churn", model="churn"))
    log.close()
    by_model = {s.model: s for s in ws.store.list_prediction_segments()}
    assert (by_model["fraud"].version, by_model["fraud"].deployment) == (1, "web")
    edges = [n.edge for n in ws.store.downstream(ObjectRef("model_version", version.id))]
    assert [(e.relation, e.dst.id) for e in edges] == [("logged", by_model["fraud"].id)]
    frame = read_predictions("fraud", deployment="web", workspace=ws)
    assert list(frame["arm"]) == ["stable"] and list(frame["version"]) == [1]


def test_shed_refuses_with_overloaded_and_counts(ws: loopml.Workspace) -> None:
    log = PredictionLog(ws, max_queue=3, when_full="shed")  # not started: nothing drains
    for n in range(3):
        log.append(record(f"p{n}"))
    with pytest.raises(Overloaded) as caught:
        log.append(record("p3"))
    assert caught.value.retry_after_s >= 1
    assert (log.stats["shed"], log.stats["appended"], log.stats["dropped"]) == (1, 3, 0)
    log.close()
    assert sorted(read_predictions(workspace=ws)["prediction_id"]) == ["p0", "p1", "p2"]


def test_block_applies_back_pressure_then_overloaded(ws: loopml.Workspace) -> None:
    log = PredictionLog(ws, max_queue=2, when_full="block")
    log.append(record("p0"))
    log.append(record("p1"))
    with pytest.raises(Overloaded, match="stayed full"):
        log.append(record("p2"), timeout_s=0.01)
    assert log.stats["timed_out"] == 1
    # A blocked append goes through once the writer makes room.
    done = threading.Event()

    def blocked_append() -> None:
        log.append(record("p3"))
        done.set()

    thread = threading.Thread(target=blocked_append)
    thread.start()
    assert not done.wait(0.05)  # waiting for room
    log.start()
    thread.join(30)
    assert done.is_set() and log.stats["blocked"] == 2
    log.close()
    assert sorted(read_predictions(workspace=ws)["prediction_id"]) == ["p0", "p1", "p3"]


def _child(home: Path, count_file: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(home), str(count_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "A"
    return proc


def _finish(proc: subprocess.Popen[str]) -> int:
    code = proc.wait(60)
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()
    return code


def test_sigkill_loses_at_most_the_flush_window(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = _child(home, tmp_path / "count")
    # the a-* records get older than the flush interval (0.2 s) many times over, and are
    # spooled: waited for, not assumed, since a loaded machine can starve the flusher
    deadline = time.monotonic() + 30
    while not spool_files(spool_dir(home)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    _finish(proc)
    with loopml.Workspace.open(home=home) as ws:
        assert spool_files(spool_dir(ws.home))  # the killed process sealed nothing of it
        recovering = PredictionLog(ws)
        recovering.start()
        recovering.close()
        assert recovering.stats["recovered_segments"] >= 1
        assert spool_files(spool_dir(ws.home)) == []
        frame = read_predictions(workspace=ws)
    ids = set(frame["prediction_id"])
    assert {f"a-{n}" for n in range(200)} <= ids
    assert not frame.duplicated(["prediction_id", "row"]).any()
    # whatever of the b-* records survived is whole: both rows of each
    b = frame[frame["prediction_id"].str.startswith("b-")]
    assert (b.groupby("prediction_id").size() == 2).all()


def test_sigterm_loses_nothing(tmp_path: Path) -> None:
    home, count_file = tmp_path / "home", tmp_path / "count"
    proc = _child(home, count_file)
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert _finish(proc) == 0
    appended = int(count_file.read_text())
    with loopml.Workspace.open(home=home) as ws:
        assert spool_files(spool_dir(ws.home)) == []
        frame = read_predictions(workspace=ws)
    assert frame["prediction_id"].nunique() == appended > 200


def test_a_crash_after_indexing_does_not_index_twice(ws: loopml.Workspace) -> None:
    from loopml.serving._records import records_table, shape_key
    from loopml.serving._segments import Sealer
    from loopml.serving._spool import SpoolFile

    records = [record("p0"), record("p1")]
    key = shape_key(records[0])
    table = records_table(records, key)
    spool = SpoolFile(spool_dir(ws.home), "f" * 32, key, table.schema)
    spool.append(table)
    spool.finish()
    Sealer(ws).seal(spool.segment_id, key[0], table)  # indexed, then "killed" before delete
    spool.release()
    log = PredictionLog(ws)
    log.start()
    log.close()
    assert [s.id for s in ws.store.list_prediction_segments()] == ["f" * 32]
    assert spool_files(spool_dir(ws.home)) == []
    assert sorted(read_predictions(workspace=ws)["prediction_id"]) == ["p0", "p1"]


def test_a_truncated_spool_keeps_its_complete_batches(ws: loopml.Workspace) -> None:
    from loopml.serving._records import records_table, shape_key
    from loopml.serving._spool import SpoolFile

    key = shape_key(record("x"))
    spool = SpoolFile(spool_dir(ws.home), "e" * 32, key, records_table([record("x")], key).schema)
    spool.append(records_table([record("whole")], key))
    spool.append(records_table([record("cut")], key))
    spool.release()
    size = spool.path.stat().st_size
    with spool.path.open("r+b") as handle:  # a SIGKILL in the middle of the last batch
        handle.truncate(size - 40)
    log = PredictionLog(ws)
    log.start()
    log.close()
    assert list(read_predictions(workspace=ws)["prediction_id"]) == ["whole"]


def test_closing_the_workspace_closes_its_logs(tmp_path: Path) -> None:
    ws = loopml.Workspace.open(home=tmp_path / "home")
    log = PredictionLog(ws, flush_interval_s=3600)
    log.start()
    log.append(record("p"))
    ws.close()
    with loopml.Workspace.open(home=tmp_path / "home") as again:
        assert list(read_predictions(workspace=again)["prediction_id"]) == ["p"]


def test_a_batch_record_reads_back_as_its_requests(ws: loopml.Workspace) -> None:
    from loopml.serving import BatchRecord

    plog = PredictionLog(ws)
    plog.start()
    now = int(time.time() * 1000)
    plog.append(
        BatchRecord(
            prediction_ids=("a", "b", "c"),
            counts=(1, 3, 2),
            time_ms=(now, now + 1, now + 2),
            latency_ms=(1.0, 2.0, 3.0),
            model="fraud",
            version=None,
            deployment=None,
            arm=None,
            inputs={"x": np.arange(6, dtype=np.float64)},
            outputs={"predict": np.arange(6) % 2},
        )
    )
    plog.append(record("d", 2))
    plog.close()
    assert plog.stats["appended"] == 4 and plog.stats["appended_rows"] == 8
    frame = read_predictions("fraud", workspace=ws, with_feedback=False)
    batch = frame[frame["prediction_id"] != "d"]
    assert batch["prediction_id"].tolist() == ["a", "b", "b", "b", "c", "c"]
    assert batch["row"].tolist() == [0, 0, 1, 2, 0, 1]
    assert batch["in.x"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert batch["latency_ms"].tolist() == [1.0, 2.0, 2.0, 2.0, 3.0, 3.0]
    assert frame[frame["prediction_id"] == "d"]["row"].tolist() == [0, 1]


def test_a_batch_record_whose_parts_disagree_is_refused(ws: loopml.Workspace) -> None:
    from loopml.serving import BatchRecord

    plog = PredictionLog(ws)
    bad = BatchRecord(("a", "b"), (1, 1), (0, 0), (1.0,), "m", None, None, None, {}, {})
    with pytest.raises(InvalidInput, match="one count, time and latency"):
        plog.append(bad)
    short = BatchRecord(("a",), (2,), (0,), (1.0,), "m", None, None, None, {"x": np.zeros(1)}, {})
    with pytest.raises(InvalidInput, match="has 1 rows, the requests have 2"):
        plog.append(short)
    plog.close()


def _wide_batch(ids: tuple[str, ...], rng: np.random.Generator, **changes: object) -> object:
    from loopml.serving import BatchRecord

    n = len(ids)
    values: dict[str, object] = {
        "prediction_ids": ids,
        "counts": (1,) * n,
        "time_ms": tuple(range(n)),
        "latency_ms": tuple(float(i) for i in range(n)),
        "model": "wide",
        "version": 3,
        "deployment": "dep",
        "arm": "stable",
        "inputs": {f"f{i}": rng.normal(size=n) for i in range(30)},
        "outputs": {"predict": rng.integers(0, 2, n), "predict_proba": rng.random((n, 2))},
    }
    values.update(changes)
    return BatchRecord(**values)  # type: ignore[arg-type]


def test_a_flush_of_wide_records_equals_each_record_alone() -> None:
    from loopml.serving._records import group_tables, records_table, shape_key

    rng = np.random.default_rng(7)
    records = [_wide_batch((f"a{i}", f"b{i}"), rng) for i in range(50)]
    records.append(_wide_batch(("c",), rng, arm="canary"))
    records.append(record("err", model="wide", error="model", outputs={}))
    tables = group_tables(records)  # type: ignore[arg-type]
    assert len(tables) == 2  # the error record is of another version and layout
    key, members, table = tables[0]
    assert members == records[:51] and key == shape_key(records[0])  # type: ignore[arg-type]
    alone = [records_table([r], shape_key(r)) for r in members]  # type: ignore[list-item,arg-type]
    import pyarrow as pa

    assert table.equals(pa.concat_tables(alone))
    assert table.column("arm").to_pylist()[-3:] == ["stable", "stable", "canary"]
    assert table.column("in.f29").to_pylist()[:2] == records[0].inputs["f29"].tolist()  # type: ignore[attr-defined]


def test_a_group_mixing_dtypes_is_split_as_by_its_exact_layout() -> None:
    from loopml.serving._records import group_tables, shape_key

    rng = np.random.default_rng(8)
    floats = _wide_batch(("f",), rng)
    ints = _wide_batch(("i",), rng, inputs={f"f{i}": np.array([i]) for i in range(30)})
    tables = group_tables([floats, ints, floats])  # type: ignore[list-item]
    assert [t.column("prediction_id").to_pylist() for _, _, t in tables] == [["f", "f"], ["i"]]
    assert [k for k, _, _ in tables] == [shape_key(floats), shape_key(ints)]  # type: ignore[arg-type]
    assert tables[1][2].column("in.f3").type == "int64"
