"""Models pages: registered models, versions, aliases and their history, evaluations,
the model card, and the approve / reject / promote / roll back actions.

Each action authorises through the same permission as its REST route (``models.approve``
for decisions, ``models.promote`` for moving an alias) before the registry function runs,
and the registry applies its own rules (the four-eyes rule, gates) to the principal's
actor; a refusal shows on the page with the API's status code (403 for a permission).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from loopml import registry
from loopml.errors import LoopmlError
from loopml.server._ui import form_fields
from loopml.store.rest import status_of

if TYPE_CHECKING:
    from loopml.server._ui import Ui


def _model_view(ui: Ui, name: str) -> dict[str, Any]:
    store = ui.ctx.store
    model = store.get_model(name)
    versions = sorted(store.list_model_versions(name), key=lambda v: -v.number)
    evaluations = {v.number: store.list_evaluations(name, v.number, limit=5) for v in versions}
    return {
        "model": model,
        "versions": versions,
        "evaluations": evaluations,
        "history": list(reversed(store.alias_history(name))),
        "events": list(reversed(store.list_model_events(name)))[:100],
        "requests": registry.list_requests(name, store=store),
        "aliases": sorted({a for v in versions for a in v.aliases}),
    }


def register(router: APIRouter, ui: Ui) -> None:
    """Add the models pages and actions to ``router``."""
    read = ui.need("models.read")

    def page(request: Request, name: str, error: LoopmlError | None = None) -> HTMLResponse:
        status = status_of(error) if error is not None else 200
        return ui.render(request, "model.html", status=status, error=error, **_model_view(ui, name))

    async def act(request: Request, name: str, action: Any) -> Response:
        fields = await form_fields(request)
        try:
            await run_in_threadpool(action, fields)
        except LoopmlError as exc:
            return await run_in_threadpool(page, request, name, exc)
        return RedirectResponse(f"/models/{name}", status_code=303)

    @router.get("/models", response_class=HTMLResponse, dependencies=[Depends(read)])
    def models_list(request: Request) -> HTMLResponse:
        store = ui.ctx.store
        models = store.list_models(limit=1000)
        versions = {m.name: store.list_model_versions(m.name) for m in models}
        return ui.render(request, "models.html", models=models, versions=versions)

    @router.get("/models/{name}", response_class=HTMLResponse, dependencies=[Depends(read)])
    def model_page(request: Request, name: str) -> HTMLResponse:
        return page(request, name)

    @router.get(
        "/models/{name}/{number}/card", response_class=HTMLResponse, dependencies=[Depends(read)]
    )
    def model_card(request: Request, name: str, number: int) -> HTMLResponse:
        data = registry.card_data(
            f"models:/{name}/{number}", store=ui.ctx.store, artifacts=ui.ctx.workspace.artifacts
        )
        return ui.render(
            request, "card.html", name=name, number=number, markdown=registry.render_markdown(data)
        )

    @router.post(
        "/models/{name}/requests/{request_id}/approve",
        dependencies=[Depends(ui.need("models.approve"))],
    )
    async def approve(request: Request, name: str, request_id: str) -> Response:
        return await act(
            request,
            name,
            lambda f: registry.approve(
                request_id,
                comment=f.get("comment", ""),
                store=ui.ctx.store,
                actor=ui.principal(request).actor(),
            ),
        )

    @router.post(
        "/models/{name}/requests/{request_id}/reject",
        dependencies=[Depends(ui.need("models.approve"))],
    )
    async def reject(request: Request, name: str, request_id: str) -> Response:
        return await act(
            request,
            name,
            lambda f: registry.reject(
                request_id,
                comment=f.get("comment", ""),
                store=ui.ctx.store,
                actor=ui.principal(request).actor(),
            ),
        )

    @router.post(
        "/models/{name}/requests/{request_id}/promote",
        dependencies=[Depends(ui.need("models.promote"))],
    )
    async def promote(request: Request, name: str, request_id: str) -> Response:
        return await act(
            request,
            name,
            lambda f: registry.promote(
                request_id,
                reason=f.get("reason") or "promoted in the UI",
                store=ui.ctx.store,
                actor=ui.principal(request).actor(),
            ),
        )

    @router.post(
        "/models/{name}/aliases/{alias}/rollback", dependencies=[Depends(ui.need("models.promote"))]
    )
    async def rollback(request: Request, name: str, alias: str) -> Response:
        return await act(
            request,
            name,
            lambda f: registry.rollback(
                name,
                alias,
                reason=f.get("reason") or "rolled back in the UI",
                store=ui.ctx.store,
                actor=ui.principal(request).actor(),
            ),
        )
