"""Monitor windows computed incrementally from the prediction log.

A window plan (``1000``, ``1000/250``, ``1h``, ``1h/15m``) is cut into buckets of the
greatest common divisor of its size and step; each sealed segment of the log is sketched
once per bucket it touches (``_sketch``: counts on the reference's bins, category counts,
missing counts) and the sketch cached in the store, keyed by the segment, the reference
and the bucket plan. A window is the sum of its buckets' sketches, so its drift never
re-reads a row; a window stored as complete is never recomputed. Realised and estimated
performance read only the predictions and labels of the windows being computed (labels
arrive late, so they are not cached).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.errors import InvalidInput, NotFound
from loopml.monitoring._sketch import (
    ColumnSketch,
    merge_sketches,
    profile_key,
    sketch_drift,
    sketch_table,
    sketches_from_json,
    sketches_to_json,
)
from loopml.monitoring._spec import MonitorSpec, load_spec
from loopml.monitoring._windows import Windowing, parse_window

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]
    import pyarrow as pa

    from loopml.entities import MonitorWindow, PredictionSegment
    from loopml.workspace import Workspace


@dataclass(frozen=True)
class Target:
    """What is monitored: a deployment or a model (its predictions under any deployment)."""

    scope: str
    deployment: str | None
    model: str | None


def resolve_target(target: str, workspace: Workspace) -> Target:
    """``deployment:NAME``, ``model:NAME``, or a bare name: a deployment if one has it,
    else a model."""
    kind, _, name = target.partition(":")
    if name and kind == "deployment":
        return Target(target, name, None)
    if name and kind == "model":
        return Target(target, None, name)
    if target.startswith("models:/"):
        bare = target.removeprefix("models:/").split("@")[0].split("/")[0]
        return Target(f"model:{bare}", None, bare)
    try:
        workspace.store.get_deployment(target)
    except NotFound:
        return Target(f"model:{target}", None, target)
    return Target(f"deployment:{target}", target, None)


def _buckets_of(plan: Windowing) -> int:
    return math.gcd(plan.size, plan.step)


@dataclass
class _Bucket:
    rows: int
    start_ms: int
    end_ms: int
    sketches: dict[str, ColumnSketch]


def _sketch_segment(
    table: pa.Table, profile: dict[str, Any], plan: Windowing, offset: int
) -> dict[int, _Bucket]:
    width = _buckets_of(plan)
    times = table.column("time_ms").to_numpy().astype(np.int64)
    order = np.argsort(times, kind="stable")
    table, times = table.take(order), times[order]
    keys = (
        (offset + np.arange(len(times))) // width if plan.by == "count" else times // width
    ).astype(np.int64)
    columns = {
        name: f"in.{name}" if f"in.{name}" in table.column_names else f"out.{name}"
        for name in profile.get("columns") or {}
    }
    out: dict[int, _Bucket] = {}
    cuts = np.flatnonzero(np.diff(keys)) + 1
    for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(keys)], strict=True):
        part = table.slice(lo, hi - lo)
        out[int(keys[lo])] = _Bucket(
            hi - lo, int(times[lo]), int(times[hi - 1]) + 1, sketch_table(profile, part, columns)
        )
    return out


def _bucket_json(buckets: dict[int, _Bucket]) -> str:
    return json.dumps(
        {
            str(k): {
                "rows": b.rows,
                "start_ms": b.start_ms,
                "end_ms": b.end_ms,
                "sketches": sketches_to_json(b.sketches),
            }
            for k, b in buckets.items()
        }
    )


def _bucket_from_json(text: str) -> dict[int, _Bucket]:
    return {
        int(k): _Bucket(v["rows"], v["start_ms"], v["end_ms"], sketches_from_json(v["sketches"]))
        for k, v in json.loads(text).items()
    }


def _read_segment(ws: Workspace, segment: PredictionSegment) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.read_table(pa.BufferReader(ws.artifacts.get(segment.digest)))


def _window_frame(ws: Workspace, tables: list[pa.Table], lo_ms: int, hi_ms: int) -> pd.DataFrame:
    """Predictions of a time span with the latest label of each row joined by id."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keep = ["prediction_id", "row", "time_ms"]
    parts = []
    for table in tables:
        cols = [c for c in table.column_names if c in keep or c.startswith("out.")]
        part = table.select(cols)
        mask = pc.and_(pc.greater_equal(part["time_ms"], lo_ms), pc.less(part["time_ms"], hi_ms))
        parts.append(part.filter(mask))
    frame = pa.concat_tables(parts, promote_options="permissive").to_pandas()
    ids = sorted(set(frame["prediction_id"]))
    feedback = ws.store.get_feedback(ids) if ids else []
    whole = {f.prediction_id: f for f in feedback if f.row is None}
    rows = {(f.prediction_id, f.row): f for f in feedback if f.row is not None}
    picked = [
        rows.get((p, int(r)), whole.get(p))
        for p, r in zip(frame["prediction_id"], frame["row"], strict=True)
    ]
    import pandas as pd

    frame["label"] = pd.Series([None if f is None else f.label for f in picked], dtype=object)
    frame["label_updates"] = [0 if f is None else f.updates for f in picked]
    frame["label_time_ms"] = pd.array(
        [None if f is None else f.updated_at_ms for f in picked], dtype="Int64"
    )
    return frame


def _window_id(scope: str, plan: str, start_ms: int) -> str:
    return hashlib.sha256(f"{scope}|{plan}|{start_ms}".encode()).hexdigest()[:32]


def _summary(report: Any) -> dict[str, Any]:
    out = {}
    for item in (*report.features, *report.predictions):
        out[item.column] = {
            "drifted": item.drifted,
            "role": item.role,
            "effects": {
                t.test: (
                    None
                    if t.effect_size is None or not math.isfinite(t.effect_size)
                    else t.effect_size
                )
                for t in item.tests
            },
        }
    return out


def _clean(metrics: dict[str, float | None]) -> dict[str, float | None]:
    return {
        k: (None if v is None or not math.isfinite(v) else float(v)) for k, v in metrics.items()
    }


def compute_windows(
    target: str,
    *,
    window: str | Windowing = "1000",
    reference: Any = None,
    spec: Any = None,
    recompute: bool = False,
    workspace: Workspace | None = None,
) -> list[MonitorWindow]:
    """Compute and store the monitor windows of a deployment's or a model's log.

    Args:
        target: A deployment name, a model name, ``deployment:NAME``, ``model:NAME`` or
            ``models:/NAME...``.
        window: The window plan (``1000``, ``1000/250``, ``1h``, ``1h/15m``).
        reference: The drift reference (default: the stored profile of the training data
            of the latest model version in the log); anything :func:`drift` takes.
        spec: A monitor spec (per-feature overrides, prediction columns).
        recompute: Recompute windows stored as complete too.
        workspace: The workspace (default: the current one).

    Returns:
        The windows computed now (stored, with lineage to the deployment and the model
        version), oldest first.
    """
    from loopml import lineage
    from loopml.entities import MonitorWindow
    from loopml.ids import ObjectKind, ObjectRef
    from loopml.monitoring._drift import resolve_reference
    from loopml.monitoring._performance import performance
    from loopml.workspace import current_workspace

    ws = workspace if workspace is not None else current_workspace()
    plan = parse_window(window)
    aim = resolve_target(target, ws)
    rules: MonitorSpec = load_spec(spec)
    segments = ws.store.list_prediction_segments(deployment=aim.deployment, model=aim.model)
    if not segments:
        return []
    latest = segments[-1]
    if reference is None:
        if latest.version is None:
            raise InvalidInput(
                f"the log of {aim.scope} names no model version to take a reference from",
                hint="Pass reference= (a dataset ref, a profile or a DataFrame).",
            )
        reference = f"models:/{latest.model}/{latest.version}"
    profile, ref_name = resolve_reference(reference, ws)
    width = _buckets_of(plan)
    offsets = np.cumsum([0, *[s.rows for s in segments]]).tolist()
    base = f"{profile_key(profile)}|{plan.by}|{width}"
    keys = {
        s.id: hashlib.sha256(
            f"{base}|{offsets[i] if plan.by == 'count' else 0}".encode()
        ).hexdigest()[:32]
        for i, s in enumerate(segments)
    }
    # which windows exist, and which of them still need computing
    total_rows = int(offsets[-1])
    first_ms = min(s.start_ms for s in segments)
    last_ms = max(s.end_ms for s in segments)
    starts: list[int]
    if plan.by == "count":
        starts = list(range(0, max(total_rows - plan.size, 0) + 1, plan.step))
        if starts[-1] + plan.size < total_rows:
            starts.append(starts[-1] + plan.step)
    else:
        begin = ((first_ms - plan.size) // plan.step + 1) * plan.step
        starts = list(range(begin, last_ms + 1, plan.step))
    stored = {
        w.start_ms: w for w in ws.store.list_monitor_windows(scope=aim.scope, plan=plan.describe())
    }
    # count windows are stored under their first row's time; keep a map by row offset
    stored_by_offset = {
        int(w.drift.get("__offset__", {}).get("rows", -1)): w for w in stored.values()
    }
    todo = []
    for start in starts:
        done = stored_by_offset.get(start) if plan.by == "count" else stored.get(start)
        if done is not None and done.complete and not recompute:
            continue
        todo.append(start)
    if not todo:
        return []
    per = plan.size // width
    needed = {b for s in todo for b in range(s // width, s // width + per)}

    def touches(i: int, seg: PredictionSegment) -> bool:
        if plan.by == "count":
            lo, hi = offsets[i] // width, (offsets[i + 1] - 1) // width
        else:
            lo, hi = seg.start_ms // width, seg.end_ms // width
        return any(lo <= b <= hi for b in needed)

    wanted = [(i, s) for i, s in enumerate(segments) if touches(i, s)]
    cached: dict[str, str] = {}
    for key in {keys[s.id] for _, s in wanted}:
        ids = [s.id for _, s in wanted if keys[s.id] == key]
        cached.update(ws.store.get_monitor_sketches(ids, key))
    buckets: dict[int, list[_Bucket]] = {}
    tables: dict[str, pa.Table] = {}
    for i, seg in wanted:
        if seg.id in cached:
            sketched = _bucket_from_json(cached[seg.id])
        else:
            tables[seg.id] = _read_segment(ws, seg)
            sketched = _sketch_segment(tables[seg.id], profile, plan, int(offsets[i]))
            ws.store.put_monitor_sketch(seg.id, keys[seg.id], _bucket_json(sketched))
        for b, bucket in sketched.items():
            buckets.setdefault(b, []).append(bucket)
    edges_base = []
    if aim.deployment is not None:
        edges_base.append(ObjectRef(ObjectKind.DEPLOYMENT, aim.deployment))
    out: list[MonitorWindow] = []
    scores = set(rules.predictions)
    for start in todo:
        parts = [p for b in range(start // width, start // width + per) for p in buckets.get(b, [])]
        if not parts:
            continue
        rows = sum(p.rows for p in parts)
        lo_ms = min(p.start_ms for p in parts)
        hi_ms = max(p.end_ms for p in parts)
        if plan.by == "count":
            span = (lo_ms, hi_ms)
            complete = rows >= plan.size
        else:
            span = (start, start + plan.size)
            complete = start + plan.size <= last_ms
        merged = merge_sketches([p.sketches for p in parts])
        outputs = {n for n, sk in merged.items() if sk.source.startswith("out.")}
        report = sketch_drift(
            profile,
            merged,
            rows,
            spec=rules,
            predictions=scores | outputs,
            reference=ref_name,
            current=f"{aim.scope} window {plan.describe()} @ {span[0]}",
        )
        body = report.to_dict()
        body["sketch"] = json.loads(sketches_to_json(merged))  # for the report's plots
        digest = ws.artifacts.put(json.dumps(body, default=str).encode())
        # performance from the window's own rows (labels are joined as they stand now)
        in_window = []
        for _, seg in wanted:
            if seg.start_ms < hi_ms and seg.end_ms >= lo_ms:
                if seg.id not in tables:
                    tables[seg.id] = _read_segment(ws, seg)
                in_window.append(tables[seg.id])
        realised: dict[str, float | None] = {}
        estimated: dict[str, float | None] = {}
        labelled = 0
        frame = _window_frame(ws, in_window, lo_ms, hi_ms)
        if plan.by == "count" and len(frame) > rows:
            frame = frame.sort_values("time_ms", kind="stable").iloc[-rows:]
        try:
            perf = performance(frame, window=str(max(len(frame), 1)))
        except InvalidInput:
            perf = None
        if perf is not None and perf.windows:
            realised = _clean(perf.windows[0].realised)
            estimated = _clean(perf.windows[0].estimated)
            labelled = perf.windows[0].labelled
        versions = sorted({(s.model, s.version) for _, s in wanted if s.version is not None})
        model, version = versions[-1] if versions else (latest.model, latest.version)
        drift_summary = _summary(report)
        if plan.by == "count":
            drift_summary["__offset__"] = {"rows": start}
        item = MonitorWindow(
            id=_window_id(aim.scope, plan.describe(), span[0]),
            scope=aim.scope,
            plan=plan.describe(),
            start_ms=span[0],
            end_ms=span[1],
            rows=rows,
            complete=complete,
            drifted=report.drifted,
            drift=drift_summary,
            realised=realised,
            estimated=estimated,
            labelled=labelled,
            model=model,
            version=version,
            deployment=aim.deployment,
            report_digest=digest,
        )
        me = ObjectRef(ObjectKind.MONITOR_WINDOW, item.id)
        sources = list(edges_base)
        if version is not None:
            from loopml.registry import get_version

            try:
                mv = get_version(f"{model}/{version}", store=ws.store)
                sources.append(ObjectRef(ObjectKind.MODEL_VERSION, mv.id))
            except NotFound:
                pass
        edges = [lineage.edge(src, me, lineage.Relation.MONITORED) for src in sources]
        out.append(ws.store.put_monitor_window(item, actor=ws.actor.name, edges=edges))
    return out


def latest_windows(
    target: str,
    *,
    window: str | None = None,
    limit: int = 1,
    workspace: Workspace | None = None,
) -> list[MonitorWindow]:
    """The latest stored windows of a deployment or model, newest first.

    Each carries per-feature drift (``drift``), realised and estimated metrics: what alerts
    and the closed loop read. ``window`` picks one plan (default: any).
    """
    from loopml.workspace import current_workspace

    ws = workspace if workspace is not None else current_workspace()
    aim = resolve_target(target, ws)
    plan = None if window is None else parse_window(window).describe()
    return ws.store.list_monitor_windows(scope=aim.scope, plan=plan, limit=limit, newest_first=True)


def window_sketches(
    window: MonitorWindow, workspace: Workspace | None = None
) -> dict[str, ColumnSketch]:
    """The merged sketch of a window's columns, as stored with its report."""
    from loopml.workspace import current_workspace

    if window.report_digest is None:
        return {}
    ws = workspace if workspace is not None else current_workspace()
    body = json.loads(ws.artifacts.get(window.report_digest))
    return sketches_from_json(json.dumps(body.get("sketch") or {}))


def window_report(window: MonitorWindow, workspace: Workspace | None = None) -> Any:
    """The full :class:`DriftReport` stored with a window (None if it has none)."""
    from loopml.monitoring._report import DriftReport
    from loopml.workspace import current_workspace

    if window.report_digest is None:
        return None
    ws = workspace if workspace is not None else current_workspace()
    return DriftReport.from_dict(json.loads(ws.artifacts.get(window.report_digest)))


@dataclass(frozen=True)
class WindowValue:
    """One monitored quantity of a stored window, flat (what alerts and gauges read).

    ``kind`` is ``drift`` (``subject``: the column, ``statistic``: the test, ``value``: its
    effect size, ``alarm``: the column drifted), ``metric`` (realised) or
    ``estimated_metric`` (``subject`` and ``metric``: the metric's name). The attribute
    names match the alert rules' monitored values and the Prometheus exporter's points.
    """

    kind: str
    subject: str
    value: float
    deployment: str
    model: str
    version: int | None
    window_id: str
    statistic: str = ""
    alarm: bool = False

    @property
    def feature(self) -> str:
        """The column (drift values)."""
        return self.subject

    @property
    def metric(self) -> str:
        """The metric's name (metric values)."""
        return self.subject

    @property
    def bound(self) -> float | None:
        """No confidence bound is kept with a stored window."""
        return None


def window_values(window: MonitorWindow) -> list[WindowValue]:
    """Every drift effect, realised and estimated metric of ``window``, flat."""
    dep, model, version, ident = (
        window.deployment or "",
        window.model or "",
        window.version,
        window.id,
    )
    out: list[WindowValue] = []
    for column, item in window.drift.items():
        if column.startswith("__") or not isinstance(item, dict):
            continue
        for test, effect in (item.get("effects") or {}).items():
            if effect is not None:
                out.append(
                    WindowValue(
                        "drift",
                        column,
                        float(effect),
                        dep,
                        model,
                        version,
                        ident,
                        statistic=test,
                        alarm=bool(item.get("drifted")),
                    )
                )
    for kind, metrics in (("metric", window.realised), ("estimated_metric", window.estimated)):
        for name, value in metrics.items():
            if value is not None:
                out.append(WindowValue(kind, name, float(value), dep, model, version, ident))
    return out
