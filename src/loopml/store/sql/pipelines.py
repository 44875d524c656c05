"""SQL implementation of :class:`~loopml.store.protocols.PipelineStore` and ``LeaseStore``."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from loopml.entities import (
    Lease,
    LineageEdge,
    PipelineRun,
    PipelineStatus,
    Schedule,
    StepOutput,
    StepRun,
    StepStatus,
)
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.store.sql import tables as t
from loopml.store.sql._engine import upsert_insert
from loopml.store.sql._time import now_ms
from loopml.store.sql.lineage import edge_rows, insert_edges

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from loopml.store.sql._engine import Database


def _dump(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _pipeline_row(run: PipelineRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "pipeline": run.pipeline,
        "target": run.target,
        "status": run.status.value,
        "executor": run.executor,
        "cache": run.cache,
        "params_json": _dump(dict(run.params)),
        "graph_json": _dump(dict(run.graph)),
        "created_at_ms": run.created_at_ms,
        "ended_at_ms": run.ended_at_ms,
        "resumes": run.resumes,
        "schedule_id": run.schedule_id,
        "cost": run.cost,
        "error": run.error,
    }


def _to_pipeline_run(row: RowMapping) -> PipelineRun:
    return PipelineRun(
        id=row["id"],
        pipeline=row["pipeline"],
        status=PipelineStatus(row["status"]),
        created_at_ms=int(row["created_at_ms"]),
        target=row["target"],
        executor=row["executor"],
        cache=bool(row["cache"]),
        params=json.loads(row["params_json"]),
        graph=json.loads(row["graph_json"]),
        ended_at_ms=None if row["ended_at_ms"] is None else int(row["ended_at_ms"]),
        resumes=int(row["resumes"]),
        schedule_id=row["schedule_id"],
        cost=row["cost"],
        error=row["error"],
    )


def _step_row(step: StepRun, position: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": step.id,
        "pipeline_run_id": step.pipeline_run_id,
        "name": step.name,
        "status": step.status.value,
        "upstream_json": _dump(list(step.upstream)),
        "cache_key": step.cache_key,
        "cache_hit": step.cache_hit,
        "cached_from": step.cached_from,
        "attempts": step.attempts,
        "started_at_ms": step.started_at_ms,
        "ended_at_ms": step.ended_at_ms,
        "wall_s": step.wall_s,
        "cpu_s": step.cpu_s,
        "gpu_s": step.gpu_s,
        "peak_memory_bytes": step.peak_memory_bytes,
        "cost": step.cost,
        "inputs_json": _dump(dict(step.inputs)),
        "outputs_json": json.dumps([asdict(o) for o in step.outputs]),
        "params_json": _dump(dict(step.params)),
        "worker": step.worker,
        "run_id": step.run_id,
        "error": step.error,
        "log_digest": step.log_digest,
    }
    if position is not None:
        row["position"] = position
    return row


def _to_step_run(row: RowMapping) -> StepRun:
    def _int(name: str) -> int | None:
        return None if row[name] is None else int(row[name])

    return StepRun(
        id=row["id"],
        pipeline_run_id=row["pipeline_run_id"],
        name=row["name"],
        status=StepStatus(row["status"]),
        upstream=tuple(json.loads(row["upstream_json"])),
        cache_key=row["cache_key"],
        cache_hit=bool(row["cache_hit"]),
        cached_from=row["cached_from"],
        attempts=int(row["attempts"]),
        started_at_ms=_int("started_at_ms"),
        ended_at_ms=_int("ended_at_ms"),
        wall_s=row["wall_s"],
        cpu_s=row["cpu_s"],
        gpu_s=row["gpu_s"],
        peak_memory_bytes=_int("peak_memory_bytes"),
        cost=row["cost"],
        inputs=json.loads(row["inputs_json"]),
        outputs=tuple(StepOutput(**o) for o in json.loads(row["outputs_json"])),
        params=json.loads(row["params_json"]),
        worker=row["worker"],
        run_id=row["run_id"],
        error=row["error"],
        log_digest=row["log_digest"],
    )


def _to_schedule(row: RowMapping) -> Schedule:
    return Schedule(
        id=row["id"],
        name=row["name"],
        target=row["target"],
        cron=row["cron"],
        next_run_at_ms=int(row["next_run_at_ms"]),
        created_at_ms=int(row["created_at_ms"]),
        params=json.loads(row["params_json"]),
        enabled=bool(row["enabled"]),
        last_run_id=row["last_run_id"],
    )


class SqlPipelineStore:
    """Pipeline runs, step runs, schedules and leases in SQL tables."""

    _db: Database

    # pipeline runs ----------------------------------------------------------------------
    def create_pipeline_run(self, run: PipelineRun, steps: Sequence[StepRun]) -> PipelineRun:
        """Record a new pipeline run and its (pending) steps in one transaction."""
        names = [s.name for s in steps]
        if len(set(names)) != len(names):
            raise InvalidInput(f"pipeline run {run.id} has duplicate step names: {names}")
        if any(s.pipeline_run_id != run.id for s in steps):
            raise InvalidInput("every step run must belong to the pipeline run created with it")
        try:
            with self._db.write() as conn:
                conn.execute(insert(t.pipeline_runs).values(**_pipeline_row(run)))
                if steps:
                    conn.execute(
                        insert(t.step_runs), [_step_row(s, i) for i, s in enumerate(steps)]
                    )
        except IntegrityError as exc:
            raise Conflict(f"pipeline run {run.id} exists already", run_id=run.id) from exc
        return run

    def save_pipeline_run(self, run: PipelineRun) -> PipelineRun:
        """Overwrite the record of an existing pipeline run."""
        with self._db.write() as conn:
            result = conn.execute(
                update(t.pipeline_runs)
                .where(t.pipeline_runs.c.id == run.id)
                .values(**_pipeline_row(run))
            )
            if result.rowcount == 0:
                raise NotFound("pipeline run", run.id)
        return run

    def get_pipeline_run(self, run_id: str) -> PipelineRun:
        """Return one pipeline run; NotFound if absent."""
        with self._db.read() as conn:
            row = (
                conn.execute(select(t.pipeline_runs).where(t.pipeline_runs.c.id == run_id))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound("pipeline run", run_id, hint="List runs with `loopml pipeline list`.")
        return _to_pipeline_run(row)

    def list_pipeline_runs(
        self,
        *,
        pipeline: str | None = None,
        status: PipelineStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[PipelineRun]:
        """Return pipeline runs, newest first."""
        query = select(t.pipeline_runs).order_by(
            t.pipeline_runs.c.created_at_ms.desc(), t.pipeline_runs.c.id.desc()
        )
        if pipeline is not None:
            query = query.where(t.pipeline_runs.c.pipeline == pipeline)
        if status is not None:
            query = query.where(t.pipeline_runs.c.status == status.value)
        with self._db.read() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
        return [_to_pipeline_run(r) for r in rows]

    # step runs --------------------------------------------------------------------------
    def list_step_runs(self, pipeline_run_id: str) -> list[StepRun]:
        """Return the steps of a pipeline run in definition order."""
        with self._db.read() as conn:
            self._require_pipeline_run(conn, pipeline_run_id)
            rows = conn.execute(
                select(t.step_runs)
                .where(t.step_runs.c.pipeline_run_id == pipeline_run_id)
                .order_by(t.step_runs.c.position)
            ).mappings()
            return [_to_step_run(r) for r in rows]

    def save_step_run(self, step: StepRun, *, edges: Sequence[LineageEdge] = ()) -> StepRun:
        """Overwrite the record of an existing step run, with its lineage edges, atomically."""
        values = _step_row(step)
        del values["id"], values["pipeline_run_id"], values["name"]
        rows = edge_rows(edges)
        with self._db.write() as conn:
            insert_edges(conn, rows)
            result = conn.execute(
                update(t.step_runs).where(t.step_runs.c.id == step.id).values(**values)
            )
            if result.rowcount == 0:
                raise NotFound("step run", step.id)
        return step

    def find_cached_step(self, cache_key: str) -> StepRun | None:
        """Return the newest completed (not cache-hit) step run with ``cache_key``, if any."""
        query = (
            select(t.step_runs)
            .where(
                t.step_runs.c.cache_key == cache_key,
                t.step_runs.c.status == StepStatus.COMPLETED.value,
            )
            .order_by(t.step_runs.c.ended_at_ms.desc())
            .limit(1)
        )
        with self._db.read() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _to_step_run(row)

    # schedules --------------------------------------------------------------------------
    def create_schedule(self, schedule: Schedule) -> Schedule:
        """Record a schedule; Conflict if one with that name exists."""
        row = asdict(schedule)
        row["params_json"] = _dump(dict(row.pop("params")))
        try:
            with self._db.write() as conn:
                conn.execute(insert(t.schedules).values(**row))
        except IntegrityError as exc:
            raise Conflict(
                f"a schedule named {schedule.name!r} exists already",
                hint="Pick another --name or delete the old one first.",
                name=schedule.name,
            ) from exc
        return schedule

    def list_schedules(self) -> list[Schedule]:
        """Return every schedule, soonest due first."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(t.schedules).order_by(t.schedules.c.next_run_at_ms, t.schedules.c.name)
            ).mappings()
            return [_to_schedule(r) for r in rows]

    def get_schedule(self, name: str) -> Schedule:
        """Return the schedule called ``name``; NotFound if absent."""
        with self._db.read() as conn:
            row = (
                conn.execute(select(t.schedules).where(t.schedules.c.name == name))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound("schedule", name)
        return _to_schedule(row)

    def delete_schedule(self, name: str) -> None:
        """Remove the schedule called ``name``; NotFound if absent."""
        with self._db.write() as conn:
            if conn.execute(delete(t.schedules).where(t.schedules.c.name == name)).rowcount == 0:
                raise NotFound("schedule", name)

    def update_schedule(
        self,
        name: str,
        *,
        cron: str | None = None,
        params: Mapping[str, object] | None = None,
        enabled: bool | None = None,
        next_run_at_ms: int | None = None,
    ) -> Schedule:
        """Change the fields given (None: keep) of the schedule ``name``; NotFound if absent."""
        values: dict[str, object] = {}
        if cron is not None:
            values["cron"] = cron
        if params is not None:
            values["params_json"] = _dump(dict(params))
        if enabled is not None:
            values["enabled"] = bool(enabled)
        if next_run_at_ms is not None:
            values["next_run_at_ms"] = int(next_run_at_ms)
        with self._db.write() as conn:
            query = update(t.schedules).where(t.schedules.c.name == name)
            if not values:  # nothing to change: still say whether it exists
                query = query.values(name=name)
            if conn.execute(query.values(**values)).rowcount == 0:
                raise NotFound("schedule", name)
        return self.get_schedule(name)

    def claim_schedule(
        self, schedule_id: str, *, due_at_ms: int, next_run_at_ms: int, run_id: str
    ) -> bool:
        """Move a schedule from ``due_at_ms`` to its next time, if nobody else did first.

        Returns:
            True when this caller claimed the due run (it must start ``run_id``).
        """
        with self._db.write() as conn:
            result = conn.execute(
                update(t.schedules)
                .where(
                    t.schedules.c.id == schedule_id,
                    t.schedules.c.next_run_at_ms == due_at_ms,
                )
                .values(next_run_at_ms=next_run_at_ms, last_run_id=run_id)
            )
            return bool(result.rowcount == 1)

    # leases -----------------------------------------------------------------------------
    def acquire_lease(self, name: str, owner: str, ttl_s: float) -> bool:
        """Take or extend the lease ``name`` for ``owner`` if it is free, expired or ours."""
        if not name or not owner or ttl_s <= 0:
            raise InvalidInput("a lease needs a name, an owner and a positive ttl")
        now = now_ms()
        values = {
            "name": name,
            "owner": owner,
            "expires_at_ms": now + int(ttl_s * 1000),
            "acquired_at_ms": now,
        }
        stmt = upsert_insert(self._db.dialect, t.leases).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.leases.c.name],
            set_={"owner": owner, "expires_at_ms": values["expires_at_ms"]},
            where=(t.leases.c.expires_at_ms < now) | (t.leases.c.owner == owner),
        )
        with self._db.write() as conn:
            conn.execute(stmt)
            held = conn.execute(select(t.leases.c.owner).where(t.leases.c.name == name)).scalar()
        return bool(held == owner)

    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease back (no-op when ``owner`` does not hold it)."""
        with self._db.write() as conn:
            conn.execute(delete(t.leases).where(t.leases.c.name == name, t.leases.c.owner == owner))

    def get_lease(self, name: str) -> Lease | None:
        """Return the lease ``name`` (expired or not), or None."""
        with self._db.read() as conn:
            row = conn.execute(select(t.leases).where(t.leases.c.name == name)).mappings().first()
        return None if row is None else Lease(**dict(row))

    @staticmethod
    def _require_pipeline_run(conn: Connection, run_id: str) -> None:
        found = conn.execute(select(t.pipeline_runs.c.id).where(t.pipeline_runs.c.id == run_id))
        if found.first() is None:
            raise NotFound("pipeline run", run_id)
