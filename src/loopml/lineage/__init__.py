"""Lineage: "made from" edges between any recorded objects, and walks over them.

Every object loopml records is an :class:`~loopml.ids.ObjectRef` (``kind:id``, the kind
an :class:`ObjectKind`); ``link`` records an edge (its relation a :class:`Relation`),
``upstream``/``downstream`` answer "where did this come from" and "what came from this"
with one recursive query on the store. Capabilities write edges only through ``link`` and
``record`` (a test checks that no other module calls the store's ``add_edges``).
"""

from loopml.entities import Relation
from loopml.ids import ObjectKind
from loopml.lineage._api import (
    RefLike,
    TreeNode,
    as_ref,
    build_tree,
    downstream,
    edge,
    link,
    record,
    upstream,
)

__all__ = [
    "ObjectKind",
    "RefLike",
    "Relation",
    "TreeNode",
    "as_ref",
    "build_tree",
    "downstream",
    "edge",
    "link",
    "record",
    "upstream",
]
