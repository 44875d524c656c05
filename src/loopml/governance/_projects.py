"""Which project an object is in, and so which role grants a request is checked against.

A project is a name. Runs and registered models carry it in the reserved tag
``loopml.project`` (a child run made without one takes its parent's); a model's versions,
aliases, policies, promotion requests and evaluations are in the model's project. Every
other object (datasets, pipelines, features, deployments, ...) and any object without the
tag is in :data:`DEFAULT_PROJECT`. Account administration and the audit log belong to no
project (``None``): only grants bound to every project (``*``) count there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopml.entities import ModelVersion, PromotionRequest, RegisteredModel, Run
from loopml.entities.evaluation import Evaluation

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from loopml.store import Store

#: The reserved tag naming the project of a run or a registered model.
PROJECT_TAG = "loopml.project"
#: The project of every object that names none.
DEFAULT_PROJECT = "default"

#: Operations on account administration and the whole log: no project.
_GLOBAL_AREAS = frozenset({"governance", "references"})
#: Maintenance across every project's runs.
_GLOBAL_OPERATIONS = frozenset({"mark_stale_runs_crashed", "purge_deleted_runs"})
#: Operations whose ``project`` argument is the project they act on (``*``: every one).
_PROJECT_ARGUMENT = frozenset({"grant_role", "revoke_role", "set_role_permission"})
#: Reads across projects: allowed to whoever holds the permission in some project, their
#: answer filtered to the projects where it is held.
CROSS_PROJECT_READS = frozenset({"list_runs", "search_runs", "count_runs", "list_models"})
_MODEL_AREAS = frozenset({"models", "approvals", "evaluations"})
#: A lookup that fails (no such object, an id the database cannot even compare) puts the
#: object in the default project; the operation itself then answers what is wrong. Any
#: Exception: a driver's own error on a malformed id must not turn a 403/404 into a 500.
_LOOKUP_FAILED = Exception


def tagged_project(tags: Mapping[str, str] | None) -> str | None:
    """The project a tag mapping names (None when it names none)."""
    value = (tags or {}).get(PROJECT_TAG)
    return value.strip() or None if isinstance(value, str) else None


class ProjectResolver:
    """Looks objects up to find their projects, remembering each answer for one request.

    An object that does not exist is in :data:`DEFAULT_PROJECT`, so a refusal reads the
    same whether it exists or not.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._runs: dict[str, str] = {}
        self._models: dict[str, str] = {}

    def of_run(self, run_id: Any) -> str:
        """The project of run ``run_id`` (its tag, else its parent's, else default)."""
        key = str(run_id)
        if key not in self._runs:
            project = DEFAULT_PROJECT
            try:
                run = self._store.get_run(key)
            except _LOOKUP_FAILED:
                run = None
            if run is not None:
                project = tagged_project(run.tags) or (
                    self.of_run(run.parent_id) if run.parent_id else DEFAULT_PROJECT
                )
            self._runs[key] = project
        return self._runs[key]

    def of_model(self, name: Any) -> str:
        """The project of registered model ``name`` (its tag, else default)."""
        key = str(name)
        if key not in self._models:
            try:
                self._models[key] = (
                    tagged_project(self._store.get_model(key).tags) or DEFAULT_PROJECT
                )
            except _LOOKUP_FAILED:
                self._models[key] = DEFAULT_PROJECT
        return self._models[key]

    def of_request(self, request_id: Any) -> str:
        """The project of a promotion request (its model's)."""
        try:
            return self.of_model(self._store.get_promotion_request(str(request_id)).model_name)
        except _LOOKUP_FAILED:
            return DEFAULT_PROJECT

    def of_evaluation(self, evaluation_id: Any) -> str:
        """The project of an evaluation (its model's)."""
        try:
            name = self._store.get_evaluation(str(evaluation_id)).model_name
        except _LOOKUP_FAILED:
            return DEFAULT_PROJECT
        return self.of_model(name) if name else DEFAULT_PROJECT

    def of_item(self, item: Any) -> str | None:
        """The project of an object a read returned (None: not a project-scoped kind)."""
        # A listed object may come without its tags: look those up.
        if isinstance(item, Run):
            return tagged_project(item.tags) or self.of_run(item.id)
        if isinstance(item, RegisteredModel):
            return tagged_project(item.tags) or self.of_model(item.name)
        if isinstance(item, ModelVersion):
            return self.of_model(item.model_name)
        if isinstance(item, PromotionRequest):
            return self.of_model(item.model_name)
        if isinstance(item, Evaluation):
            return self.of_model(item.model_name) if item.model_name else DEFAULT_PROJECT
        return None

    def projects(self, operation: str, area: str, args: Mapping[str, Any]) -> set[str | None]:
        """Every project a request of ``operation`` with ``args`` touches.

        A write that moves an object to another project (sets ``loopml.project``) touches
        both; an operation on several runs touches each one's.
        """
        if operation in _PROJECT_ARGUMENT:
            project = args.get("project")
            return {None if project in (None, "*") else str(project)}
        if area in _GLOBAL_AREAS or operation in _GLOBAL_OPERATIONS:
            return {None}
        out: set[str | None] = set()
        if area == "runs":
            out |= self._run_projects(operation, args)
        elif area in _MODEL_AREAS:
            out |= self._model_projects(operation, args)
        return out or {DEFAULT_PROJECT}

    def _run_projects(self, operation: str, args: Mapping[str, Any]) -> set[str | None]:
        out: set[str | None] = set()
        if operation == "create_run":
            parent = args.get("parent_id")
            out.add(
                tagged_project(args.get("tags"))
                or (self.of_run(parent) if parent else DEFAULT_PROJECT)
            )
            return out
        if "run_id" in args:
            out.add(self.of_run(args["run_id"]))
            if operation == "set_tags" and tagged_project(args.get("tags")):
                out.add(tagged_project(args.get("tags")))
        for run_id in _many(args.get("run_ids")):
            out.add(self.of_run(run_id))
        for row in _many(args.get("rows")):
            if isinstance(row, (tuple, list)) and row:
                out.add(self.of_run(row[0]))
        return out

    def _model_projects(self, operation: str, args: Mapping[str, Any]) -> set[str | None]:
        out: set[str | None] = set()
        if operation == "create_model":
            out.add(tagged_project(args.get("tags")) or DEFAULT_PROJECT)
            return out
        name = args.get("model_name") if operation == "add_evaluation" else args.get("name")
        if name is not None:
            out.add(self.of_model(name))
            if operation == "update_model" and tagged_project(args.get("tags")):
                out.add(tagged_project(args.get("tags")))
        if "request_id" in args and args["request_id"] is not None:
            out.add(self.of_request(args["request_id"]))
        if "evaluation_id" in args:
            out.add(self.of_evaluation(args["evaluation_id"]))
        return out


def _many(value: Any) -> Iterable[Any]:
    return value if isinstance(value, (list, tuple, set, frozenset)) else ()
