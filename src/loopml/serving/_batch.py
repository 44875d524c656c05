"""Batch scoring: a model over a large table, chunk by chunk, resumable, with lineage.

``score_batch`` resolves and verifies the model, reads the input's schemas and checks them
against the model's signature before anything is written, then streams fixed chunks
through a scorer (this process, a process pool or Dask). Each chunk's output is a part file
in the work folder beside the output (see ``_batch_work``); at the end the parts are
concatenated into the output under a temporary name and renamed into place. The job is a
tracked run: params (model, digest, input), metrics (rows, rows/s, seconds), the output as
an artifact, and lineage dataset version -> run -> output blob, model -> run.
"""

from __future__ import annotations

import os
import sys
import time
import types
from collections import deque
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput, LoopmlError
from loopml.serving._batch_input import (
    Chunk,
    check_signature,
    csv_types,
    feature_columns,
    iter_chunks,
    open_input,
)
from loopml.serving._batch_work import FORMAT, WorkFolder
from loopml.serving._batch_workers import (
    InlineScorer,
    ModelRef,
    make_scorer,
    proba_labels,
    remember,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import numpy as np
    import pyarrow as pa

    from loopml.models import LoadedModel
    from loopml.serving._batch_input import BatchInput
    from loopml.tracking import ActiveRun, TrackingClient
    from loopml.workspace import Workspace

DEFAULT_CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch job stands (passed to the ``progress`` callback after each chunk)."""

    rows: int
    total_rows: int | None
    chunks: int
    skipped_chunks: int
    seconds: float
    scored_rows: int = 0


@dataclass(frozen=True)
class BatchResult:
    """What :func:`score_batch` did.

    Attributes:
        output: The output Parquet file.
        rows: Rows in the output (every input row once).
        chunks: Chunks in the output.
        scored_chunks: Chunks scored by this call.
        skipped_chunks: Chunks a previous, interrupted call had finished.
        seconds: Wall time of this call.
        rows_per_s: Rows scored by this call per second.
        model_uri: The model as asked for.
        model_digest: Its manifest sha256.
        input: The input as given.
        input_fingerprint: sha256 identifying the input.
        dataset_version: ``dataset_version:<id>`` when the input was a dataset version.
        output_digest: sha256 of the output file.
        run_id: The tracked run of the job (None with ``track=False``).
        columns: The output's columns.
    """

    output: Path
    rows: int
    chunks: int
    scored_chunks: int
    skipped_chunks: int
    seconds: float
    rows_per_s: float
    model_uri: str
    model_digest: str
    input: str
    input_fingerprint: str
    dataset_version: str | None
    output_digest: str
    run_id: str | None
    columns: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = asdict(self)
        out["output"] = str(self.output)
        out["columns"] = list(self.columns)
        return out


@contextmanager
def _hidden_main() -> Iterator[None]:
    # spawn/forkserver children import the parent's __main__ first; a script without an
    # ``if __name__ == "__main__":`` guard would run again there. Workers need only this
    # module, so hide the script while they start.
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _output_columns(
    batch_input: BatchInput, keep: Sequence[str] | None, column: str, proba: bool
) -> list[str]:
    names = list(batch_input.columns) if keep is None else list(keep)
    for item in batch_input.files:
        missing = [c for c in names if c not in item.schema.names]
        if missing:
            raise InvalidInput(
                f"batch input file {item.path.name} lacks column(s) {', '.join(missing)} "
                f"{'asked for with keep' if keep is not None else 'that the first file has'}",
                hint="Every file of a folder needs the kept columns; choose them with --keep.",
                columns=missing,
            )
    clash = [c for c in names if c == column or (proba and c.startswith(f"{column}_proba_"))]
    if clash:
        raise InvalidInput(
            f"the output column {column!r} exists in the input already",
            hint="Name the prediction column otherwise (--prediction-column), or leave the "
            "input column out with --keep.",
            columns=clash,
        )
    return names


def _part(
    chunk: Chunk, kept: list[str], column: str, labels: list[str] | None, out: dict[str, np.ndarray]
) -> pa.Table:
    import pyarrow as pa

    table = chunk.table.select(kept)
    prediction = out["prediction"]
    if prediction.shape[0] != chunk.rows:
        raise InvalidInput(
            f"the model returned {prediction.shape[0]} predictions for {chunk.rows} rows "
            f"(chunk {chunk.key})",
            hint="predict must return one prediction per input row.",
        )
    if prediction.ndim == 2 and prediction.shape[1] == 1:
        prediction = prediction[:, 0]
    if prediction.ndim == 1:
        array: pa.Array = pa.array(prediction)
    else:
        flat = pa.array(prediction.reshape(-1))
        array = pa.FixedSizeListArray.from_arrays(flat, int(prediction.shape[1]))
    table = table.append_column(column, array)
    if "proba" in out:
        proba = out["proba"]
        names = labels or [str(i) for i in range(proba.shape[1])]
        for i, label in enumerate(names):
            table = table.append_column(f"{column}_proba_{label}", pa.array(proba[:, i]))
    return table


def _start_run(
    client: TrackingClient, run_id: str | None, params: dict[str, object], name: str
) -> ActiveRun:
    if run_id is not None:
        try:
            return client.start_run(resume=run_id, params=params)
        except LoopmlError:  # the run was deleted meanwhile: record a new one
            pass
    return client.start_run(name, params=params, tags={"loopml.kind": "batch"})


def _record(
    workspace: Workspace,
    run: ActiveRun,
    result: BatchResult,
    model_source: Any,
    batch_input: BatchInput,
    *,
    store_output: bool,
) -> None:
    from loopml import lineage
    from loopml.ids import ObjectKind, ObjectRef
    from loopml.lineage import Relation

    run.log_metrics(
        {
            "rows": result.rows,
            "rows_per_s": result.rows_per_s,
            "seconds": result.seconds,
            "chunks": result.chunks,
            "skipped_chunks": result.skipped_chunks,
        }
    )
    run.set_tags(
        {
            "loopml.batch.output": str(result.output),
            "loopml.batch.output_digest": result.output_digest,
        }
    )
    if store_output:
        run.log_artifact(result.output, f"output/{result.output.name}")
    me = ObjectRef(ObjectKind.RUN, run.id)
    store = workspace.store
    if batch_input.dataset_version is not None:
        run.log_input(batch_input.dataset_version)
    if model_source is not None:
        lineage.link(model_source, me, Relation.SCORED, store=store)
    lineage.link(
        me, ObjectRef(ObjectKind.ARTIFACT, result.output_digest), Relation.PRODUCED, store=store
    )


def score_batch(
    model_uri: str | os.PathLike[str],
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    workers: int = 1,
    executor: str = "local",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    keep: Sequence[str] | None = None,
    proba: bool = False,
    prediction_column: str = "prediction",
    restart: bool = False,
    track: bool = True,
    store_output: bool = True,
    dask_address: str | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    workspace: Workspace | None = None,
) -> BatchResult:
    """Score a table with a model, chunk by chunk, into one Parquet file.

    Memory stays bounded by a few chunks whatever the input's size. An interrupted call
    (crash, SIGKILL, Ctrl-C) leaves its finished chunks in ``<output>.parts/``; calling
    again with the same model and input scores only the rest, and every input row appears
    in the output exactly once.

    Args:
        model_uri: ``models:/NAME@ALIAS``, ``models:/NAME/N``, ``runs:/ID/PATH`` or a
            model directory.
        input: A Parquet or CSV file, a folder of them, or a dataset version
            (``NAME@REF``).
        output: The Parquet file to write (replaced atomically when the job ends).
        workers: Processes scoring chunks (1: this process).
        executor: ``local`` (processes on this machine) or ``dask`` (tasks on a Dask
            cluster: ``dask_address``, the ``dask_address`` setting, or a local cluster).
        chunk_rows: Rows per chunk (the unit of work, of memory and of resumption).
        keep: Input columns to copy into the output (default: all of them).
        proba: Add ``<prediction_column>_proba_<class>`` columns (``predict_proba``).
        prediction_column: Name of the prediction column.
        restart: Discard the finished chunks of an earlier call instead of resuming.
        track: Record the job as a tracked run with lineage.
        store_output: Store the output file in the artifact store (else only its digest
            is recorded).
        dask_address: Dask scheduler to use with ``executor="dask"``.
        progress: Called after every chunk with a :class:`BatchProgress`.
        workspace: The workspace (default: the current one).

    Returns:
        A :class:`BatchResult`.

    Raises:
        InvalidInput: The input is missing or unreadable, does not fit the model's
            signature (raised before anything is written), or the model failed on a chunk.
        Conflict: The work folder belongs to another model or input (pass ``restart``),
            or another process is running the same job.
        DigestMismatch: The model's files were altered.
        MissingExtra: ``executor="dask"`` without the ``dask`` extra.
    """
    from loopml.models import load_model, resolve
    from loopml.workspace import current_workspace

    started = time.perf_counter()
    ws = workspace or current_workspace()
    if chunk_rows < 1:
        raise InvalidInput(f"chunk_rows must be at least 1, got {chunk_rows}", hint="Try 100000.")
    resolved = resolve(model_uri, ws)
    model = load_model(resolved.path, expected_digest=resolved.manifest_digest, workspace=ws)
    if proba and not model.has_proba:
        raise InvalidInput(
            f"the model {os.fspath(model_uri)!r} has no predict_proba",
            hint="Leave out --proba for this model.",
        )
    batch_input = open_input(input, ws)
    check_signature(batch_input, model.signature)
    kept = _output_columns(batch_input, keep, prediction_column, proba)
    features = feature_columns(model.signature, batch_input.files[0].schema)
    work = WorkFolder(Path(output))
    job = {
        "format": FORMAT,
        "model_uri": os.fspath(model_uri),
        "model_digest": model.digest,
        "input": batch_input.spec,
        "input_fingerprint": batch_input.fingerprint,
        "chunk_rows": chunk_rows,
        "keep": kept,
        "proba": proba,
        "column": prediction_column,
    }
    stored, done = work.open(job, restart=restart)
    client: TrackingClient | None = None
    try:
        run: ActiveRun | None = None
        if track:
            from loopml.tracking import TrackingClient

            client = TrackingClient.for_workspace(ws, capture_environment=False)
            params: dict[str, object] = {
                "model_uri": job["model_uri"],
                "model_digest": model.digest,
                "input": batch_input.spec,
                "input_fingerprint": batch_input.fingerprint,
                "chunk_rows": chunk_rows,
            }
            run = _start_run(
                client, stored.get("run_id"), params, f"batch {Path(os.fspath(model_uri)).name}"
            )
            work.update_job(run_id=run.id)
        ref = ModelRef(str(resolved.path), os.fspath(model_uri), model.digest, ws, proba)
        remember(model)
        try:
            scored, rows_scored, keys = _run_chunks(
                work,
                batch_input,
                ref,
                model,
                features,
                kept,
                prediction_column,
                chunk_rows,
                done,
                executor=executor,
                workers=workers,
                progress=progress,
                started=started,
                dask_address=dask_address or ws.settings.dask_address,
            )
            digest, rows = work.assemble(keys)
        except BaseException as exc:
            if run is not None:
                from loopml.entities import RunStatus

                status = (
                    RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
                )
                run.end(status, error=str(exc)[:500])
            raise
        seconds = time.perf_counter() - started
        import pyarrow.parquet as pq

        result = BatchResult(
            output=Path(output),
            rows=rows,
            chunks=len(keys),
            scored_chunks=scored,
            skipped_chunks=len(keys) - scored,
            seconds=seconds,
            rows_per_s=rows_scored / seconds if seconds > 0 else 0.0,
            model_uri=os.fspath(model_uri),
            model_digest=model.digest,
            input=batch_input.spec,
            input_fingerprint=batch_input.fingerprint,
            dataset_version=None
            if batch_input.dataset_version is None
            else str(batch_input.dataset_version),
            output_digest=digest,
            run_id=None if run is None else run.id,
            columns=tuple(pq.read_schema(output).names),
        )
        if run is not None:
            _record(ws, run, result, resolved.ref, batch_input, store_output=store_output)
            run.end()
        work.remove()
        return result
    finally:
        work.release()
        if client is not None:
            client.close()


def _run_chunks(
    work: WorkFolder,
    batch_input: BatchInput,
    ref: ModelRef,
    model: LoadedModel,
    features: list[str],
    kept: list[str],
    column: str,
    chunk_rows: int,
    done: set[str],
    *,
    executor: str,
    workers: int,
    progress: Callable[[BatchProgress], None] | None,
    started: float,
    dask_address: str | None,
) -> tuple[int, int, list[str]]:
    """Score every chunk not in ``done``; return (chunks scored, rows scored, all keys)."""
    entries = work.entries()
    rows_done = sum(int(entries[k]["rows"]) for k in done if k in entries)
    keys: set[str] = set(done)
    scored = rows_scored = 0
    labels: list[str] | None = None
    total = batch_input.rows
    types = csv_types(model.signature)
    in_flight: deque[tuple[Chunk, Any]] = deque()

    def finish(chunk: Chunk, future: Any) -> None:
        nonlocal scored, rows_scored, rows_done, labels
        try:
            out = future.result()
        except LoopmlError:
            raise
        except Exception as exc:
            raise InvalidInput(
                f"the model failed on chunk {chunk.key} (rows {chunk.index * chunk_rows:,} to "
                f"{chunk.index * chunk_rows + chunk.rows - 1:,} of "
                f"{batch_input.files[chunk.file].path.name}): {type(exc).__name__}: {exc}",
                hint="The chunks finished so far are kept: fix the cause and re-run the same "
                "command to resume.",
                chunk=chunk.key,
            ) from exc
        if "proba" in out and labels is None:
            labels = proba_labels(model, int(out["proba"].shape[1]))
        work.write_part(chunk.key, _part(chunk, kept, column, labels, out))
        keys.add(chunk.key)
        scored += 1
        rows_scored += chunk.rows
        rows_done += chunk.rows
        if progress is not None:
            progress(
                BatchProgress(
                    rows_done,
                    total,
                    len(keys),
                    len(done),
                    time.perf_counter() - started,
                    rows_scored,
                )
            )

    if progress is not None:
        progress(BatchProgress(rows_done, total, len(keys), len(done), 0.0))
    with _hidden_main():
        scorer = make_scorer(ref, executor=executor, workers=workers, address=dask_address)
    # Chunks held at once, what bounds memory: enough to keep every worker busy; inline
    # scoring is done at submit, so its chunk is written at once.
    limit = 1 if isinstance(scorer, InlineScorer) else 2 * workers
    try:
        for chunk in iter_chunks(batch_input, chunk_rows, done=done, types=types):
            with _hidden_main():
                in_flight.append((chunk, scorer.submit(chunk.table.select(features))))
            while len(in_flight) >= limit:
                finish(*in_flight.popleft())
        while in_flight:
            finish(*in_flight.popleft())
    finally:
        scorer.close()
    return scored, rows_scored, sorted(keys)
