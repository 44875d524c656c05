"""Lineage: "made from" edges between any recorded objects, and walks over them.

Every object loopml records is an :class:`~loopml.ids.ObjectRef` (``kind:id``); ``link``
records an edge, ``upstream``/``downstream`` answer "where did this come from" and "what
came from this" with one recursive query on the store.
"""

from loopml.lineage._api import RefLike, TreeNode, as_ref, build_tree, downstream, link, upstream

__all__ = ["RefLike", "TreeNode", "as_ref", "build_tree", "downstream", "link", "upstream"]
