"""Which projects an MLflow request touches, and which of its answers the caller may see.

An MLflow experiment is a loopml run (its holder), so it is in the project its
``loopml.project`` tag names (MLflow's client sets it: ``mlflow.create_experiment(name,
tags={"loopml.project": "fraud"})``); the Default experiment ``0`` and an experiment without
the tag are in ``default``. A run created in an experiment is recorded with the
experiment's project tag (unless the client gave one), so it stays there. Every request is
checked in the project of the experiment, run or logged model it names; a search needs the
permission in some project, and answers only the objects of projects where it is held.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from loopml.governance import (
    DEFAULT_PROJECT,
    PROJECT_TAG,
    ProjectResolver,
    permissions_of,
    projects_with,
    tagged_project,
)
from loopml.server import _mlflow_model as m

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from fastapi import Request

    from loopml.entities import Run
    from loopml.governance import Principal
    from loopml.server._context import ServerContext

#: Searches: the permission in some project, the answer filtered.
SEARCHES = frozenset({"search_experiments", "search_runs", "search_logged_models"})
_EXPERIMENT_HANDLERS = frozenset(
    {
        "get_experiment",
        "update_experiment",
        "delete_experiment",
        "restore_experiment",
        "set_experiment_tag",
    }
)
_MODEL_RUN = re.compile(r"^m-([0-9a-f]{32})-[0-9a-f]{8}$")


class Scope:
    """One MLflow request's caller, its permission, and the projects of what it names."""

    def __init__(self, ctx: ServerContext, principal: Principal, permission: str) -> None:
        self.ctx = ctx
        self.principal = principal
        self.permission = permission
        self.resolver = ProjectResolver(ctx.store)
        self._readable: dict[str, bool] = {}

    def of_experiment(self, experiment_id: Any) -> str:
        """The project of experiment ``experiment_id`` (``0``: default)."""
        text = str(experiment_id or m.DEFAULT_EXPERIMENT_ID)
        return DEFAULT_PROJECT if text == m.DEFAULT_EXPERIMENT_ID else self.resolver.of_run(text)

    def projects(self, handler: str, args: Mapping[str, Any]) -> set[str]:
        """The projects a request of ``handler`` with ``args`` touches (empty: a search)."""
        if handler in SEARCHES:
            return set()
        out: set[str] = set()
        tags = _pairs(args.get("tags"))
        if handler == "create_experiment":
            out.add(tagged_project(tags) or DEFAULT_PROJECT)
        elif handler in _EXPERIMENT_HANDLERS:
            out.add(self.of_experiment(args.get("experiment_id")))
        elif handler == "get_experiment_by_name":
            found = m.find_experiment(self.ctx.store, str(args.get("experiment_name") or ""))
            out.add(self.of_experiment(found.id if found is not None else None))
        elif handler == "create_run":
            out.add(tagged_project(tags) or self.of_experiment(args.get("experiment_id")))
        elif handler == "create_logged_model":
            out.add(self.resolver.of_run(args.get("source_run_id") or ""))
        elif "model_id" in args:
            match = _MODEL_RUN.match(str(args["model_id"]))
            out.add(self.resolver.of_run(match.group(1)) if match else DEFAULT_PROJECT)
        else:
            out.add(self.resolver.of_run(args.get("run_id") or args.get("run_uuid") or ""))
        # A tag write that names another project moves the object there: both count.
        if handler in ("set_tag", "set_experiment_tag") and args.get("key") == PROJECT_TAG:
            out.add(str(args.get("value") or DEFAULT_PROJECT))
        elif handler == "log_batch" and tagged_project(tags):
            out.add(tagged_project(tags) or DEFAULT_PROJECT)
        return out

    def readable(self, project: str) -> bool:
        """Whether the caller holds the request's permission in ``project``."""
        if not self.ctx.auth:
            return True
        if project not in self._readable:
            held = permissions_of(self.principal, project, store=self.ctx.store)
            self._readable[project] = self.permission in held
        return self._readable[project]

    def sees_run(self, run: Run) -> bool:
        """Whether a search may answer ``run`` (or the experiment it holds)."""
        return self.readable(tagged_project(run.tags) or self.resolver.of_run(run.id))


def _pairs(items: object) -> dict[str, str]:
    """MLflow's ``[{key, value}]`` tags as a mapping (a malformed list: none)."""
    if isinstance(items, dict):
        return {str(k): str(v) for k, v in items.items()}
    out: dict[str, str] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out[item["key"]] = str(item.get("value") or "")
    return out


#: The scope of the MLflow request a handler is answering (set around each handler call).
CURRENT: ContextVar[Scope | None] = ContextVar("loopml_mlflow_scope", default=None)


def visible(run: Run) -> bool:
    """Whether the current request's caller may see ``run`` (True outside a request)."""
    scope = CURRENT.get()
    return scope is None or scope.sees_run(run)


def visible_experiment(experiment_id: Any) -> bool:
    """Whether the current request's caller may see experiment ``experiment_id``."""
    scope = CURRENT.get()
    return scope is None or scope.readable(scope.of_experiment(experiment_id))


def visible_run_id(run_id: Any) -> bool:
    """Whether the current request's caller may see run ``run_id``."""
    scope = CURRENT.get()
    return scope is None or scope.readable(scope.resolver.of_run(str(run_id)))


def authorize_in(
    ctx: ServerContext, request: Request, permission: str, projects: Iterable[str]
) -> None:
    """Check ``permission`` in every one of ``projects`` (each refusal audited); none:
    the permission held in some project is enough."""
    wanted = sorted(set(projects))
    if not wanted:
        principal = ctx.principal(request)
        if ctx.auth and not projects_with(principal, permission, store=ctx.store):
            ctx.require(permission, project=lambda _request: None)(request)
        return
    for project in wanted:
        ctx.require(permission, project=_fixed(project))(request)


def _fixed(project: str) -> Callable[[Request], str | None]:
    return lambda _request: project


def run_project(ctx: ServerContext, run_id: str) -> str:
    """The project of run ``run_id`` (an artifact route's run)."""
    return ProjectResolver(ctx.store).of_run(run_id)


def scope_for(ctx: ServerContext, request: Request, permission: str) -> Scope:
    """The scope of ``request`` (its caller authenticated: 401 first)."""
    return Scope(ctx, ctx.principal(request), permission)


__all__ = [
    "CURRENT",
    "SEARCHES",
    "Scope",
    "authorize_in",
    "run_project",
    "scope_for",
    "visible",
    "visible_experiment",
    "visible_run_id",
]
