"""The server context every router takes: the workspace and the auth dependencies.

A router factory (``artifact_router(ctx)``, ``mlflow_router(ctx)``, the store routes) gets
one :class:`ServerContext` and declares, per route, the permission it needs::

    def artifact_router(ctx: ServerContext) -> fastapi.APIRouter:
        router = fastapi.APIRouter()

        @router.get("/api/v1/artifacts/{digest}")
        def get_artifact(
            digest: str, principal: Principal = fastapi.Depends(ctx.require("runs.read"))
        ) -> ...:
            store = ctx.workspace.artifacts
            ...

        return router

``ctx.require(permission)`` authenticates the request (``Authorization: Bearer <token>``,
401 for a missing, wrong, expired or revoked token), then authorises it against the
permission matrix (403 naming the permission, the refusal audited); it never looks the
object up, so neither answer reveals whether it exists. ``ctx.authenticate`` is the
dependency for routes open to any signed-in account. Raising a :class:`~loopml.errors.LoopmlError`
from a route is enough: the app turns it into the JSON error body and the status of
:data:`loopml.server.STATUS` (``NotFound`` 404, ``Conflict`` 409, ...).

Auth modes: ``auth=True`` (the default, fail-closed) needs a token on every request except
``GET /api/v1/health`` and the OpenAPI schema; an admin bootstraps the first account with
``loopml users add NAME --role admin`` and ``loopml tokens create NAME`` on the server's
home, which never needs the server. ``auth=False`` (``loopml server --no-auth``, for the
embedded, single-user case on loopback) acts as the workspace's local principal
(:func:`loopml.governance.local_principal`: the bootstrap admin on a fresh home).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request

from loopml.errors import Unauthenticated
from loopml.governance import (
    DEFAULT_PROJECT,
    Principal,
    authenticate,
    authorize,
    local_principal,
    projects_with,
)
from loopml.store import audit_source
from loopml.store.rest import IDEMPOTENCY_HEADER

if TYPE_CHECKING:
    from loopml.store import Store
    from loopml.workspace import Workspace

ProjectOf = Callable[[Request], "str | None"]


def source_of(request: Request) -> str:
    """The "from where" audit entries of ``request`` record: ``http:<client address>``."""
    return f"http:{request.client.host if request.client else '?'}"


#: Routes whose objects belong to no project (artifact blobs, named by their digest): a
#: read or write there needs the permission in some project; administration (deleting
#: blobs) needs it on ``*``.
_PROJECTLESS_PREFIXES = ("/api/v1/artifacts",)
_PROJECTLESS_PERMISSIONS = frozenset({"runs.read", "runs.write"})


def _projectless(request: Request) -> bool:
    return request.url.path.startswith(_PROJECTLESS_PREFIXES) and not (
        request.query_params.get("project") or request.path_params.get("project")
    )


def _request_project(request: Request) -> str | None:
    return (
        request.query_params.get("project") or request.path_params.get("project") or DEFAULT_PROJECT
    )


@dataclass
class ServerContext:
    """What a router needs: the workspace it serves and the auth dependencies.

    Args:
        workspace: The server's workspace (its store and artifact store are the server's).
        auth: True (default) requires a bearer token on every request; False acts as the
            workspace's local principal (``--no-auth``).
    """

    workspace: Workspace
    auth: bool = True
    _local: Principal | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        """The workspace's metadata store (a SqlStore on the server)."""
        return self.workspace.store

    def principal(self, request: Request) -> Principal:
        """Who sent ``request`` (401 for a missing, wrong, expired or revoked token)."""
        cached = getattr(request.state, "principal", None)
        if isinstance(cached, Principal):
            return cached
        if not self.auth:
            if self._local is None:
                self._local = local_principal(self.workspace.actor, store=self.store)
            principal = self._local
        else:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated(
                    "this server needs an API token (Authorization: Bearer <token>)",
                    hint="Set LOOPML_TOKEN (create one with `loopml tokens create USER`).",
                )
            principal = authenticate(token.strip(), store=self.store)
        request.state.principal = principal
        return principal

    @property
    def authenticate(self) -> Callable[[Request], Principal]:
        """FastAPI dependency: the signed-in principal, no permission checked."""
        return self.principal

    def require(
        self, permission: str, *, project: ProjectOf | None = None
    ) -> Callable[[Request], Principal]:
        """FastAPI dependency: the principal, once it holds ``permission``.

        Args:
            permission: One of :data:`loopml.governance.PERMISSIONS` (``"runs.write"``).
            project: Reads the project the permission is checked in from the request
                (default: a ``project`` query or path parameter, else ``default``; on
                the artifact routes, whose blobs belong to no project, reading and
                writing need the permission in some project, deleting it on ``*``).

        Raises:
            Unauthenticated: No valid token (401).
            PermissionDenied: The principal lacks ``permission``; the refusal is in the
                audit log (403).
        """
        project_of = project or _request_project

        def dependency(request: Request) -> Principal:
            principal = self.principal(request)
            scope = project_of(request)
            if project is None and _projectless(request):
                if permission in _PROJECTLESS_PERMISSIONS and (
                    not self.auth or projects_with(principal, permission, store=self.store)
                ):
                    return principal
                scope = None
            with audit_source(source_of(request)):
                authorize(
                    principal,
                    permission,
                    f"route:{request.method} {request.url.path}",
                    project=scope,
                    store=self.store,
                )
            return principal

        dependency.__name__ = f"require_{permission.replace('.', '_')}"
        return dependency


__all__ = ["IDEMPOTENCY_HEADER", "ServerContext", "source_of"]
