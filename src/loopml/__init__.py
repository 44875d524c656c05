"""loopml: the whole model lifecycle in one install.

The names below load lazily, so ``import loopml`` stays fast and unused back-ends cost
nothing. Capabilities are subpackages (``loopml.lineage``, ``loopml.datasets``...).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from loopml._version import __version__

if TYPE_CHECKING:
    from loopml import artifacts, datasets, lineage, pipelines, store
    from loopml.artifacts import ArtifactStore
    from loopml.config import Settings, load_settings
    from loopml.ids import ObjectRef
    from loopml.pipelines import pipeline, step
    from loopml.store import open_store, use_store

_LAZY = {
    "ArtifactStore": "loopml.artifacts:ArtifactStore",
    "ObjectRef": "loopml.ids:ObjectRef",
    "Settings": "loopml.config:Settings",
    "artifacts": "loopml.artifacts",
    "datasets": "loopml.datasets",
    "lineage": "loopml.lineage",
    "load_settings": "loopml.config:load_settings",
    "open_store": "loopml.store:open_store",
    "pipeline": "loopml.pipelines:pipeline",
    "pipelines": "loopml.pipelines",
    "step": "loopml.pipelines:step",
    "store": "loopml.store",
    "use_store": "loopml.store:use_store",
}

__all__ = [
    "ArtifactStore",
    "ObjectRef",
    "Settings",
    "__version__",
    "artifacts",
    "datasets",
    "lineage",
    "load_settings",
    "open_store",
    "pipeline",
    "pipelines",
    "step",
    "store",
    "use_store",
]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'loopml' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attr) if attr else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
