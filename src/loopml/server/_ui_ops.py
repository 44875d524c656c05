"""Data, pipelines and deployments pages.

Data: datasets, versions with branches and tags, each table file's stored profile
(histograms, top values, nulls), the validation and personal-data reports (``_ui_data``)
and the file diff of two versions. Pipelines: each run's
steps drawn as a DAG coloured by status, with cache hits, durations, cost, errors and
each step's captured log (loaded when its disclosure opens; ``?raw`` gives plain text).
Deployments: arms and weights, rollout progress, the event history with reasons, latency
and throughput per arm from the prediction log, monitor windows (drift and realised vs
estimated performance over time, charted) and alerts.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from markupsafe import escape

from loopml.data import DataRepo
from loopml.errors import LoopmlError
from loopml.pipelines import read_step_log
from loopml.server._ui_data import pii_rows
from loopml.server._ui_graph import GraphEdge, GraphNode, layout
from loopml.server._ui_traffic import traffic_series

if TYPE_CHECKING:
    from loopml.server._ui import Ui


def _profiles(repo: DataRepo, ref: str) -> list[tuple[str, dict[str, Any]]]:
    manifest = repo.manifest(ref)
    out = []
    for path, entry in sorted(manifest.files.items()):
        if entry.profile is not None:
            out.append((path, json.loads(repo.artifacts.get(entry.profile))))
    return out


def _bars(counts: list[int]) -> list[float]:
    top = max(counts, default=0) or 1
    return [c / top for c in counts]


def _window_series(windows: list[Any]) -> dict[str, Any]:
    """Monitor windows as chart series: drift share and performance over time."""
    times = [w.end_ms / 1000 for w in windows]
    drift: dict[str, list[float | None]] = {}
    perf: dict[str, list[float | None]] = {}
    for i, w in enumerate(windows):
        for feature, value in (w.drift or {}).items():
            effects = value.get("effects", {}) if isinstance(value, dict) else {}
            scores = [float(v) for v in effects.values() if isinstance(v, int | float)]
            if scores and not feature.startswith("__"):
                drift.setdefault(feature, [None] * len(windows))[i] = max(scores)
        for label, source in (("realised", w.realised), ("estimated", w.estimated)):
            for metric, value in (source or {}).items():
                if isinstance(value, int | float):
                    perf.setdefault(f"{label} {metric}", [None] * len(windows))[i] = float(value)
    return {"time": times, "drift": dict(list(drift.items())[:12]), "performance": perf}


def register(router: APIRouter, ui: Ui) -> None:
    """Add the data, pipelines and deployments pages to ``router``."""
    data_read = ui.need("data.read")

    def repo() -> DataRepo:
        return DataRepo.for_workspace(ui.ctx.workspace)

    @router.get("/data", response_class=HTMLResponse, dependencies=[Depends(data_read)])
    def datasets(request: Request) -> HTMLResponse:
        store = ui.ctx.store
        items = [(d, store.list_versions(d.id, limit=1)) for d in store.list_datasets()]
        return ui.render(request, "data.html", datasets=items)

    @router.get("/data/{name}", response_class=HTMLResponse, dependencies=[Depends(data_read)])
    def dataset(
        request: Request, name: str, version: str = "", a: str = "", b: str = ""
    ) -> HTMLResponse:
        store = ui.ctx.store
        found = store.get_dataset(name)
        versions = store.list_versions(found.id, limit=200)
        chosen = next((v for v in versions if v.id == version), versions[0] if versions else None)
        profiles: list[tuple[str, dict[str, Any]]] = []
        diff = None
        error: LoopmlError | None = None
        try:
            if chosen is not None:
                profiles = _profiles(repo(), f"{name}@v{chosen.seq}")
            if a and b:
                diff = repo().diff_files(a, b)
        except LoopmlError as exc:
            error = exc
        return ui.render(
            request,
            "dataset.html",
            status=400 if error else 200,
            dataset=found,
            versions=versions,
            refs=store.list_refs(found.id),
            chosen=chosen,
            profiles=profiles,
            bars=_bars,
            pii_rows=pii_rows,
            diff=diff,
            a=a,
            b=b,
            error=error,
        )

    @router.get(
        "/pipelines", response_class=HTMLResponse, dependencies=[Depends(ui.need("runs.read"))]
    )
    def pipelines(request: Request, page: int = Query(1, ge=1)) -> HTMLResponse:
        runs = ui.ctx.store.list_pipeline_runs(limit=100, offset=(page - 1) * 100)
        return ui.render(request, "pipelines.html", runs=runs, page=page)

    @router.get(
        "/pipelines/{run_id}",
        response_class=HTMLResponse,
        dependencies=[Depends(ui.need("runs.read"))],
    )
    def pipeline_run(request: Request, run_id: str) -> HTMLResponse:
        run = ui.ctx.store.get_pipeline_run(run_id)
        steps = ui.ctx.store.list_step_runs(run_id)
        nodes = [
            GraphNode(
                key=s.name,
                label=s.name,
                sublabel=f"{s.status}{' · cached' if s.cache_hit else ''}"
                + (f" · {s.wall_s:.1f} s" if s.wall_s is not None else ""),
                href=f"#step-{quote(s.name)}",
                css=f"status-{str(getattr(s.status, 'value', s.status)).lower()}",
            )
            for s in steps
        ]
        edges = [GraphEdge(up, s.name) for s in steps for up in s.upstream]
        return ui.render(request, "pipeline.html", run=run, steps=steps, graph=layout(nodes, edges))

    @router.get("/pipelines/{run_id}/log/{step}", dependencies=[Depends(ui.need("runs.read"))])
    def step_log(request: Request, run_id: str, step: str, raw: bool = False) -> Response:
        text = read_step_log(run_id, step, workspace=ui.ctx.workspace)
        if raw or not request.headers.get("hx-request"):
            return PlainTextResponse(text or "", headers={"X-Content-Type-Options": "nosniff"})
        if text is None:
            return HTMLResponse('<p class="muted">This step has no captured output.</p>')
        # htmx swaps the answer in as HTML: the log is text, so it is escaped here.
        return HTMLResponse(f'<pre class="log" tabindex="0">{escape(text)}</pre>')

    dep_read = ui.need("deployments.read")

    @router.get("/deployments", response_class=HTMLResponse, dependencies=[Depends(dep_read)])
    def deployments(request: Request) -> HTMLResponse:
        return ui.render(request, "deployments.html", deployments=ui.ctx.store.list_deployments())

    @router.get(
        "/deployments/{name}", response_class=HTMLResponse, dependencies=[Depends(dep_read)]
    )
    def deployment(request: Request, name: str) -> HTMLResponse:
        store = ui.ctx.store
        found = store.get_deployment(name)
        windows = [w for w in store.list_monitor_windows(limit=500) if w.deployment == name]
        return ui.render(
            request,
            "deployment.html",
            deployment=found,
            events=list(reversed(store.deployment_events(name))),
            windows=windows[-50:],
            alerts=store.list_alerts(deployment=name, limit=50),
        )

    @router.get("/deployments/{name}/traffic", dependencies=[Depends(dep_read)])
    def deployment_traffic(name: str) -> JSONResponse:
        ui.ctx.store.get_deployment(name)
        return JSONResponse(traffic_series(name, ui.ctx.workspace))

    @router.get("/deployments/{name}/windows", dependencies=[Depends(dep_read)])
    def deployment_windows(name: str) -> JSONResponse:
        store = ui.ctx.store
        store.get_deployment(name)
        windows = [w for w in store.list_monitor_windows(limit=500) if w.deployment == name]
        return JSONResponse(_window_series(windows))
