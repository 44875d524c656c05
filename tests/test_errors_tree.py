"""The exception tree drawn in ``loopml.errors``' docstring is the real class hierarchy."""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field

import pytest

from loopml import errors
from loopml.errors import LoopmlError

_LINE = re.compile(
    r"^(?P<prefix>(?:│   |    )*(?:├── |└── )?)(?P<name>[A-Z]\w*)"
    r"(?: \((?P<bases>[^)]*)\))?(?:\s{2,}(?P<text>.*))?$"
)


@dataclass
class Drawn:
    """One class as the drawing shows it."""

    name: str
    parent: str | None
    bases: tuple[str, ...]
    text: str
    last: bool | None  # drawn with └── (None for the root)
    children: list[str] = field(default_factory=list)


def parse_tree(doc: str) -> dict[str, Drawn]:
    """The tree in the literal block after ``::``: each name with its drawn parent."""
    block = doc.split("::\n", 1)[1].lstrip("\n").split("\n\n", 1)[0]
    drawn: dict[str, Drawn] = {}
    stack: list[str] = []  # names of the ancestors of the current line, by depth
    for raw in block.splitlines():
        match = _LINE.match(raw.removeprefix("    "))
        assert match, f"cannot read this line of the drawing: {raw!r}"
        depth = len(match["prefix"]) // 4
        name = match["name"]
        assert name not in drawn, f"{name} is drawn twice"
        assert depth <= len(stack), f"{name} is indented below no parent"
        del stack[depth:]
        parent = stack[-1] if stack else None
        bases = tuple(b.strip() for b in (match["bases"] or "").split(",") if b.strip())
        last = None if not depth else match["prefix"].endswith("└── ")
        drawn[name] = Drawn(name, parent, bases, match["text"] or "", last)
        if parent is not None:
            drawn[parent].children.append(name)
        stack.append(name)
    return drawn


def _classes() -> dict[str, type[LoopmlError]]:
    return {
        name: value
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, LoopmlError)
    }


def mismatches(doc: str) -> list[str]:
    """Where the drawing in ``doc`` and the classes of ``loopml.errors`` disagree."""
    drawn = parse_tree(doc)
    classes = _classes()
    found = [f"{n} is not drawn" for n in sorted(set(classes) - set(drawn))]
    found += [f"{n} is drawn but is no class" for n in sorted(set(drawn) - set(classes))]
    for name in sorted(set(classes) & set(drawn)):
        cls, node = classes[name], drawn[name]
        shown = {node.parent, *(b.removeprefix("also ") for b in node.bases)} - {None}
        real = {base.__name__ for base in cls.__bases__}
        if shown != real:
            found.append(f"{name} is drawn with bases {sorted(shown)}, it has {sorted(real)}")
        for base in node.bases:  # loopml classes are marked "also", builtins are not
            ours = base.removeprefix("also ") in classes
            if ours != base.startswith("also ") or not (
                ours or isinstance(getattr(builtins, base, None), type)
            ):
                found.append(f"{name}: base {base!r} is drawn wrongly")
        for position, child in enumerate(node.children):
            if drawn[child].last != (position == len(node.children) - 1):
                found.append(f"{child}: └── must mark exactly the last child of {name}")
        said = re.match(r"exit (\d)", node.text)
        inherited = classes[node.parent].exit_code if node.parent in classes else None
        if said and int(said[1]) != cls.exit_code:
            found.append(f"{name} is drawn with exit {said[1]}, it exits {cls.exit_code}")
        if not said and node.parent is not None and cls.exit_code != inherited:
            found.append(f"{name} exits {cls.exit_code}, unlike its parent: draw it")
    return found


def test_the_drawing_is_the_class_hierarchy() -> None:
    assert errors.__doc__
    assert mismatches(errors.__doc__) == []


def _moved(doc: str, line_start: str, after: str) -> str:
    """``doc`` with the drawn line starting ``line_start`` moved to just after ``after``."""
    lines = doc.split("\n")
    line = next(x for x in lines if x.startswith(line_start))
    index = lines.index(line)
    lines.remove(line)
    if "└──" in line:  # the sibling drawn before it becomes the last child
        lines[index - 1] = lines[index - 1].replace("├──", "└──", 1)
    at = next(i for i, x in enumerate(lines) if x.startswith(after))
    lines.insert(at + 1, "    │   ├── " + line.split("── ", 1)[1])
    return "\n".join(lines)


def test_a_class_drawn_under_the_wrong_parent_is_caught() -> None:
    assert errors.__doc__
    # How the drawing was before: InvalidPipeline under NotFound, though it is InvalidInput.
    wrong = _moved(errors.__doc__, "    │   └── InvalidPipeline", "    ├── NotFound")
    assert parse_tree(wrong)["InvalidPipeline"].parent == "NotFound"
    assert mismatches(wrong) == [
        "InvalidPipeline is drawn with bases ['NotFound'], it has ['InvalidInput']"
    ]


def test_a_missing_builtin_or_class_is_caught() -> None:
    assert errors.__doc__
    no_builtin = errors.__doc__.replace("StoreUnavailable (ConnectionError)", "StoreUnavailable")
    assert mismatches(no_builtin) == [
        "StoreUnavailable is drawn with bases ['StoreError'], it has ['ConnectionError', "
        "'StoreError']"
    ]
    lines = errors.__doc__.split("\n")
    without = "\n".join(x for x in lines if "MissingExtra" not in x)
    without = without.replace("├── DeadlineExceeded", "└── DeadlineExceeded")
    assert mismatches(without) == ["MissingExtra is not drawn"]


@pytest.mark.parametrize(
    ("drawing", "problem"),
    [
        ("LoopmlError (Exception)  root\n└── NotFound  x\n└── NotFound  y\n", "twice"),
        ("LoopmlError (Exception)  root\n│   └── NotFound  x\n", "no parent"),
    ],
)
def test_the_parser_refuses_a_broken_drawing(drawing: str, problem: str) -> None:
    doc = "Tree::\n\n" + "".join(f"    {line}\n" for line in drawing.splitlines()) + "\nEnd.\n"
    with pytest.raises(AssertionError, match=problem):
        parse_tree(doc)
