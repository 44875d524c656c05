"""TrackingClient: the explicit API every other tracking entry point is a thin layer over."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.entities import Metric, MetricSummary, Run, RunArtifact, RunQuery, RunStatus
from loopml.errors import InvalidInput, NotFound
from loopml.tracking import _signals
from loopml.tracking._capture import current_capture
from loopml.tracking._env import capture_environment
from loopml.tracking._model import scratch_cache
from loopml.tracking._query import parse_filter, parse_order_by
from loopml.tracking._run import ActiveRun
from loopml.tracking._writer import MetricWriter

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from loopml.artifacts import ArtifactStore
    from loopml.config import Settings
    from loopml.models import LoadedModel
    from loopml.store import Store
    from loopml.workspace import Workspace

_ENV_ARTIFACT = "environment/requirements.txt"


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side: params (and which differ) and metric summaries per key.

    Attributes:
        runs: The runs, in the order asked.
        params: Every param key -> value per run id (None where a run lacks it).
        differing_params: Param keys whose values are not all equal.
        metrics: Every metric key -> summary per run id (absent where a run lacks it).
    """

    runs: list[Run]
    params: dict[str, dict[str, str | None]]
    differing_params: list[str]
    metrics: dict[str, dict[str, MetricSummary]]


@dataclass(frozen=True)
class GcReport:
    """What ``gc`` removed: blob digests freed and their total size in bytes."""

    freed: list[str] = field(default_factory=list)
    bytes_freed: int = 0


class TrackingClient:
    """Runs on an explicit store and artifact store: start, log, query, compare, delete.

    Args:
        store: The metadata store.
        artifacts: The artifact store for files and models (None: logging files raises).
        flush_interval_s: How often the background writer flushes buffered metrics.
        batch_size: Buffered points that trigger an early flush.
        heartbeat_s: How often open runs stamp their heartbeat.
        stale_after_s: A RUNNING run whose heartbeat is older than this reads as CRASHED.
        capture_environment: Record git, Python, platform, packages, command and user.

    Example:
        >>> from loopml.store.sql import SqlStore
        >>> client = TrackingClient(SqlStore("sqlite:///:memory:"), capture_environment=False)
        >>> with client.start_run(name="doc") as run:
        ...     run.log_metric("loss", 0.5)
        >>> client.metric_history(run.id, "loss")[0].value
        0.5
    """

    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore | None = None,
        *,
        flush_interval_s: float = 0.1,
        batch_size: int = 10_000,
        heartbeat_s: float = 5.0,
        stale_after_s: float = 60.0,
        capture_environment: bool = True,
    ) -> None:
        if flush_interval_s <= 0 or batch_size < 1 or heartbeat_s <= 0 or stale_after_s <= 0:
            raise InvalidInput(
                "flush_interval_s, heartbeat_s and stale_after_s must be > 0 and batch_size >= 1",
                hint="The defaults (0.1 s, 10,000 points, 5 s, 60 s) suit most uses.",
            )
        self.store = store
        self.artifacts = artifacts
        self.stale_after_s = stale_after_s
        self.capture_environment = capture_environment
        self.writer = MetricWriter(
            store, flush_interval_s=flush_interval_s, batch_size=batch_size, heartbeat_s=heartbeat_s
        )
        self.workspace: Workspace | None = None
        self._open: dict[str, ActiveRun] = {}
        self._env_artifact: RunArtifact | None = None

    @classmethod
    def for_workspace(cls, workspace: Workspace, **options: Any) -> TrackingClient:
        """A client on ``workspace``'s stores; workers it starts reopen that workspace."""
        client = cls(workspace.store, workspace.artifacts, **options)
        client.workspace = workspace
        return client

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> TrackingClient:
        """A client on the metadata and artifact stores ``settings`` name."""
        from loopml.workspace import Workspace

        return cls.for_workspace(Workspace(settings), **options)

    def require_artifacts(self) -> ArtifactStore:
        """The artifact store, or a clear error when the client has none."""
        if self.artifacts is None:
            raise InvalidInput(
                "this tracking client has no artifact store",
                hint="Build it with TrackingClient(store, artifacts) or "
                "TrackingClient.from_settings(settings).",
            )
        return self.artifacts

    # -- starting runs -------------------------------------------------------------------

    def start_run(
        self,
        name: str | None = None,
        *,
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
        parent: str | ActiveRun | None = None,
        resume: str | None = None,
        notes: str | None = None,
        system_metrics: bool | float = False,
        sync: bool = False,
    ) -> ActiveRun:
        """Start (or resume) a run; use it as a context manager.

        Args:
            name: Run name (default: the script's name).
            params: Params recorded with the run, in the same transaction.
            tags: Tags recorded with the run.
            parent: Parent run (id or ActiveRun) for a nested run.
            resume: Id of an existing run to reopen (status back to RUNNING); metric steps
                continue after the latest ones.
            notes: Free-text notes.
            system_metrics: Sample ``system/*`` metrics in the background: True for every
                10 s, or the interval in seconds.
            sync: Make every ``log_metric`` durable before it returns (slow, safest).

        Returns:
            The open run.

        Raises:
            NotFound: ``parent`` or ``resume`` names no run.
            Conflict: A param of a resumed run would change.
        """
        from loopml.tracking._fluent import activate

        parent_id = parent.id if isinstance(parent, ActiveRun) else parent
        capture = current_capture()
        if resume is not None:
            run = self.store.set_run_status(resume, RunStatus.RUNNING)
            self.store.heartbeat([run.id])
            steps = {s.key: s.latest_step + 1 for s in self.store.metric_summaries([run.id])}
            active = ActiveRun(self, run, sync=sync, steps=steps)
            if params:
                active.log_params(params)
            if tags:
                active.set_tags(tags)
        else:
            all_tags = self._environment_tags()
            if capture is not None:
                all_tags.update(capture.tags)
            all_tags.update({k: str(v) for k, v in (tags or {}).items()})
            from loopml.tracking._run import _param_text

            run = self.store.create_run(
                name=name or _default_name(),
                parent_id=parent_id,
                params={k: _param_text(v) for k, v in (params or {}).items()},
                tags=all_tags,
                notes=notes,
                heartbeat=True,
                artifacts=[] if self._env_artifact is None else [self._env_artifact],
            )
            active = ActiveRun(self, run, sync=sync)
        if capture is not None:
            capture.add(run.id, run.parent_id)
        self._open[run.id] = active
        self.writer.register(run.id, lambda: active.end(RunStatus.FINISHED))
        _signals.opened(active)  # SIGTERM now ends it as KILLED
        if system_metrics:
            from loopml.tracking._system import SystemSampler  # psutil loads only for this

            interval = 10.0 if system_metrics is True else float(system_metrics)
            active.sampler = SystemSampler(active.log_metric, interval)
            active.sampler.start()
        activate(active)
        return active

    def _environment_tags(self) -> dict[str, str]:
        if not self.capture_environment:
            return {}
        env = capture_environment(os.getcwd())
        if self.artifacts is not None and self._env_artifact is None:
            data = env.requirements.encode()
            self._env_artifact = RunArtifact(_ENV_ARTIFACT, self.artifacts.put(data), len(data))
        return dict(env.tags)

    def forget(self, run: ActiveRun) -> None:
        """Drop an ended run from the open set (called by :meth:`ActiveRun.end`)."""
        from loopml.tracking._fluent import deactivate

        self._open.pop(run.id, None)
        _signals.closed(run)
        deactivate(run)

    # -- reading -------------------------------------------------------------------------

    def reap(self) -> list[str]:
        """Mark RUNNING runs with a stale heartbeat CRASHED; return their ids."""
        cutoff = time.time_ns() // 1_000_000 - int(self.stale_after_s * 1000)
        return self.store.mark_stale_runs_crashed(cutoff)

    def get_run(self, run_id: str) -> Run:
        """The run as recorded (a dead process's run reads as CRASHED)."""
        self.reap()
        return self.store.get_run(run_id)

    def _query(
        self,
        filter: str,
        order_by: str | None,
        limit: int,
        offset: int,
        include_deleted: bool,
        parent_id: str | None,
    ) -> RunQuery:
        return RunQuery(
            where=parse_filter(filter),
            order_by=parse_order_by(order_by),
            limit=limit,
            offset=offset,
            include_deleted=include_deleted,
            parent_id=parent_id,
        )

    def search_runs(
        self,
        filter: str = "",
        *,
        order_by: str | None = None,
        limit: int = 100,
        offset: int = 0,
        include_deleted: bool = False,
        parent_id: str | None = None,
    ) -> list[Run]:
        """Runs matching a filter, sorted and paged in the database.

        Args:
            filter: e.g. ``"metrics.auc > 0.9 and params.model = 'rf'"`` (see docs).
            order_by: e.g. ``"metrics.auc desc, created_at_ms"`` (default newest first).
            limit: Page size (1 to 100,000).
            offset: Runs to skip.
            include_deleted: Include soft-deleted runs.
            parent_id: Only children of this run.

        Raises:
            InvalidInput: The filter or sort is malformed (the message points at it).
        """
        self.reap()
        return self.store.search_runs(
            self._query(filter, order_by, limit, offset, include_deleted, parent_id)
        )

    def count_runs(
        self, filter: str = "", *, include_deleted: bool = False, parent_id: str | None = None
    ) -> int:
        """How many runs match ``filter``."""
        return self.store.count_runs(self._query(filter, None, 1, 0, include_deleted, parent_id))

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of one metric of a run, by step then time."""
        return self.store.metric_history(run_id, key)

    def metric_summaries(self, run_ids: Sequence[str]) -> list[MetricSummary]:
        """Latest, min, max and count of every metric of the runs."""
        return self.store.metric_summaries(run_ids)

    def compare(self, run_ids: Sequence[str]) -> RunComparison:
        """Params and metric summaries of several runs, side by side."""
        if not run_ids:
            raise InvalidInput("compare needs at least one run id")
        runs = [self.get_run(run_id) for run_id in run_ids]
        keys = sorted({k for run in runs for k in run.params})
        params = {k: {run.id: run.params.get(k) for run in runs} for k in keys}
        differing = [k for k, vals in params.items() if len(set(vals.values())) > 1]
        metrics: dict[str, dict[str, MetricSummary]] = {}
        for summary in self.store.metric_summaries(list(run_ids)):
            metrics.setdefault(summary.key, {})[summary.run_id] = summary
        return RunComparison(runs, params, differing, dict(sorted(metrics.items())))

    # -- artifacts -----------------------------------------------------------------------

    def list_artifacts(self, run_id: str) -> list[RunArtifact]:
        """The files a run recorded."""
        return self.store.list_run_artifacts(run_id)

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The bytes of one file of a run (verified against its digest)."""
        for artifact in self.store.list_run_artifacts(run_id):
            if artifact.path == path.strip("/"):
                return self.require_artifacts().get(artifact.digest)
        raise NotFound(
            "artifact", f"{run_id}/{path}", hint="List them with list_artifacts(run_id)."
        )

    def download_artifacts(
        self, run_id: str, dest: str | os.PathLike[str], prefix: str = ""
    ) -> list[Path]:
        """Write a run's files (under ``prefix``) below ``dest``; return the paths written."""
        written = []
        for artifact in self.store.list_run_artifacts(run_id):
            if artifact.path.startswith(prefix.strip("/")):
                written.append(
                    self.require_artifacts().get_file(artifact.digest, Path(dest) / artifact.path)
                )
        return written

    def load_model(self, run_id: str, name: str = "model") -> LoadedModel:
        """Load a model stored by :meth:`ActiveRun.log_model`, every digest verified first.

        Same as ``loopml.models.load_model("runs:/<run_id>/<name>")`` on this client's
        stores; ``.predict``/``.predict_proba`` check the signature, ``.raw`` is the object.

        Raises:
            NotFound: The run or the model does not exist.
            DigestMismatch: A stored file was altered.
        """
        from loopml.models import load_model

        cache = self.workspace.cache_dir if self.workspace is not None else scratch_cache()
        return load_model(
            f"runs:/{run_id}/{name}",
            store=self.store,
            artifacts=self.require_artifacts(),
            cache_dir=cache,
        )

    # -- deleting ------------------------------------------------------------------------

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        """Soft-delete runs and their children (hidden from lists; ``gc`` frees them)."""
        self.store.delete_runs(run_ids)

    def restore_runs(self, run_ids: Sequence[str]) -> None:
        """Undo a soft delete."""
        self.store.restore_runs(run_ids)

    def gc(self, *, older_than_s: float = 0.0) -> GcReport:
        """Purge runs soft-deleted at least ``older_than_s`` ago and free blobs only they used.

        A blob that anything else still refers to (another run, a dataset or model
        version, a schema, an evaluation, a step output, a lineage edge) is kept; see
        :func:`loopml.maintenance.live_digests`.

        Raises:
            CheckFailed: A manifest cannot be read, so no blob was freed (the runs are
                purged; ``loopml gc`` frees their blobs once the store is repaired).
        """
        cutoff = time.time_ns() // 1_000_000 - int(older_than_s * 1000)
        digests = self.store.purge_deleted_runs(cutoff)
        freed = 0
        if self.artifacts is not None and digests:
            from loopml.maintenance import live_digests

            live = live_digests(self.store, self.artifacts)
            digests = [digest for digest in digests if digest not in live]
            for digest in digests:
                with contextlib.suppress(NotFound):
                    freed += self.artifacts.size(digest)
            self.artifacts.delete_many(digests)  # once per pack, however many it loses
        return GcReport(freed=digests, bytes_freed=freed)

    # -- shutdown ------------------------------------------------------------------------

    def flush(self) -> None:
        """Make every buffered metric point durable now."""
        self.writer.flush()

    def close(self) -> None:
        """End open runs (FINISHED), flush, and stop the writer thread."""
        for run in list(self._open.values()):
            with contextlib.suppress(Exception):
                run.end(RunStatus.FINISHED)
        self.writer.close()


def _default_name() -> str:
    script = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    return script if script and script not in ("-c", "-m", "") else "run"
