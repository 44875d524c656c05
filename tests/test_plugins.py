"""Plugin tables: lazy loading, unknown names, missing extras."""

from __future__ import annotations

import pytest

from loopml import plugins
from loopml.errors import InvalidInput, MissingExtra


def test_builtin_executors_load() -> None:
    from loopml.pipelines import DaskExecutor, LocalExecutor

    assert plugins.load("executors", "local") is LocalExecutor
    assert plugins.load("executors", "dask") is DaskExecutor
    assert {"dask", "local"} <= set(plugins.names("executors"))


def test_unknown_plugin_names_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match="unknown executor 'ray'") as info:
        plugins.load("executors", "ray")
    assert "dask, local" in (info.value.hint or "")


def test_missing_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {"fake": ("loopml.pipelines:LocalExecutor", "fakeextra", "no_such_module_xyz")}
    monkeypatch.setitem(plugins.BUILTIN, "executors", table)
    with pytest.raises(MissingExtra) as info:
        plugins.load("executors", "fake")
    assert "pip install 'loopml[fakeextra]'" in (info.value.hint or "")
