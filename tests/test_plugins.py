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


@pytest.mark.parametrize(
    ("kind", "name"),
    [(kind, name) for kind, table in plugins.BUILTIN.items() for name in table],
)
def test_every_builtin_entry_imports(kind: str, name: str) -> None:
    import importlib.util

    target, _extra, needs = plugins.BUILTIN[kind][name]
    if needs is not None and importlib.util.find_spec(needs) is None:
        pytest.skip(f"{needs} is not installed")
    loaded = plugins.load(kind, name)
    assert f"{loaded.__module__}:{loaded.__qualname__}".endswith(target.split(":")[1])


def test_flavours_come_from_the_plugin_table() -> None:
    from loopml.models import flavor_names, get_flavor

    assert set(plugins.BUILTIN["flavors"]) <= set(flavor_names())
    assert type(get_flavor("sklearn")).__name__ == "SklearnFlavor"
    assert {"models", "runs"} <= set(plugins.names("uri_resolvers"))
