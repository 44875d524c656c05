"""User text in Rich output: escaped so brackets print as typed, clipped in listings.

Every string the CLI prints goes through Rich markup, table cells included, so text the
user or their data chose (names, params, paths, error messages, cell values) must be
escaped: ``pip install 'loopml[dask]'`` would lose ``[dask]``, and ``[/x]`` would raise.
"""

from __future__ import annotations

from rich.markup import escape

#: Longest value a table cell shows before it is clipped with an ellipsis (``--json`` is
#: never clipped).
CELL_LIMIT = 80
ELLIPSIS = "…"


def esc(value: object) -> str:
    """``str(value)`` with Rich markup escaped, so it prints exactly as given."""
    return escape(str(value))


def clip(value: object, limit: int = CELL_LIMIT) -> str:
    """``value`` as text, cut to ``limit`` characters with an ellipsis, markup escaped."""
    text = str(value)
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + ELLIPSIS
    return escape(text)
