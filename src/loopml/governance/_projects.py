"""Which project an object is in, and so which role grants a request is checked against.

A project is a name. Every project-scoped kind resolves to one:

- runs and registered models carry it in the reserved tag ``loopml.project`` (a child run
  made without one takes its parent's; an MLflow run takes its experiment's); a model's
  versions, aliases, policies, promotion requests and evaluations are in the model's;
- a pipeline run and a schedule carry it in the reserved parameter ``loopml.project``;
  a pipeline run's step runs are in its project;
- a feature definition carries it in its spec's tags (``tags: {loopml.project: P}``, as
  a view, entity or service declares it); a name's project is its newest version's, and
  a view's materialisation watermarks are in the view's;
- a dataset has no tags: its ``project`` column, set at creation, holds it (its
  versions, refs and schemas are in the dataset's);
- a deployment is in the project of its stable (first) arm's model.

Any object without one, or that does not exist, is in :data:`DEFAULT_PROJECT`. Account
administration and the audit log belong to no project (``None``): only grants bound to
every project (``*``) count there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from loopml.entities import (
    Alert,
    Dataset,
    Deployment,
    FeatureDefinition,
    FeatureWatermark,
    ModelVersion,
    MonitorWindow,
    PipelineRun,
    PredictionSegment,
    PromotionRequest,
    RegisteredModel,
    Run,
    Schedule,
    StepRun,
)
from loopml.entities.evaluation import Evaluation

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from loopml.store import Store

#: The reserved tag (or parameter) naming the project of an object.
PROJECT_TAG = "loopml.project"
#: The project of every object that names none.
DEFAULT_PROJECT = "default"
#: The feature-definition kind whose watermarks are recorded.
_VIEW_KIND = "feature_view"

#: Operations on account administration and the whole log: no project.
_GLOBAL_AREAS = frozenset({"governance", "references"})
#: Maintenance across every project's runs.
_GLOBAL_OPERATIONS = frozenset({"mark_stale_runs_crashed", "purge_deleted_runs"})
#: Operations whose ``project`` argument is the project they act on (``*``: every one).
_PROJECT_ARGUMENT = frozenset({"grant_role", "revoke_role", "set_role_permission"})
#: Reads across projects: allowed to whoever holds the permission in some project, their
#: answer filtered to the projects where it is held (a single answer hidden: ``None``).
CROSS_PROJECT_READS = frozenset(
    {
        "list_runs",
        "search_runs",
        "count_runs",
        "list_models",
        "list_datasets",
        "list_pipeline_runs",
        "list_schedules",
        "find_cached_step",
        "list_feature_definitions",
        "list_feature_watermarks",
        "list_deployments",
        "list_prediction_segments",
        "list_alerts",
        "list_monitor_windows",
    }
)
#: Operations on objects that belong to no project (a pipeline run's or a scheduler's
#: lease, named freely by its holder): the permission held in some project is enough.
ANY_PROJECT_OPERATIONS = frozenset({"acquire_lease", "release_lease", "get_lease"})
_MODEL_AREAS = frozenset({"models", "approvals", "evaluations"})
#: A lookup that fails (no such object, an id the database cannot even compare) puts the
#: object in the default project; the operation itself then answers what is wrong. Any
#: Exception: a driver's own error on a malformed id must not turn a 403/404 into a 500.
_LOOKUP_FAILED = Exception


def tagged_project(tags: Mapping[str, Any] | None) -> str | None:
    """The project a tag (or parameter) mapping names (None when it names none)."""
    value = (tags or {}).get(PROJECT_TAG)
    return value.strip() or None if isinstance(value, str) else None


def spec_project(spec: Mapping[str, object] | None) -> str | None:
    """The project a feature definition's spec names in its tags (None: none)."""
    tags = (spec or {}).get("tags")
    return tagged_project(tags) if isinstance(tags, dict) else None


def _remembered(cache: dict[str, str], key: Any, find: Callable[[str], str | None]) -> str:
    """``cache[key]``, found once (a failed or empty lookup: the default project)."""
    text = str(key)
    if text not in cache:
        try:
            cache[text] = find(text) or DEFAULT_PROJECT
        except _LOOKUP_FAILED:
            cache[text] = DEFAULT_PROJECT
    return cache[text]


def _existing(find: Callable[[], str | None]) -> str | None:
    """The project of an object that exists (None: there is no such object)."""
    try:
        return find() or DEFAULT_PROJECT
    except _LOOKUP_FAILED:
        return None


class ProjectResolver:
    """Looks objects up to find their projects, remembering each answer for one request.

    An object that does not exist is in :data:`DEFAULT_PROJECT`, so a refusal reads the
    same whether it exists or not.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._runs: dict[str, str] = {}
        self._models: dict[str, str] = {}
        self._seen: dict[str, dict[str, str]] = {}
        self._dataset_ids: dict[str, str] | None = None
        self._schedule_ids: dict[str, str] | None = None

    def _cache(self, kind: str) -> dict[str, str]:
        return self._seen.setdefault(kind, {})

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
        return _remembered(
            self._models, name, lambda key: tagged_project(self._store.get_model(key).tags)
        )

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

    def of_dataset(self, name: Any) -> str:
        """The project of dataset ``name`` (its ``project``)."""
        return _remembered(
            self._cache("dataset"), name, lambda key: self._store.get_dataset(key).project
        )

    def of_dataset_id(self, dataset_id: Any) -> str:
        """The project of the dataset with id ``dataset_id``."""
        if self._dataset_ids is None:
            # Datasets are found by name; one listing per request maps ids (a dataset
            # count is small, and the answer is remembered for the request).
            try:
                self._dataset_ids = {d.id: d.project for d in self._store.list_datasets()}
            except _LOOKUP_FAILED:
                self._dataset_ids = {}
        return self._dataset_ids.get(str(dataset_id), DEFAULT_PROJECT)

    def of_data_version(self, version_id: Any) -> str:
        """The project of a dataset version (its dataset's)."""
        try:
            return self.of_dataset_id(self._store.get_version(str(version_id)).dataset_id)
        except _LOOKUP_FAILED:
            return DEFAULT_PROJECT

    def of_pipeline_run(self, run_id: Any) -> str:
        """The project of a pipeline run (its ``loopml.project`` parameter)."""
        return _remembered(
            self._cache("pipeline_run"),
            run_id,
            lambda key: tagged_project(self._store.get_pipeline_run(key).params),
        )

    def of_schedule(self, name: Any) -> str:
        """The project of schedule ``name`` (its ``loopml.project`` parameter)."""
        return _remembered(
            self._cache("schedule"),
            name,
            lambda key: tagged_project(self._store.get_schedule(key).params),
        )

    def of_schedule_id(self, schedule_id: Any) -> str:
        """The project of the schedule with id ``schedule_id``."""
        if self._schedule_ids is None:
            try:
                self._schedule_ids = {
                    s.id: tagged_project(s.params) or DEFAULT_PROJECT
                    for s in self._store.list_schedules()
                }
            except _LOOKUP_FAILED:
                self._schedule_ids = {}
        return self._schedule_ids.get(str(schedule_id), DEFAULT_PROJECT)

    def of_feature(self, kind: Any, name: Any) -> str:
        """The project of feature definition ``kind``/``name`` (its newest spec's tag)."""
        store: Any = self._store
        return _remembered(
            self._cache("feature"),
            f"{kind}\x00{name}",
            lambda _: spec_project(store.get_feature_definition(str(kind), str(name)).spec),
        )

    def of_deployment(self, name: Any) -> str:
        """The project of deployment ``name`` (its stable arm's model's)."""
        store: Any = self._store
        return _remembered(
            self._cache("deployment"),
            name,
            lambda key: self.of_deployed(store.get_deployment(key)),
        )

    def of_deployed(self, deployment: Deployment) -> str:
        """The project a deployment record is in: its stable (first) arm's model's."""
        return self.of_model(deployment.arms[0].model) if deployment.arms else DEFAULT_PROJECT

    def of_item(self, item: Any) -> str | None:
        """The project of an object a read returned (None: not a project-scoped kind)."""
        # A listed object may come without its tags: look those up.
        if isinstance(item, Run):
            return tagged_project(item.tags) or self.of_run(item.id)
        if isinstance(item, RegisteredModel):
            return tagged_project(item.tags) or self.of_model(item.name)
        if isinstance(item, (ModelVersion, PromotionRequest)):
            return self.of_model(item.model_name)
        if isinstance(item, Evaluation):
            return self.of_model(item.model_name) if item.model_name else DEFAULT_PROJECT
        return self._of_other_item(item)

    def _of_other_item(self, item: Any) -> str | None:
        if isinstance(item, Dataset):
            return item.project
        if isinstance(item, (PipelineRun, Schedule)):
            return tagged_project(item.params) or DEFAULT_PROJECT
        if isinstance(item, StepRun):
            return self.of_pipeline_run(item.pipeline_run_id)
        if isinstance(item, FeatureDefinition):
            return self.of_feature(item.kind, item.name)
        if isinstance(item, FeatureWatermark):
            return self.of_feature(_VIEW_KIND, item.view)
        if isinstance(item, Deployment):
            return self.of_deployed(item)
        if isinstance(item, (PredictionSegment, Alert, MonitorWindow)):
            return self.of_served(item.deployment, item.model)
        return None

    def of_served(self, deployment: str | None, model: str | None) -> str:
        """The project of what a deployment or a model serves: a prediction segment, an
        alert, a monitor window (its deployment's, else its model's)."""
        if deployment:
            return self.of_deployment(deployment)
        return self.of_model(model) if model else DEFAULT_PROJECT

    def of_segments(self, segment_ids: Iterable[Any]) -> set[str | None]:
        """The projects of the prediction segments ``segment_ids``."""
        out: set[str | None] = set()
        for segment_id in segment_ids:
            try:
                segment = self._store.get_prediction_segment(str(segment_id))
            except _LOOKUP_FAILED:
                out.add(DEFAULT_PROJECT)
                continue
            out.add(self.of_served(segment.deployment, segment.model))
        return out

    def of_predictions(self, prediction_ids: Iterable[Any]) -> set[str | None]:
        """The projects of the sealed segments holding ``prediction_ids`` (an id not
        sealed yet names none: the request is then checked as naming no object)."""
        try:
            found = self._store.find_predictions([str(i) for i in prediction_ids])
        except _LOOKUP_FAILED:
            return set()
        return self.of_segments({s for segments in found.values() for s in segments})

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
        if area == "lineage":
            return self._lineage_projects(args)
        out: set[str | None] = set()
        if area == "runs":
            out |= self._run_projects(operation, args)
        elif area in _MODEL_AREAS:
            out |= self._model_projects(operation, args)
        elif area in self._AREAS:
            out |= self._AREAS[area](self, operation, args)
            out.discard(None)  # an object a write creates that does not exist yet
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

    def _dataset_projects(self, operation: str, args: Mapping[str, Any]) -> set[str | None]:
        if operation == "create_dataset":
            return {str(args.get("project") or DEFAULT_PROJECT)}
        out: set[str | None] = set()
        if "name" in args and "dataset_id" not in args:
            out.add(self.of_dataset(args["name"]))
        if "dataset_id" in args:
            out.add(self.of_dataset_id(args["dataset_id"]))
        if "version_id" in args and operation == "get_version":
            out.add(self.of_data_version(args["version_id"]))
        version, create = args.get("version"), args.get("create")
        if isinstance(create, Dataset):
            # A first commit creates the dataset, unless a concurrent one did: then it
            # lands on that dataset, so its project is checked too.
            out.add(create.project)
            out.add(_existing(lambda: self._store.get_dataset(create.name).project))
        elif version is not None and hasattr(version, "dataset_id"):
            out.add(self.of_dataset_id(version.dataset_id))
        return out

    def _pipeline_projects(self, operation: str, args: Mapping[str, Any]) -> set[str | None]:
        out: set[str | None] = set()
        run, schedule, step = args.get("run"), args.get("schedule"), args.get("step")
        if isinstance(run, PipelineRun):
            out.add(tagged_project(run.params) or DEFAULT_PROJECT)
            if operation == "save_pipeline_run":
                out.add(self.of_pipeline_run(run.id))
        if isinstance(step, StepRun):
            out.add(self.of_pipeline_run(step.pipeline_run_id))
        if "pipeline_run_id" in args:
            out.add(self.of_pipeline_run(args["pipeline_run_id"]))
        if "run_id" in args and operation != "claim_schedule":  # there: the run to make
            out.add(self.of_pipeline_run(args["run_id"]))
        if isinstance(schedule, Schedule):
            out.add(tagged_project(schedule.params) or DEFAULT_PROJECT)
        if "name" in args:
            out.add(self.of_schedule(args["name"]))
            if operation == "update_schedule" and isinstance(args.get("params"), dict):
                out.add(tagged_project(args["params"]) or DEFAULT_PROJECT)
        if "schedule_id" in args:
            out.add(self.of_schedule_id(args["schedule_id"]))
        return out

    def _feature_projects(self, operation: str, args: Mapping[str, Any]) -> set[str | None]:
        out: set[str | None] = set()
        if operation == "put_feature_definition":
            spec, store = args.get("spec"), cast("Any", self._store)
            out.add(spec_project(spec if isinstance(spec, dict) else None) or DEFAULT_PROJECT)
            # A new version may move the name to another project: the one it is in counts.
            kind, name = str(args.get("kind")), str(args.get("name"))
            out.add(_existing(lambda: spec_project(store.get_feature_definition(kind, name).spec)))
        elif "kind" in args and "name" in args:
            out.add(self.of_feature(args["kind"], args["name"]))
        if operation == "set_feature_watermark":
            out.add(self.of_feature(_VIEW_KIND, args.get("view")))
        return out

    def _deployment_projects(self, operation: str, args: Mapping[str, Any]) -> set[str | None]:
        out: set[str | None] = set()
        deployment = args.get("deployment")
        if isinstance(deployment, Deployment):
            out.add(self.of_deployed(deployment))
            if operation == "update_deployment":
                out.add(self.of_deployment(deployment.name))
        if "name" in args:
            out.add(self.of_deployment(args["name"]))
        return out

    def _lineage_projects(self, args: Mapping[str, Any]) -> set[str | None]:
        """The projects of the objects a lineage request names: the edges' ends for a
        write, the start for a walk. Empty when none of them is project-scoped (a step
        run, an artifact, an alert): the permission in some project is then enough."""
        refs = [args["ref"]] if args.get("ref") is not None else []
        for edge in _many(args.get("edges")):
            refs += [getattr(edge, "src", None), getattr(edge, "dst", None)]
        out: set[str | None] = set()
        for ref in refs:
            project = self.of_ref(ref)
            if project is not None:
                out.add(project)
        return out

    def of_ref(self, ref: Any) -> str | None:
        """The project of the object a lineage ``ObjectRef`` names (None: a kind that is
        in no project)."""
        kind = str(getattr(getattr(ref, "kind", None), "value", getattr(ref, "kind", "")))
        ident = getattr(ref, "id", None)
        if ident is None:
            return None
        lookup = {
            "run": self.of_run,
            "model": self.of_model,
            "dataset": self.of_dataset_id,
            "dataset_version": self.of_data_version,
            "pipeline_run": self.of_pipeline_run,
            "deployment": self.of_deployment,
            "evaluation": self.of_evaluation,
        }.get(kind)
        return None if lookup is None else lookup(ident)

    def _served_projects(self, operation: str, args: Mapping[str, Any]) -> set[str | None]:
        """Predictions, feedback, alerts and monitor windows: their deployment's project,
        else their model's."""
        store: Any = self._store
        out: set[str | None] = set()
        for key in ("segment", "alert", "window"):
            item = args.get(key)
            if isinstance(item, (PredictionSegment, Alert, MonitorWindow)):
                out.add(self.of_served(item.deployment, item.model))
        if args.get("deployment") or args.get("model"):
            out.add(self.of_served(args.get("deployment"), args.get("model")))
        if "segment_id" in args:
            out |= self.of_segments([args["segment_id"]])
        out |= self.of_segments(_many(args.get("segment_ids")))
        ids = list(_many(args.get("prediction_ids")))
        ids += [getattr(e, "prediction_id", None) for e in _many(args.get("entries"))]
        if ids and "segment" not in args:  # a new segment's ids are not indexed yet
            out |= self.of_predictions(i for i in ids if i)
        for key, get in (("alert_id", store.get_alert), ("window_id", store.get_monitor_window)):
            if key in args:
                try:
                    item = get(str(args[key]))
                except _LOOKUP_FAILED:
                    out.add(DEFAULT_PROJECT)
                else:
                    out.add(self.of_served(item.deployment, item.model))
        return out

    _AREAS: Mapping[str, Callable[[ProjectResolver, str, Mapping[str, Any]], set[str | None]]] = {
        "datasets": _dataset_projects,
        "pipelines": _pipeline_projects,
        "features": _feature_projects,
        "deployments": _deployment_projects,
        "predictions": _served_projects,
        "alerts": _served_projects,
        "monitor": _served_projects,
    }


def _many(value: Any) -> Iterable[Any]:
    return value if isinstance(value, (list, tuple, set, frozenset)) else ()
