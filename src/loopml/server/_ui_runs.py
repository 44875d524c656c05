"""Runs pages: the list (filter, sort, columns, infinite scroll), a run, a comparison.

Columns are picked from the param and metric keys of the filtered runs (``/runs/keys``,
fetched by the page: the keys of the first :data:`KEY_SAMPLE` matching runs, searchable)
and travel in the URL as repeated ``col`` values or one comma-separated ``columns``.

The list pages through the store's ``search_runs`` (SQL with indexes; never every run) and
parses the filter with the CLI's own parser, so its caret errors show inline. A run page
lists metric names with their summaries and mounts a chart only when it scrolls into view
or is opened, so a run with thousands of metrics opens at once.
"""

from __future__ import annotations

import csv
import io
import math
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from loopml.entities import RunQuery
from loopml.errors import InvalidInput, NotFound
from loopml.tracking import parse_filter, parse_order_by

if TYPE_CHECKING:
    from loopml.entities import MetricSummary, Run
    from loopml.server._ui import Ui

PAGE_SIZE = 50
#: Charts mounted (lazily, when scrolled into view) without being asked for.
FIRST_CHARTS = 12
_PREVIEW_BYTES = 256 * 1024
_TEXT = (".txt", ".log", ".md", ".json", ".yaml", ".yml", ".py", ".toml", ".cfg", ".ini")
_IMAGE = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}
_TABLE = (".csv", ".tsv", ".parquet")
_SANDBOX = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
#: The picker offers the keys of this many matching runs (in the list's order).
KEY_SAMPLE = 1_000
#: Keys the picker lists at once; typing narrows the rest.
KEYS_SHOWN = 100


def _columns(text: str) -> list[str]:
    out = []
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        scope, dot, key = name.partition(".")
        if not dot or scope not in ("params", "metrics", "tags") or not key:
            raise InvalidInput(
                f"unknown column {name!r}",
                hint="Columns are params.KEY, metrics.KEY or tags.KEY, comma-separated.",
            )
        out.append(name)
    return out


def _chosen(columns: str, cols: list[str]) -> list[str]:
    """The chosen columns: ``columns`` (comma-separated) then each ``col``, once each."""
    return list(dict.fromkeys(_columns(columns) + _columns(",".join(cols))))


def _known_keys(ui: Ui, filter: str, order: str) -> tuple[list[str], int]:
    """``params.K`` and ``metrics.K`` of the first KEY_SAMPLE matching runs, and how many
    runs were looked at."""
    query = RunQuery(where=parse_filter(filter), order_by=parse_order_by(order), limit=KEY_SAMPLE)
    runs = ui.ctx.store.search_runs(query)
    params = {f"params.{k}" for run in runs for k in run.params}
    metrics = set()
    if runs:
        metrics = {f"metrics.{s.key}" for s in ui.ctx.store.metric_summaries([r.id for r in runs])}
    return sorted(params) + sorted(metrics), len(runs)


def _cell(run: Run, metrics: dict[str, MetricSummary], column: str) -> str:
    scope, _, key = column.partition(".")
    if scope == "params":
        return run.params.get(key, "")
    if scope == "tags":
        return run.tags.get(key, "")
    summary = metrics.get(key)
    if summary is None or summary.latest is None:
        return ""
    return f"{summary.latest:.4g}"


def _page(ui: Ui, filter: str, order: str, columns: list[str], page: int) -> dict[str, Any]:
    """One page of runs and the values of the chosen columns."""
    query = RunQuery(
        where=parse_filter(filter),
        order_by=parse_order_by(order),
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    runs = ui.ctx.store.search_runs(query)
    per_run: dict[str, dict[str, MetricSummary]] = {}
    if runs and any(c.startswith("metrics.") for c in columns):
        for s in ui.ctx.store.metric_summaries([r.id for r in runs]):
            per_run.setdefault(s.run_id, {})[s.key] = s
    rows = [(run, [_cell(run, per_run.get(run.id, {}), c) for c in columns]) for run in runs]
    return {"rows": rows, "more": len(runs) == PAGE_SIZE, "next_page": page + 1}


def _series(points: list[Any]) -> dict[str, list[Any]]:
    def clean(v: float | None) -> float | None:
        return None if v is None or not math.isfinite(v) else v

    return {
        "step": [p.step for p in points],
        "time": [p.timestamp_ms / 1000 for p in points],
        "value": [clean(p.value) for p in points],
    }


def _preview(ui: Ui, digest: str, path: str) -> dict[str, Any]:
    lower = path.lower()
    ext = lower[lower.rfind(".") :] if "." in lower else ""
    if ext in _IMAGE:
        return {"kind": "image"}
    if ext in _TABLE:
        try:
            import pandas as pd

            data = ui.ctx.workspace.artifacts.get(digest)
            if ext == ".parquet":
                frame = pd.read_parquet(io.BytesIO(data))
            else:
                frame = pd.read_csv(io.BytesIO(data), sep="\t" if ext == ".tsv" else ",", nrows=50)
            head = frame.head(50)
            return {
                "kind": "table",
                "columns": [str(c) for c in head.columns],
                "rows": [[str(v) for v in row] for row in head.itertuples(index=False)],
                "total": len(frame),
            }
        except (ValueError, ImportError, csv.Error) as exc:
            return {"kind": "none", "why": f"cannot read the table: {exc}"}
    with ui.ctx.workspace.artifacts.open(digest) as reader:
        head = reader.read(_PREVIEW_BYTES)
    if ext in _TEXT or b"\0" not in head[:4096]:
        return {
            "kind": "text",
            "text": head.decode("utf-8", "replace"),
            "clipped": len(head) >= _PREVIEW_BYTES,
        }
    return {"kind": "none", "why": "binary file: download it to look inside"}


def register(router: APIRouter, ui: Ui) -> None:
    """Add the runs pages to ``router``."""
    read = ui.need("runs.read")

    @router.get("/", response_class=HTMLResponse, dependencies=[Depends(read)])
    @router.get("/runs", response_class=HTMLResponse, dependencies=[Depends(read)])
    def runs_list(
        request: Request,
        filter: str = "",
        order: str = "",
        columns: str = "",
        col: list[str] = Query(default_factory=list),  # noqa: B008
        page: int = Query(1, ge=1),
    ) -> HTMLResponse:
        error: InvalidInput | None = None
        listing: dict[str, Any] = {"rows": [], "more": False, "next_page": 2}
        chosen: list[str] = []
        try:
            chosen = _chosen(columns, col)
            listing = _page(ui, filter, order, chosen, page)
        except InvalidInput as exc:
            error = exc
        return ui.render(
            request,
            "runs.html",
            status=400 if error else 200,
            filter=filter,
            order=order,
            columns=", ".join(chosen) if not error else columns,
            chosen=chosen,
            error=error,
            page=page,
            **listing,
        )

    @router.get("/runs/count", dependencies=[Depends(read)])
    def runs_count(filter: str = "") -> HTMLResponse:
        # Counting every match costs as much as the page itself on 100,000 runs: the list
        # arrives first and the count follows.
        total = ui.ctx.store.count_runs(RunQuery(where=parse_filter(filter)))
        return HTMLResponse(f"{total:,} matching")

    @router.get("/runs/keys", response_class=HTMLResponse, dependencies=[Depends(read)])
    def runs_keys(
        request: Request,
        filter: str = "",
        order: str = "",
        columns: str = "",
        col: list[str] = Query(default_factory=list),  # noqa: B008
        q: str = "",
    ) -> HTMLResponse:
        try:
            chosen = _chosen(columns, col)
            keys, sampled = _known_keys(ui, filter, order)
        except InvalidInput as exc:  # the picker says so; the list shows the caret error
            return ui.render(
                request, "_column_keys.html", chosen=[], keys=[], hidden=0, message=str(exc)
            )
        needle = q.strip().lower()
        matching = [k for k in keys if k not in chosen and needle in k.lower()]
        return ui.render(
            request,
            "_column_keys.html",
            chosen=chosen,
            keys=matching[:KEYS_SHOWN],
            hidden=max(0, len(matching) - KEYS_SHOWN),
            total=len(keys),
            sampled=sampled,
            sample=KEY_SAMPLE,
            message="",
        )

    @router.get("/runs/rows", response_class=HTMLResponse, dependencies=[Depends(read)])
    def runs_rows(
        request: Request,
        filter: str = "",
        order: str = "",
        columns: str = "",
        page: int = Query(1, ge=1),
    ) -> HTMLResponse:
        chosen = _columns(columns)
        listing = _page(ui, filter, order, chosen, page)
        return ui.render(
            request,
            "_runs_rows.html",
            filter=filter,
            order=order,
            columns=columns,
            chosen=chosen,
            **listing,
        )

    @router.get("/runs/{run_id}", response_class=HTMLResponse, dependencies=[Depends(read)])
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        store = ui.ctx.store
        run = store.get_run(run_id)
        summaries = sorted(store.metric_summaries([run_id]), key=lambda s: s.key)
        metrics = [s for s in summaries if not s.key.startswith("system/")]
        system = [s for s in summaries if s.key.startswith("system/")]
        children = store.search_runs(RunQuery(parent_id=run_id, limit=100))
        return ui.render(
            request,
            "run.html",
            run=run,
            metrics=metrics,
            system=system,
            first_charts=FIRST_CHARTS,
            artifacts=store.list_run_artifacts(run_id),
            children=children,
        )

    @router.get("/runs/{run_id}/metric", dependencies=[Depends(read)])
    def run_metric(run_id: str, key: str) -> JSONResponse:
        return JSONResponse(
            {"run": run_id, "key": key, **_series(ui.ctx.store.metric_history(run_id, key))}
        )

    @router.get(
        "/runs/{run_id}/artifacts/{path:path}",
        response_class=HTMLResponse,
        dependencies=[Depends(read)],
    )
    def artifact_page(request: Request, run_id: str, path: str, raw: bool = False) -> Response:
        found = {a.path: a for a in ui.ctx.store.list_run_artifacts(run_id)}
        if path not in found:
            raise NotFound("run artifact", f"{run_id}/{path}", hint="See the run's artifact list.")
        item = found[path]
        if raw:
            lower = path.lower()
            media = next((m for e, m in _IMAGE.items() if lower.endswith(e)), None)
            return Response(
                ui.ctx.workspace.artifacts.get(item.digest),
                media_type=media or "application/octet-stream",
                headers={
                    "Content-Disposition": f'inline; filename="{quote(path.rsplit("/", 1)[-1])}"',
                    # A run's file is the user's content: an SVG or HTML file must not run
                    # script with this origin's cookie.
                    "Content-Security-Policy": _SANDBOX,
                    "X-Content-Type-Options": "nosniff",
                },
            )
        run = ui.ctx.store.get_run(run_id)
        return ui.render(
            request, "artifact.html", run=run, item=item, preview=_preview(ui, item.digest, path)
        )

    @router.get("/compare", response_class=HTMLResponse, dependencies=[Depends(read)])
    def compare(
        request: Request,
        run: list[str] = Query(default_factory=list),  # noqa: B008
    ) -> HTMLResponse:
        from loopml.server._ui_compare import comparison

        return ui.render(request, "compare.html", **comparison(ui.ctx.store, run))
