"""Lineage: "made from" relations between any two recorded objects."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopml.ids import ObjectRef


class Relation(StrEnum):
    """How ``src`` was used to make ``dst``: every relation loopml itself records.

    The values are the strings stored in ``lineage_edges.relation`` and printed by
    ``loopml lineage show``; they never change. Your own code may record other relations
    as plain strings; loopml writes only these.
    """

    INPUT = "input"
    """``src`` was read by ``dst`` (a dataset version or blob read by a run or step run)."""
    TRAINED_ON = "trained_on"
    """``src`` (a dataset version) is the training data of run ``dst``."""
    PRODUCED = "produced"
    """``dst`` was made by ``src``: run -> model version, step run -> output blob."""
    REUSED = "reused"
    """Step run ``src`` took its output blob ``dst`` from the cache instead of running."""
    TRACKED = "tracked"
    """Step run ``src`` started tracking run ``dst``."""
    STEP = "step"
    """Step run ``dst`` is a step of pipeline run ``src``."""
    STORED_AS = "stored_as"
    """Blob ``src`` is the manifest of model version ``dst``."""
    FILE_OF = "file_of"
    """Blob ``src`` is one of model version ``dst``'s files (``runs gc`` keeps it)."""
    GATES = "gates"
    """Blob ``src`` holds the gates model version ``dst`` was registered with."""
    EVALUATED = "evaluated"
    """Evaluation ``dst`` judged ``src`` (a model version, or the run whose model it was)."""
    SCORED = "scored"
    """Model version (or run) ``src`` scored the rows of batch job run ``dst``."""
    LOGGED = "logged"
    """Model version ``src`` made the predictions logged in prediction segment ``dst``."""
    REDACTED = "redacted"
    """Blob digest ``src`` (bytes not stored) is the original of a redacted file of ``dst``."""
    FEATURE_SOURCE = "feature_source"
    """Dataset version ``src`` is the source data of feature view version ``dst``."""
    SERVES = "serves"
    """Feature view version ``src`` supplies features of feature service version ``dst``."""
    FEATURES = "features"
    """Feature view version ``src`` supplied columns of training set ``dst`` (a dataset
    version saved by ``get_historical_features``)."""
    DEPLOYED = "deployed"
    """Model version ``src`` is an arm of deployment ``dst`` (recorded when it joins)."""
    ENRICHES = "enriches"
    """Feature service version ``src`` supplies online features to deployment ``dst``'s
    requests."""
    FIRED = "fired"
    """Monitor window ``src`` fired alert ``dst``."""
    MONITORED = "monitored"
    """Monitor window ``dst`` measured deployment or model version ``src``."""
    TRIGGERED = "triggered"
    """``src`` caused ``dst`` in the closed loop: an alert, monitor window, dataset version
    or upstream model version -> the trigger event that fired; that event -> the pipeline
    run it started and the candidate model version it made."""
    PROMOTED = "promoted"
    """Deployment ``src`` promoted its candidate; trigger event ``dst`` records the step."""


@dataclass(frozen=True, order=True)
class LineageEdge:
    """``src`` was used to make ``dst``; ``relation`` says how (a :class:`Relation`).

    The relation is kept as its plain string, so an edge read back from the store equals
    (and looks like) the one that was recorded.
    """

    src: ObjectRef
    dst: ObjectRef
    relation: Relation | str

    def __post_init__(self) -> None:
        if type(self.relation) is not str:
            object.__setattr__(self, "relation", str(self.relation))


@dataclass(frozen=True, order=True)
class LineageNode:
    """An edge reached by a lineage walk, with its distance from the starting object."""

    depth: int
    edge: LineageEdge
