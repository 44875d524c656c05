"""Recording and walking lineage."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from loopml.entities import LineageEdge, LineageNode, Relation
from loopml.ids import ObjectRef
from loopml.workspace import resolve_store

if TYPE_CHECKING:
    from collections.abc import Iterable

    from loopml.store import Store

RefLike = ObjectRef | str


def as_ref(value: RefLike) -> ObjectRef:
    """Accept an ObjectRef or its ``"kind:id"`` text."""
    return value if isinstance(value, ObjectRef) else ObjectRef.parse(value)


def edge(src: RefLike, dst: RefLike, relation: Relation | str) -> LineageEdge:
    """Make an edge without recording it, for a store call that writes it together with
    the object it describes (one transaction, as pipeline steps are saved).

    Args:
        src: The input object (``ObjectRef`` or ``"kind:id"``).
        dst: The object made from it.
        relation: How: a :class:`~loopml.entities.Relation` (loopml's own code passes only
            those) or a relation name of your own.
    """
    return LineageEdge(as_ref(src), as_ref(dst), relation)


def record(edges: Iterable[LineageEdge], *, store: Store | None = None) -> list[LineageEdge]:
    """Record edges (recording one again is a no-op); the one door to the store's edges.

    Args:
        edges: Edges made with :func:`edge`.
        store: Store to write to (default: the current workspace's).

    Returns:
        The edges, as recorded (nothing is written when there are none).
    """
    recorded = list(edges)
    if recorded:
        resolve_store(store).add_edges(recorded)
    return recorded


def link(
    src: RefLike, dst: RefLike, relation: Relation | str, *, store: Store | None = None
) -> LineageEdge:
    """Record that ``src`` was used to make ``dst``.

    Args:
        src: The input object (``ObjectRef`` or ``"kind:id"``).
        dst: The object made from it.
        relation: How, e.g. ``Relation.TRAINED_ON`` (or its string ``"trained_on"``).
        store: Store to write to (default: the current workspace's).

    Returns:
        The recorded edge (recording it again is a no-op).

    Example:
        >>> link("dataset_version:abc", "run:def", Relation.INPUT)  # doctest: +SKIP
    """
    return record([edge(src, dst, relation)], store=store)[0]


def upstream(obj: RefLike, depth: int = 100, *, store: Store | None = None) -> list[LineageNode]:
    """Everything ``obj`` was made from, up to ``depth`` hops, nearest first."""
    return resolve_store(store).upstream(as_ref(obj), depth=depth)


def downstream(obj: RefLike, depth: int = 100, *, store: Store | None = None) -> list[LineageNode]:
    """Everything made from ``obj``, up to ``depth`` hops, nearest first."""
    return resolve_store(store).downstream(as_ref(obj), depth=depth)


@dataclass
class TreeNode:
    """One object in a lineage tree, reached through ``relation`` from its parent."""

    ref: ObjectRef
    relation: str | None = None
    children: list[TreeNode] = field(default_factory=list)
    repeated: bool = False


def build_tree(root: ObjectRef, nodes: list[LineageNode], *, direction: str) -> TreeNode:
    """Arrange walk results as a tree from ``root``; an object met again is marked repeated.

    Args:
        root: Where the walk started.
        nodes: The result of :func:`upstream` (``direction="up"``) or :func:`downstream`.
        direction: ``"up"`` or ``"down"``.
    """
    adjacency: dict[ObjectRef, list[LineageEdge]] = {}
    for node in nodes:
        near = node.edge.dst if direction == "up" else node.edge.src
        adjacency.setdefault(near, []).append(node.edge)
    top = TreeNode(root)
    seen = {root}
    queue = deque([top])  # breadth first: an object is expanded where it is nearest the root
    while queue:
        current = queue.popleft()
        for edge in sorted(adjacency.get(current.ref, [])):
            far = edge.src if direction == "up" else edge.dst
            child = TreeNode(far, edge.relation, repeated=far in seen)
            current.children.append(child)
            if not child.repeated:
                seen.add(far)
                queue.append(child)
    return top
