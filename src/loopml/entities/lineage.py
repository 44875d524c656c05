"""Lineage: "made from" relations between any two recorded objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopml.ids import ObjectRef


@dataclass(frozen=True, order=True)
class LineageEdge:
    """``src`` was used to make ``dst``; ``relation`` says how (e.g. ``"trained_on"``)."""

    src: ObjectRef
    dst: ObjectRef
    relation: str


@dataclass(frozen=True, order=True)
class LineageNode:
    """An edge reached by a lineage walk, with its distance from the starting object."""

    depth: int
    edge: LineageEdge
