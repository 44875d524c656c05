"""``loopml lineage``: where an object came from and what came from it."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.tree import Tree

from loopml.cli._helpers import console, print_json, store_for
from loopml.cli._text import esc

if TYPE_CHECKING:
    from loopml.lineage import TreeNode

app = typer.Typer(help="Explore lineage between recorded objects.", no_args_is_help=True)


class Direction(StrEnum):
    """Which way to walk from the object."""

    up = "up"
    down = "down"
    both = "both"


def _rich(node: TreeNode, tree: Tree) -> None:
    for child in node.children:
        label = f"[dim]{esc(child.relation)}[/] {esc(child.ref)}" + (
            " [dim](see above)[/]" if child.repeated else ""
        )
        _rich(child, tree.add(label))


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Annotated[
        str, typer.Argument(help="Object as KIND:ID (e.g. run:0193a2...) or models:/NAME@ALIAS.")
    ],
    direction: Annotated[
        Direction, typer.Option("--direction", "-d", help="Walk up, down or both.")
    ] = Direction.both,
    depth: Annotated[int, typer.Option("--depth", min=1, max=10_000, help="Hops to follow.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the edges as JSON.")] = False,
) -> None:
    """Render an object's lineage as a tree (upstream: made from; downstream: used by)."""
    from loopml.lineage import as_ref, build_tree, downstream, upstream

    store = store_for(ctx, read_only=True)
    if ref.startswith("models:/"):  # a registry URI names a model version
        from loopml.registry import get_version

        ref = f"model_version:{get_version(ref, store=store).id}"
    root = as_ref(ref)
    walks = {
        name: fn(root, depth, store=store)
        for name, fn in (("up", upstream), ("down", downstream))
        if direction in (Direction.both, Direction(name))
    }
    if as_json:
        print_json(
            {
                "ref": str(root),
                **{
                    name: [
                        {
                            "depth": n.depth,
                            "src": str(n.edge.src),
                            "dst": str(n.edge.dst),
                            "relation": n.edge.relation,
                        }
                        for n in nodes
                    ]
                    for name, nodes in walks.items()
                },
            }
        )
        return
    titles = {"up": "made from", "down": "used by"}
    for name, nodes in walks.items():
        tree = Tree(f"[bold]{esc(root)}[/] [dim]({titles[name]})[/]")
        _rich(build_tree(root, nodes, direction=name), tree)
        if not nodes:
            tree.add("[dim]nothing recorded[/]")
        console.print(tree)
