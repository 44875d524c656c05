"""The public surface: every package's __all__ is sorted, complete and importable."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import loopml

PACKAGES = sorted(
    name
    for _, name, is_pkg in pkgutil.walk_packages(loopml.__path__, "loopml.")
    if is_pkg and "._" not in name and "migrations" not in name
)


def _isort_key(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then everything else."""
    group = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return group, name


@pytest.mark.parametrize("name", ["loopml", *PACKAGES])
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert list(exported) == sorted(exported, key=_isort_key), f"{name}.__all__ is not sorted"
    for attr in exported:
        assert getattr(module, attr) is not None, f"{name}.{attr}"


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_have_docstrings(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    for attr in module.__all__:
        value = getattr(module, attr)
        if callable(value) and not isinstance(value, type(sys)):
            assert value.__doc__, f"{name}.{attr} has no docstring"


def test_import_loopml_is_light() -> None:
    heavy = "('pandas', 'sklearn', 'sqlalchemy')"
    code = f"import sys, loopml; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_module_imports_another_packages_private_module() -> None:
    import ast
    from pathlib import Path

    root = Path(loopml.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        package = ".".join(path.relative_to(root.parent).with_suffix("").parts[:2])
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("loopml.")
            ):
                parts = node.module.split(".")
                private = [i for i, p in enumerate(parts) if p.startswith("_") and p != "__init__"]
                if private and ".".join(parts[:2]) not in (package, "loopml._version"):
                    offenders.append(f"{path.relative_to(root)}: from {node.module}")
    assert offenders == []
