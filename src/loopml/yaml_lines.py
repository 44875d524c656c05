"""Where each value of a YAML document is: the line of every key path, for file:line errors."""

from __future__ import annotations

from typing import Any


def yaml_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Key path (mapping keys and list indices) -> its 1-based line in ``text``.

    ``()`` is the document itself. A mapping key's path points at the key's line, so an
    error about a value names the line of its key.
    """
    import yaml

    lines: dict[tuple[Any, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, key.value)
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines
