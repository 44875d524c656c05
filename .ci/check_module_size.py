"""Fail when a Python module grows past the ceiling of STYLE.md rule 11 (1,500 lines)."""

from __future__ import annotations

import sys
from pathlib import Path

CEILING = 1500
REVIEW = 800


def main(roots: list[str]) -> int:
    too_big, large = [], []
    for root in roots:
        for path in sorted(Path(root).rglob("*.py")):
            lines = sum(1 for _ in path.open(encoding="utf-8"))
            if lines > CEILING:
                too_big.append((path, lines))
            elif lines > REVIEW:
                large.append((path, lines))
    for path, lines in large:
        print(f"note: {path} has {lines} lines (over {REVIEW}: split it by responsibility)")
    for path, lines in too_big:
        print(f"error: {path} has {lines} lines, over the {CEILING}-line ceiling")
    return 1 if too_big else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["src"]))
