"""ActiveRun: the handle user code logs through while a run is open."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.entities import MAX_KEY_LENGTH, LineageEdge, Relation, Run, RunArtifact, RunStatus
from loopml.errors import InvalidInput
from loopml.ids import ObjectKind, ObjectRef, check_artifact_path
from loopml.lineage import link
from loopml.tracking._model import model_path, save_into

if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextvars import Token
    from types import TracebackType

    from loopml.models import Signature
    from loopml.tracking._client import TrackingClient
    from loopml.tracking._system import SystemSampler

_MAX_KEY = MAX_KEY_LENGTH
_TERMINATE_WAIT_S = 5.0  # how long SIGTERM waits for a busy metric writer before ending


@dataclass(frozen=True)
class ModelInfo:
    """Where :meth:`ActiveRun.log_model` stored a model.

    Attributes:
        uri: ``runs:/<run_id>/<name>`` (``loopml.models.load_model`` and
            ``loopml.registry.register_model`` accept it).
        run_id: The run.
        name: The model's folder inside the run.
        artifacts: The files recorded (``<name>/loopml-model.json``, ``<name>/model.skops``,
            ``<name>/input_example.json``...).
        manifest_digest: sha256 of the manifest: the model's identity (a registered
            version of these bytes records the same digest).
        payload_digest: sha256 over the model files only.
        flavor: The flavour that saved it (``sklearn``, ``xgboost``...).
        model_class: Fully qualified class of the model.
        signature: Input/output schema, when known.
    """

    uri: str
    run_id: str
    name: str
    artifacts: tuple[RunArtifact, ...]
    manifest_digest: str
    payload_digest: str
    flavor: str
    model_class: str
    signature: Signature | None


def _bad_key(key: object) -> InvalidInput:
    shown = repr(key)
    if isinstance(key, str) and len(key) > 60:
        shown = f"{key[:40]!r}... ({len(key):,} characters)"
    return InvalidInput(
        f"invalid metric key {shown}",
        hint=f"A metric key is a non-empty string of at most {_MAX_KEY} characters.",
        key=key,
    )


def _param_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return repr(value)
    return str(value)


class ActiveRun:
    """An open run: log params, metrics, tags, artifacts and models, then end it.

    Made by :meth:`TrackingClient.start_run` (or ``loopml.start_run``). Used as a context
    manager it ends FINISHED, FAILED on an exception (with the error), or KILLED on
    Ctrl-C or SIGTERM (see :mod:`loopml.tracking._signals`); every buffered point is
    flushed first.

    Attributes:
        id: The run's id.
        name: The run's name.
        parent_id: The parent run's id, if nested.
    """

    def __init__(
        self,
        client: TrackingClient,
        run: Run,
        *,
        sync: bool = False,
        steps: dict[str, int] | None = None,
    ) -> None:
        self.id = run.id
        self.name = run.name
        self.parent_id = run.parent_id
        self._client = client
        writer = client.writer
        self._buffer = writer.buffer
        self._append = writer.buffer.append
        self._wake = writer.wake
        self._batch = writer.batch_size
        self._keys: set[str] = set()
        self._steps: dict[str, int] = dict(steps or {})
        self._sync = sync
        self.closed = False
        self._ending = False
        self.sampler: SystemSampler | None = None
        self.token: Token[ActiveRun | None] | None = None
        self.autologged = False

    def __repr__(self) -> str:
        return f"ActiveRun(id={self.id!r}, name={self.name!r})"

    # -- metrics (the hot path) -------------------------------------------------------------

    def log_metric(
        self, key: str, value: float, step: int | None = None, *, timestamp_ms: int | None = None
    ) -> None:
        """Append one metric point to the buffer (non-blocking unless ``sync=True``).

        Args:
            key: Metric name (1 to 255 characters; ``/`` groups, e.g. ``val/loss``).
            value: A number; NaN and +/-inf are kept as such.
            step: Step of the point (default: one more than this key's previous step).
            timestamp_ms: Milliseconds since the epoch (default: now).

        Raises:
            InvalidInput: The key or value is not acceptable, or the run has ended.
        """
        if key not in self._keys:
            self._check_key(key)
        if value.__class__ is not float:
            value = self._number(key, value)
        if step is None:
            step = self._steps.get(key, 0)
        self._steps[key] = step + 1
        self._append(
            (
                self.id,
                key,
                step,
                time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms,
                value if value == value else None,
            )
        )
        if len(self._buffer) >= self._batch:
            self._wake()
        if self._sync:
            self.flush()

    def _check_key(self, key: object) -> None:
        if self.closed:
            raise InvalidInput(
                f"run {self.id} has ended; cannot log to it",
                hint="Log inside the `with start_run(...)` block, or resume the run.",
            )
        if not isinstance(key, str) or not key or len(key) > _MAX_KEY:
            raise _bad_key(key)
        self._keys.add(key)

    @staticmethod
    def _number(key: str, value: object) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            and not hasattr(value, "__float__")
        ):
            raise InvalidInput(
                f"metric {key!r} got a value of type {type(value).__name__}: {value!r}",
                hint="Metric values are numbers (int, float, numpy scalars); NaN/inf are kept.",
                key=key,
            )
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInput(f"metric {key!r}: {value!r} is not a number", key=key) from exc

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log several metrics at the same step (see :meth:`log_metric`)."""
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def flush(self) -> None:
        """Make every point logged so far durable before returning.

        Raises:
            NotFound: The run was removed while points were buffered.
            StoreError: The store cannot be written (the points stay buffered).
        """
        self._client.writer.flush()
        error = self._client.writer.take_error(self.id)
        if error is not None:
            raise error

    # -- params, tags, notes -------------------------------------------------------------

    def log_param(self, key: str, value: object) -> None:
        """Record one param (see :meth:`log_params`)."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, object]) -> None:
        """Record params; values are kept as text (``str(value)``).

        Raises:
            Conflict: A param already has a different value (params are set once).
        """
        self._client.store.log_params(self.id, {k: _param_text(v) for k, v in params.items()})

    def set_tag(self, key: str, value: object) -> None:
        """Set one tag (overwrites)."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, object]) -> None:
        """Set tags (overwrites existing values)."""
        self._client.store.set_tags(self.id, {k: str(v) for k, v in tags.items()})

    def set_notes(self, notes: str) -> None:
        """Replace the run's free-text notes (Markdown welcome)."""
        self._client.store.set_notes(self.id, notes)

    # -- artifacts -----------------------------------------------------------------------

    def log_artifact(
        self, path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[RunArtifact]:
        """Store a file or a whole folder in the artifact store, recorded under this run.

        Args:
            path: A local file or folder.
            artifact_path: Path inside the run (default: the file or folder name): relative,
                with no ``..`` parts, NUL or control characters.

        Returns:
            The recorded files.

        Raises:
            InvalidInput: ``path`` does not exist, or a path inside the run is not safe
                (absolute, ``..``, NUL...; nothing is stored then).
        """
        source = Path(path)
        base = check_artifact_path(artifact_path or source.name)
        if source.is_file():
            files = [(base, source)]
        elif source.is_dir():
            files = sorted(
                (f"{base}/{p.relative_to(source).as_posix()}", p)
                for p in source.rglob("*")
                if p.is_file()
            )
        else:
            raise InvalidInput(
                f"cannot log artifact {os.fspath(path)!r}: no such file or folder",
                hint="Pass the path of an existing file or folder.",
                path=os.fspath(path),
            )
        for name, _ in files:  # all checked before any byte is stored
            check_artifact_path(name)
        store = self._client.require_artifacts()
        digests = store.put_many([p for _, p in files])
        recorded = [
            RunArtifact(name, digest, p.stat().st_size)
            for (name, p), digest in zip(files, digests, strict=True)
        ]
        self._client.store.add_run_artifacts(self.id, recorded)
        return recorded

    def log_bytes(self, data: bytes, artifact_path: str) -> RunArtifact:
        """Store bytes as a file of this run.

        Raises:
            InvalidInput: ``artifact_path`` is not a safe relative path (see
                :meth:`log_artifact`).
        """
        name = check_artifact_path(artifact_path)
        digest = self._client.require_artifacts().put(data)
        artifact = RunArtifact(name, digest, len(data))
        self._client.store.add_run_artifacts(self.id, [artifact])
        return artifact

    def log_text(self, text: str, artifact_path: str) -> RunArtifact:
        """Store text (UTF-8) as a file of this run."""
        return self.log_bytes(text.encode(), artifact_path)

    def log_dict(self, data: Mapping[str, Any], artifact_path: str) -> RunArtifact:
        """Store a JSON document as a file of this run."""
        return self.log_bytes(
            json.dumps(data, indent=2, sort_keys=True, default=str).encode(), artifact_path
        )

    def log_model(
        self,
        model: Any,
        name: str = "model",
        *,
        input_example: Any = None,
        signature: Signature | Mapping[str, Any] | None = None,
        flavor: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> ModelInfo:
        """Save a model with :func:`loopml.models.save_model` into this run's artifacts.

        Every file of the model directory (the flavour's files, the input example and the
        manifest ``loopml-model.json`` with the sha256 of each) is recorded under
        ``<name>/``. Load it with ``loopml.models.load_model("runs:/<run_id>/<name>")``
        (every digest is verified first) or register it with
        ``loopml.registry.register_model(NAME, info.uri)``.

        Args:
            model: A scikit-learn (skops by default), XGBoost or LightGBM model, or any
                object with ``predict`` (``python_function``).
            name: Folder inside the run (``runs:/<run_id>/<name>``).
            input_example: A few input rows; stored, and the signature is inferred from them.
            signature: An explicit :class:`~loopml.models.Signature` or its dict form
                (``{"inputs": [{"name": "x", "dtype": "float64"}]}``).
            flavor: Flavour name (detected when omitted).
            options: Flavour options, e.g. ``{"serialization": "pickle"}`` for sklearn.

        Returns:
            Where the model was stored, with its manifest digest.

        Raises:
            InvalidInput: No flavour can save the model, or the name is not a relative path.
            MissingExtra: The flavour needs an optional dependency that is not installed.
        """
        folder = model_path(name)
        with tempfile.TemporaryDirectory(prefix="loopml-log-model-") as tmp:
            saved = save_into(
                model,
                Path(tmp),
                signature=signature,
                input_example=input_example,
                flavor=flavor,
                options=options,
            )
            recorded = self.log_artifact(saved.path, folder)
        return ModelInfo(
            uri=f"runs:/{self.id}/{folder}",
            run_id=self.id,
            name=folder,
            artifacts=tuple(recorded),
            manifest_digest=saved.digest,
            payload_digest=saved.payload_digest,
            flavor=saved.flavor,
            model_class=saved.model_class,
            signature=saved.signature,
        )

    def log_input(
        self, ref: ObjectRef | str, relation: Relation | str = Relation.INPUT
    ) -> LineageEdge:
        """Record that this run read ``ref`` (e.g. a dataset version): a lineage edge to the run.

        Args:
            ref: ``ObjectRef`` or ``"kind:id"``, e.g. ``"dataset_version:0193..."``.
            relation: The edge's relation (default ``Relation.INPUT``, stored as ``input``).
        """
        src = ref if isinstance(ref, ObjectRef) else ObjectRef.parse(ref)
        return link(src, ObjectRef(ObjectKind.RUN, self.id), relation, store=self._client.store)

    # -- life cycle ----------------------------------------------------------------------

    @property
    def info(self) -> Run:
        """The run as recorded now (params, tags, status)."""
        return self._client.store.get_run(self.id)

    def end(self, status: RunStatus = RunStatus.FINISHED, *, error: str | None = None) -> None:
        """Flush, stop system metrics, and record the final status (idempotent)."""
        self._finish(status, error, wait_s=None)

    def terminate(self, reason: str) -> None:
        """End the run as KILLED now, never raising (what the SIGTERM handler calls).

        Buffered points are flushed if the writer is free within a few seconds; if not
        (the signal interrupted a flush on this very thread), they stay buffered for the
        flush at interpreter exit.
        """
        with contextlib.suppress(Exception):
            self._finish(RunStatus.KILLED, reason, wait_s=_TERMINATE_WAIT_S)

    def _finish(self, status: RunStatus, error: str | None, *, wait_s: float | None) -> None:
        if self.closed or self._ending:
            return
        self._ending = True
        try:
            if self.sampler is not None:
                self.sampler.stop()  # its last sample still goes into this run
            self.closed = True
            flush_error: Exception | None = None
            try:
                if wait_s is None:
                    self.flush()
                else:
                    self._client.writer.flush(timeout_s=wait_s)
            except Exception as exc:
                flush_error = exc
            self._client.store.set_run_status(self.id, status, error=error)
            if flush_error is not None:
                raise flush_error
        finally:
            self.closed = True
            self._client.writer.unregister(self.id)
            self._client.forget(self)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.end(RunStatus.FINISHED)
        elif isinstance(exc, KeyboardInterrupt):
            with contextlib.suppress(Exception):
                self.end(RunStatus.KILLED, error="interrupted (KeyboardInterrupt)")
        else:
            with contextlib.suppress(Exception):
                self.end(RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:10_000])
