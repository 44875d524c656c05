"""Plugin tables: name -> ``"module:attr"``, resolved lazily.

Kinds: ``executors`` and ``materialisers`` (pipelines), ``checks`` (evaluation),
``flavors`` and ``uri_resolvers`` (models), ``online_stores`` (features). Every name ->
implementation table lives here, so a
dependency that points up the layers (a lower layer calling code of a higher one, such as
``models`` resolving ``runs:/`` URIs through ``tracking``) is declared in one visible
place instead of a string hidden inside a capability; ``tests/test_plugins.py`` checks
that each entry imports. A heavy optional dependency (Dask, ...) is imported only when its
plugin is selected; a missing one raises :class:`~loopml.errors.MissingExtra` naming the
extra to install. Third-party packages add entries through entry points (group
``loopml.<kind>``, e.g. ``loopml.executors``) or at run time with :func:`register`.
Materialisers are tried in table order; user-registered ones (instances, shipped to
workers by value with each task) go first.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from typing import TYPE_CHECKING, Any, Final

from loopml.errors import InvalidInput, MissingExtra

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

#: Built-in plugins per kind: name -> ("module:attr", extra or None, module the extra brings).
BUILTIN: Final[dict[str, dict[str, tuple[str, str | None, str | None]]]] = {
    "executors": {
        "local": ("loopml.pipelines:LocalExecutor", None, None),
        "dask": ("loopml.pipelines:DaskExecutor", "dask", "distributed"),
    },
    # Pipeline step outputs -> Materialiser subclasses, tried in this order (pickle last).
    "materialisers": {
        "pandas.parquet": ("loopml.pipelines._materialisers:ParquetPandas", None, None),
        "arrow.parquet": ("loopml.pipelines._materialisers:ParquetArrow", None, None),
        "numpy.npy": ("loopml.pipelines._materialisers:Numpy", None, None),
        "json": ("loopml.pipelines._materialisers:Json", None, None),
        "sklearn.pickle": ("loopml.pipelines._materialisers:SklearnModel", None, None),
        "pickle": ("loopml.pipelines._materialisers:Pickle", None, None),
    },
    # Model flavours (save/load/predict one kind of model) -> Flavor subclasses.
    "flavors": {
        "sklearn": ("loopml.models._sklearn:SklearnFlavor", None, None),
        "xgboost": ("loopml.models._boosting:XGBoostFlavor", "xgboost", "xgboost"),
        "lightgbm": ("loopml.models._boosting:LightGBMFlavor", "lightgbm", "lightgbm"),
        "onnx": ("loopml.models._onnx:OnnxFlavor", "onnx", "onnxruntime"),
        "python_function": ("loopml.models._pyfunc:PythonFunctionFlavor", None, None),
    },
    # Model URI schemes -> (ModelUri, Workspace) -> ResolvedModel.
    "uri_resolvers": {
        "models": ("loopml.models._uri:resolve_registered", None, None),
        "runs": ("loopml.tracking:resolve_run_model", None, None),
    },
    # Feature store online stores by URL scheme (sqlite is built in and needs no plugin).
    "online_stores": {
        "redis": ("loopml.features._online:RedisOnlineStore", "redis", "redis"),
    },
    # Evaluation checks by the report section they fill (gates.yaml sections read them).
    "checks": {
        "metrics": ("loopml.evaluation:MetricsCheck", None, None),
        "curves": ("loopml.evaluation:CurvesCheck", None, None),
        "slices": ("loopml.evaluation:SlicesCheck", None, None),
        "fairness": ("loopml.evaluation:FairnessCheck", None, None),
        "robustness": ("loopml.evaluation:RobustnessCheck", None, None),
        "behaviour_tests": ("loopml.evaluation:BehaviourCheck", None, None),
        "analysis": ("loopml.evaluation:AnalysisCheck", None, None),
        "leakage": ("loopml.evaluation:LeakageCheck", None, None),
        "infra": ("loopml.evaluation:InfraCheck", None, None),
        "reference": ("loopml.evaluation:ReferenceCheck", None, None),
    },
}

#: Entries added at run time with :func:`register` (objects or ``"module:attr"``).
_REGISTERED: dict[str, dict[str, Any]] = {}
_LOADED: dict[tuple[str, str], Any] = {}


def register(kind: str, name: str, target: Any) -> None:
    """Add or replace the plugin ``name`` of ``kind`` for this process.

    Args:
        kind: Plugin kind, e.g. ``"uri_resolvers"``.
        name: Plugin name.
        target: The object, or its ``"module:attr"`` (imported on first use).
    """
    _REGISTERED.setdefault(kind, {})[name] = target
    _LOADED.pop((kind, name), None)


def registered(kind: str) -> dict[str, Any]:
    """The entries of ``kind`` added at run time with :func:`register` (name -> target)."""
    return dict(_REGISTERED.get(kind, {}))


def names(kind: str) -> list[str]:
    """Every plugin name of ``kind``: built-ins and entry points, sorted."""
    found = set(BUILTIN.get(kind, {})) | set(_REGISTERED.get(kind, {}))
    found.update(ep.name for ep in importlib.metadata.entry_points(group=f"loopml.{kind}"))
    return sorted(found)


def load(kind: str, name: str) -> Any:
    """Import and return the plugin ``name`` of ``kind``.

    Args:
        kind: Plugin kind, e.g. ``"executors"``.
        name: Plugin name, e.g. ``"dask"``.

    Returns:
        The object the entry names (usually a class).

    Raises:
        InvalidInput: No plugin of that name is known.
        MissingExtra: The plugin needs an optional dependency that is not installed.
    """
    if (kind, name) in _LOADED:
        return _LOADED[(kind, name)]
    registered = _REGISTERED.get(kind, {}).get(name)
    if registered is not None:
        loaded = _import(registered) if isinstance(registered, str) else registered
        _LOADED[(kind, name)] = loaded
        return loaded
    entry = BUILTIN.get(kind, {}).get(name)
    if entry is None:
        for ep in importlib.metadata.entry_points(group=f"loopml.{kind}"):
            if ep.name == name:
                return _load_entry_point(ep, kind)
        raise InvalidInput(
            f"unknown {kind[:-1] if kind.endswith('s') else kind} {name!r}",
            hint=f"Known: {', '.join(names(kind)) or 'none'}.",
            kind=kind,
            name=name,
        )
    target, extra, needs = entry
    if needs is not None and importlib.util.find_spec(needs) is None:
        raise MissingExtra(extra or needs, f"the {name!r} {kind[:-1]}")
    loaded = _import(target)
    _LOADED[(kind, name)] = loaded
    return loaded


def _import(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _load_entry_point(ep: importlib.metadata.EntryPoint, kind: str) -> Any:
    """Load a third-party plugin; a module that cannot be imported is a MissingExtra."""
    try:
        return ep.load()
    except ImportError as exc:
        package = ep.dist.name if ep.dist is not None else ep.module
        error = MissingExtra(package, f"the {ep.name!r} {kind[:-1]} (entry point {ep.value})")
        error.hint = (
            f"Its module cannot be imported ({exc}); install or repair the package "
            f"that provides it ({package})."
        )
        raise error from exc


def lazy_exports(
    package: str, table: Mapping[str, str], names: Sequence[str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Lazy re-exports for a package ``__init__``: its ``(__getattr__, __dir__)``.

    Names load on first use, so importing the package costs nothing until then.

    Args:
        package: The package's ``__name__`` (for the error message).
        table: Public name -> ``"module:attr"`` or ``"module"``.
        names: The package's ``__all__``.
        namespace: The package's ``globals()``; a loaded name is cached there.
    """

    def __getattr__(name: str) -> Any:
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attr = target.partition(":")
        module = importlib.import_module(module_name)
        value = getattr(module, attr) if attr else module
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
