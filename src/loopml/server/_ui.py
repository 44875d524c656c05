"""The web UI: server-rendered Jinja2 pages with htmx partials, mounted at ``/``.

``ui_router(ctx)`` is one of the app's optional routers. Pages sign in the same way the
REST API does, with an API token: ``/login`` checks it (``loopml.governance.authenticate``)
and keeps it in an HttpOnly, SameSite=Strict cookie; every page then authorises through
:meth:`ServerContext.require`, so a page and its REST route refuse the same callers. With
``auth=False`` (``loopml ui``, ``loopml server --no-auth``) pages act as the local principal.
The pages themselves live in ``_ui_runs``, ``_ui_models``, ``_ui_ops`` and ``_ui_lineage``.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode

import jinja2
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from loopml._version import __version__
from loopml.errors import InvalidInput, LoopmlError, PermissionDenied, Unauthenticated
from loopml.governance import Principal, authenticate, permissions_of
from loopml.server._ui_format import FILTERS
from loopml.store.rest import status_of

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from loopml.server._context import ServerContext

#: The cookie holding the signed-in browser's API token.
TOKEN_COOKIE = "loopml_token"
_UI_ROOT = Path(str(resources.files("loopml") / "ui"))
_STATIC = _UI_ROOT / "static"

#: Navigation: (label, path, permission needed to see the link).
NAV: tuple[tuple[str, str, str], ...] = (
    ("Runs", "/runs", "runs.read"),
    ("Data", "/data", "data.read"),
    ("Pipelines", "/pipelines", "runs.read"),
    ("Models", "/models", "models.read"),
    ("Deployments", "/deployments", "deployments.read"),
    ("Loop", "/loop", "deployments.read"),
    ("Lineage", "/lineage", "runs.read"),
    ("Audit", "/audit", "audit.read"),
)


@dataclass
class Ui:
    """What every page module needs: the server context, templates and auth helpers."""

    ctx: ServerContext
    env: jinja2.Environment

    def principal(self, request: Request) -> Principal:
        """The signed-in principal: the local one without auth, else the cookie's token."""
        if self.ctx.auth and not request.headers.get("authorization"):
            cached = getattr(request.state, "principal", None)
            if not isinstance(cached, Principal):
                token = request.cookies.get(TOKEN_COOKIE, "").strip()
                if not token:
                    raise _login_needed(request)
                try:
                    request.state.principal = authenticate(token, store=self.ctx.store)
                except Unauthenticated:
                    raise _login_needed(request) from None
        return self.ctx.principal(request)

    def need(self, permission: str) -> Callable[[Request], Principal]:
        """FastAPI dependency: the principal, once it holds ``permission`` (else 403)."""
        check = self.ctx.require(permission)

        def dependency(request: Request) -> Principal:
            self.principal(request)
            if request.method != "GET":
                _same_origin(request)
            return check(request)

        dependency.__name__ = f"ui_{permission.replace('.', '_')}"
        return dependency

    def render(
        self,
        request: Request,
        template: str,
        status: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        """Render ``template`` with the page's principal, its permissions and the nav."""
        principal = self.principal(request)
        allowed = permissions_of(principal, store=self.ctx.store)
        html = self.env.get_template(template).render(
            request=request,
            principal=principal,
            auth=self.ctx.auth,
            can=lambda permission: permission in allowed,
            nav=[(label, path) for label, path, perm in NAV if perm in allowed],
            version=__version__,
            **values,
        )
        return HTMLResponse(html, status_code=status)


_TITLES = {
    400: "Bad request",
    401: "Sign in first",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
}


def _error_page(ui: Ui, request: Request, exc: LoopmlError) -> HTMLResponse:
    """A page's error as HTML (with the API's status code) for a browser."""
    status = status_of(exc)
    values: dict[str, Any] = {
        "request": request,
        "auth": ui.ctx.auth,
        "version": __version__,
        "error": exc,
        "title": _TITLES.get(status, "Something went wrong"),
    }
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal):
        allowed = permissions_of(principal, store=ui.ctx.store)
        values.update(
            principal=principal,
            can=lambda p: p in allowed,
            nav=[(label, path) for label, path, perm in NAV if perm in allowed],
        )
    else:
        values.update(principal=None, can=lambda _p: False, nav=[])
    return HTMLResponse(ui.env.get_template("error.html").render(**values), status_code=status)


def _html_errors(ui: Ui) -> type[APIRoute]:
    """A route class that answers a browser's page request with an HTML error page; API
    clients (no ``text/html`` in Accept) keep the JSON error body."""

    class HtmlErrorRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def route(request: Request) -> Response:
                try:
                    return await handler(request)
                except LoopmlError as exc:
                    if "text/html" not in request.headers.get("accept", ""):
                        raise
                    return await run_in_threadpool(_error_page, ui, request, exc)

            return route

    return HtmlErrorRoute


def _login_needed(request: Request) -> HTTPException:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or request.headers.get("hx-request"):
        return HTTPException(401, "sign in first (the session has no valid token)")
    return HTTPException(303, "sign in first", headers={"Location": f"/login?next={quote(target)}"})


def _same_origin(request: Request) -> None:
    """Cookie-signed writes must come from this server's own pages (CSRF)."""
    origin = request.headers.get("origin")
    if origin and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        raise PermissionDenied(
            f"a form posted from {origin} may not act here",
            hint="Use the server's own pages; API clients send a bearer token.",
            permission="origin",
        )


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a posted form (``application/x-www-form-urlencoded``), first values."""
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


def make_env() -> jinja2.Environment:
    """The template environment (autoescaped HTML, the UI's filters)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_UI_ROOT / "templates")),
        autoescape=jinja2.select_autoescape(("html",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals["urlencode"] = urlencode
    return env


def ui_router(ctx: ServerContext) -> APIRouter:
    """The UI's routes: sign-in, static assets and every page."""
    from loopml.server import _ui_data, _ui_lineage, _ui_models, _ui_ops, _ui_runs

    ui = Ui(ctx, make_env())
    router = APIRouter(include_in_schema=False, route_class=_html_errors(ui))

    @router.get("/static/{path:path}")
    def static(path: str) -> Response:
        target = (_STATIC / path).resolve()
        if not target.is_file() or _STATIC.resolve() not in target.parents:
            raise HTTPException(404, f"no static file {path!r}")
        media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return Response(
            target.read_bytes(), media_type=media, headers={"Cache-Control": "max-age=3600"}
        )

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/", error: str = "") -> HTMLResponse:
        html = ui.env.get_template("login.html").render(
            request=request,
            principal=None,
            auth=ctx.auth,
            can=lambda _p: False,
            nav=[],
            version=__version__,
            next=_safe_next(next),
            error=error,
        )
        return HTMLResponse(html, status_code=401 if error else 200)

    @router.post("/login")
    async def login(request: Request) -> Response:
        fields = await form_fields(request)
        token, next = fields.get("token", ""), fields.get("next", "/")
        try:
            if not token.strip():
                raise InvalidInput("paste an API token to sign in")
            principal = authenticate(token.strip(), store=ctx.store)
        except LoopmlError as exc:
            return login_page(request, next=next, error=str(exc) or "that token is not valid")
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(TOKEN_COOKIE, token.strip(), httponly=True, samesite="strict", path="/")
        response.headers["X-Loopml-User"] = principal.name
        return response

    @router.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(TOKEN_COOKIE, path="/")
        return response

    for module in (_ui_runs, _ui_models, _ui_ops, _ui_data, _ui_lineage):
        module.register(router, ui)
    return router


__all__ = ["NAV", "TOKEN_COOKIE", "Ui", "form_fields", "make_env", "ui_router"]
