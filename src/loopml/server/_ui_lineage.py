"""Lineage, the loop and the audit log pages.

The lineage page walks upstream and downstream of any object (``kind:id`` or a model URI
such as ``models:/fraud@champion``) and draws the edges with the layered layout; every node
links to its own lineage, so the graph is navigable. The loop page draws, for each model's
champion, the same graph: alert -> trigger -> pipeline run -> run -> model version ->
evaluation -> deployment, as recorded in lineage, next to the triggers and their events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from loopml.errors import InvalidInput, LoopmlError
from loopml.governance import verify_log
from loopml.ids import ModelUri, ObjectRef
from loopml.server._ui_graph import GraphEdge, GraphNode, layout

if TYPE_CHECKING:
    from loopml.server._ui import Ui
    from loopml.store import Store

AUDIT_PAGE = 100


class Describer:
    """Labels and page links for object references (looked up once per request)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._versions: dict[str, tuple[str, int]] | None = None
        self._datasets: dict[str, str] | None = None

    def _version_map(self) -> dict[str, tuple[str, int]]:
        if self._versions is None:
            self._versions = {
                v.id: (v.model_name, v.number)
                for m in self.store.list_models(limit=1000)
                for v in self.store.list_model_versions(m.name)
            }
        return self._versions

    def describe(self, ref: ObjectRef) -> tuple[str, str | None]:
        """``(label, details page or None)`` of ``ref``; unknown objects keep their id."""
        kind, ident = str(ref.kind), ref.id
        try:
            if kind == "run":
                return f"run {self.store.get_run(ident).name}", f"/runs/{ident}"
            if kind == "model_version" and ident in self._version_map():
                name, number = self._version_map()[ident]
                return f"{name} v{number}", f"/models/{quote(name)}"
            if kind == "model":
                return f"model {ident}", f"/models/{quote(ident)}"
            if kind == "dataset_version":
                version = self.store.get_version(ident)
                if self._datasets is None:
                    self._datasets = {d.id: d.name for d in self.store.list_datasets()}
                name = self._datasets.get(version.dataset_id, version.dataset_id)
                return f"{name}@v{version.seq}", f"/data/{quote(name)}"
            if kind == "pipeline_run":
                return f"pipeline {self.store.get_pipeline_run(ident).pipeline}", (
                    f"/pipelines/{ident}"
                )
            if kind == "evaluation":
                ev = self.store.get_evaluation(ident)
                verdict = {True: "passed", False: "failed", None: "no gates"}[ev.passed]
                return f"evaluation ({verdict})", f"/models/{quote(ev.model_name or '')}"
            if kind == "deployment":
                return f"deployment {ident}", f"/deployments/{quote(ident)}"
            if kind == "trigger":
                return f"trigger {ident}", "/loop"
            if kind == "trigger_event":
                return "trigger fired", "/loop"
            if kind == "alert":
                return f"alert {self.store.get_alert(ident).rule}", "/loop"
        except LoopmlError:
            pass
        return f"{kind} …{ident[-10:]}", None


def resolve_ref(store: Store, text: str) -> ObjectRef:
    """``kind:id`` or a model URI (``models:/NAME@ALIAS``, ``models:/NAME/3``) as a ref."""
    text = text.strip()
    if text.startswith("models:/"):
        uri = ModelUri.parse(text)
        version = (
            store.get_alias(uri.name, uri.alias)
            if uri.alias
            else store.get_model_version(uri.name, int(uri.version or 0))
        )
        return ObjectRef("model_version", version.id)
    return ObjectRef.parse(text)


def graph_of(store: Store, ref: ObjectRef, depth: int, *, files: bool = True) -> dict[str, Any]:
    """The lineage around ``ref`` as a laid-out graph plus the edge list (``files=False``
    leaves out stored files, ``artifact:<digest>``, which are leaves of the graph)."""
    describer = Describer(store)
    up = store.upstream(ref, depth=depth)
    down = store.downstream(ref, depth=depth)
    edges = [n.edge for n in up + down]
    if not files:
        edges = [e for e in edges if "artifact" not in (str(e.src.kind), str(e.dst.kind))]
    refs = list(dict.fromkeys([ref, *(e.src for e in edges), *(e.dst for e in edges)]))
    nodes = []
    labels: dict[str, tuple[str, str | None]] = {}
    for r in refs:
        label, page = describer.describe(r)
        labels[str(r)] = (label, page)
        nodes.append(
            GraphNode(
                key=str(r),
                label=label,
                sublabel=f"{r.kind}:…{r.id[-10:]}",
                href=f"/lineage?ref={quote(str(r))}",
                css="focus" if r == ref else str(r.kind),
            )
        )
    graph = layout(nodes, [GraphEdge(str(e.src), str(e.dst), str(e.relation)) for e in edges])
    rows = [(e, labels[str(e.src)], labels[str(e.dst)]) for e in dict.fromkeys(edges)]
    return {"graph": graph, "edge_rows": rows, "labels": labels}


def register(router: APIRouter, ui: Ui) -> None:
    """Add the lineage, loop and audit pages to ``router``."""

    @router.get(
        "/lineage", response_class=HTMLResponse, dependencies=[Depends(ui.need("runs.read"))]
    )
    def lineage_page(
        request: Request, ref: str = "", depth: int = Query(4, ge=1, le=20), files: bool = False
    ) -> HTMLResponse:
        error: LoopmlError | None = None
        view: dict[str, Any] = {}
        focus: ObjectRef | None = None
        if ref:
            try:
                focus = resolve_ref(ui.ctx.store, ref)
                view = graph_of(ui.ctx.store, focus, depth, files=files)
            except LoopmlError as exc:
                error = exc
        return ui.render(
            request,
            "lineage.html",
            status=400 if error else 200,
            ref=ref,
            depth=depth,
            files=files,
            focus=focus,
            error=error,
            view=view,
        )

    @router.get(
        "/loop", response_class=HTMLResponse, dependencies=[Depends(ui.need("deployments.read"))]
    )
    def loop_page(request: Request) -> HTMLResponse:
        store = ui.ctx.store
        chains = []
        for model in store.list_models(limit=1000):
            try:
                champion = store.get_alias(model.name, "champion")
            except LoopmlError:
                continue
            view = graph_of(store, ObjectRef("model_version", champion.id), 8, files=False)
            chains.append((model.name, champion, view))
        events = store.list_trigger_events(limit=200)
        return ui.render(
            request,
            "loop.html",
            triggers=store.list_triggers(),
            events=events,
            chains=chains,
            alerts=store.list_alerts(limit=50),
        )

    @router.get(
        "/audit", response_class=HTMLResponse, dependencies=[Depends(ui.need("audit.read"))]
    )
    def audit_page(
        request: Request,
        actor: str = "",
        action: str = "",
        outcome: str = "",
        object_kind: str = "",
        page: int = Query(1, ge=1),
    ) -> HTMLResponse:
        if outcome and outcome not in ("ok", "denied"):
            raise InvalidInput(f"unknown outcome {outcome!r}", hint="Outcomes: ok, denied.")
        events = ui.ctx.store.list_audit_events(
            offset=(page - 1) * AUDIT_PAGE,
            limit=AUDIT_PAGE + 1,
            actor=actor or None,
            action=action or None,
            outcome=outcome or None,
            object_kind=object_kind or None,
        )
        return ui.render(
            request,
            "audit.html",
            events=events[:AUDIT_PAGE],
            more=len(events) > AUDIT_PAGE,
            page=page,
            actor=actor,
            action=action,
            outcome=outcome,
            object_kind=object_kind,
        )

    @router.get(
        "/audit/verify", response_class=HTMLResponse, dependencies=[Depends(ui.need("audit.read"))]
    )
    def audit_verify(request: Request) -> HTMLResponse:
        return ui.render(request, "_verify.html", result=verify_log(ui.ctx.store))
