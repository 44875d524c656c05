"""loopml: the whole model lifecycle in one install.

The names below load lazily, so ``import loopml`` stays fast and unused back-ends cost
nothing. Capabilities are subpackages (``loopml.lineage``, ``loopml.datasets``...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml._version import __version__
from loopml.plugins import lazy_exports

if TYPE_CHECKING:
    from loopml import (
        artifacts,
        data,
        datasets,
        lineage,
        models,
        pipelines,
        registry,
        store,
        tracking,
        tuning,
        workspace,
    )
    from loopml.artifacts import ArtifactStore
    from loopml.config import Settings, load_settings
    from loopml.evaluation import evaluate
    from loopml.ids import ObjectRef
    from loopml.pipelines import pipeline, step
    from loopml.store import open_store
    from loopml.tracking import TrackingClient, active_run, autolog, start_run
    from loopml.tuning import cross_validate, tune
    from loopml.workspace import Workspace, current_workspace, use_store, use_workspace

_LAZY = {
    "ArtifactStore": "loopml.artifacts:ArtifactStore",
    "ObjectRef": "loopml.ids:ObjectRef",
    "Settings": "loopml.config:Settings",
    "TrackingClient": "loopml.tracking:TrackingClient",
    "active_run": "loopml.tracking:active_run",
    "autolog": "loopml.tracking:autolog",
    "cross_validate": "loopml.tuning:cross_validate",
    "artifacts": "loopml.artifacts",
    "data": "loopml.data",
    "datasets": "loopml.datasets",
    "evaluate": "loopml.evaluation:evaluate",
    "lineage": "loopml.lineage",
    "load_settings": "loopml.config:load_settings",
    "models": "loopml.models",
    "open_store": "loopml.store:open_store",
    "pipeline": "loopml.pipelines:pipeline",
    "pipelines": "loopml.pipelines",
    "registry": "loopml.registry",
    "start_run": "loopml.tracking:start_run",
    "step": "loopml.pipelines:step",
    "store": "loopml.store",
    "tracking": "loopml.tracking",
    "tune": "loopml.tuning:tune",
    "tuning": "loopml.tuning",
    "use_store": "loopml.workspace:use_store",
    "use_workspace": "loopml.workspace:use_workspace",
    "Workspace": "loopml.workspace:Workspace",
    "current_workspace": "loopml.workspace:current_workspace",
    "workspace": "loopml.workspace",
}

__all__ = [
    "ArtifactStore",
    "ObjectRef",
    "Settings",
    "TrackingClient",
    "Workspace",
    "__version__",
    "active_run",
    "artifacts",
    "autolog",
    "cross_validate",
    "current_workspace",
    "data",
    "datasets",
    "evaluate",
    "lineage",
    "load_settings",
    "models",
    "open_store",
    "pipeline",
    "pipelines",
    "registry",
    "start_run",
    "step",
    "store",
    "tracking",
    "tune",
    "tuning",
    "use_store",
    "use_workspace",
    "workspace",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__, globals())
