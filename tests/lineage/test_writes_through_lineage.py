"""Lineage edges are written only through ``loopml.lineage``, with ``Relation`` members.

Parses every module of ``src/loopml`` outside the store (which implements ``add_edges``),
the lineage package (the one door to it), the entities (which define the edge) and the
conformance kits in ``loopml.testing`` (which test the store's own method).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import loopml

SRC = Path(loopml.__file__).parent
EXEMPT = ("store", "lineage", "entities", "testing")
#: Position of the relation argument in each lineage-writing call loopml offers.
RELATION_AT = {"link": 2, "edge": 2, "record_use": 2, "log_input": 1}


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _is_text(node: ast.expr | None) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def violations(source: str, filename: str) -> list[str]:
    """Every edge written around ``loopml.lineage`` or with a bare string relation."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            name = _callee(node)
            if name == "add_edges":
                found.append(f"{where}: calls add_edges; use loopml.lineage.record/link")
            elif name == "LineageEdge":
                found.append(f"{where}: builds LineageEdge; use loopml.lineage.edge")
            at = RELATION_AT.get(name or "")
            bare = any(k.arg == "relation" and _is_text(k.value) for k in node.keywords)
            if at is not None and len(node.args) > at and _is_text(node.args[at]):
                bare = True
            if bare:
                found.append(f"{where}: bare string relation; use a Relation member")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            defaults = [None] * (
                len(node.args.posonlyargs) + len(node.args.args) - len(node.args.defaults)
            )
            defaults += [*node.args.defaults, *node.args.kw_defaults]
            for arg, default in zip(args, defaults, strict=True):
                if arg.arg == "relation" and _is_text(default):
                    found.append(f"{where}: relation defaults to a string; use a Relation member")
    return found


def _modules() -> list[Path]:
    return [
        path for path in sorted(SRC.rglob("*.py")) if path.relative_to(SRC).parts[0] not in EXEMPT
    ]


def test_capabilities_write_edges_only_through_lineage() -> None:
    modules = _modules()
    assert len(modules) > 100  # the walk found the package, not an empty folder
    found = [v for p in modules for v in violations(p.read_text(), str(p.relative_to(SRC)))]
    assert found == []


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("db.add_edges(edges)", "calls add_edges"),
        ("e = LineageEdge(a, b, Relation.INPUT)", "builds LineageEdge"),
        ("link(a, b, 'trained_on', store=s)", "bare string relation"),
        ("lineage.edge(a, b, f'{x}')", "bare string relation"),
        ("run.log_input(ref, 'trained_on')", "bare string relation"),
        ("run.log_input(ref, relation='trained_on')", "bare string relation"),
        ("def use(ref, relation='input'): ...", "relation defaults to a string"),
        ("def use(ref, *, relation: str = 'input'): ...", "relation defaults to a string"),
    ],
)
def test_the_check_catches_each_way_around(snippet: str, expected: str) -> None:
    assert [v.split(": ", 1)[1].split(";")[0] for v in violations(snippet, "x.py")] == [expected]


@pytest.mark.parametrize(
    "snippet",
    [
        "lineage.record(edges, store=db)",
        "link(a, b, Relation.TRAINED_ON, store=s)",
        "run.log_input('dataset_version:abc')",
        "def use(ref, relation=Relation.INPUT): ...",
        "open(path, 'r')",
    ],
)
def test_the_check_passes_the_lineage_api(snippet: str) -> None:
    assert violations(snippet, "x.py") == []
