"""Model URIs: registry forms, runs:/ through the plugin table, custom schemes, the cache.

Everything runs in a real workspace (SQLite store, file artifact store) in the test's
folder; registered models are materialised into ``Workspace.cache_dir / "models"``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from loopml import plugins
from loopml.errors import InvalidReference, NotFound
from loopml.ids import ModelUri
from loopml.models import (
    MANIFEST,
    ResolvedModel,
    load_model,
    register_uri_resolver,
    resolve,
    save_model,
)
from loopml.registry import register_model, set_alias
from loopml.workspace import Workspace, use_workspace

FRAME = pd.DataFrame({"amount": [1.0, 5.0, 3.0, 9.0, 2.0, 8.0], "hour": [1, 23, 4, 22, 3, 20]})
LABELS = [0, 1, 0, 1, 0, 1]


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(home=tmp_path / "home", env={}, cwd=tmp_path, user="ana")
    with ws, use_workspace(ws):
        yield ws


@pytest.fixture
def registered(workspace: Workspace) -> dict[int, object]:
    """fraud v1 (1.0.0, @champion), v2 (1.1.0, retrained), v3 (2.0.0 by override)."""
    models = {
        1: LogisticRegression(C=1.0).fit(FRAME, LABELS),
        2: LogisticRegression(C=0.01).fit(FRAME, LABELS),
        3: LogisticRegression(C=100.0).fit(FRAME, LABELS),
    }
    versions = {}
    for number, model in models.items():
        version = "2.0.0" if number == 3 else None
        versions[number] = register_model("fraud", model, input_example=FRAME, version=version)
    assert [v.semver for v in versions.values()] == ["1.0.0", "1.1.0", "2.0.0"]
    set_alias("fraud", "champion", 1)
    return {"models": models, "versions": versions}  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("uri", "number"),
    [
        ("models:/fraud@champion", 1),
        ("models:/fraud/1", 1),
        ("models:/fraud/2", 2),
        ("models:/fraud/latest", 3),
        ("models:/fraud/1.1.0", 2),
        ("models:/fraud/v1.1.0", 2),
        ("models:/fraud/v2.0.0", 3),
    ],
)
def test_registry_uris_name_the_right_version(
    workspace: Workspace, registered, uri: str, number: int
) -> None:
    version = registered["versions"][number]
    loaded = load_model(uri)
    assert loaded.digest == version.manifest_digest and loaded.uri == uri
    raw = registered["models"][number]
    np.testing.assert_array_equal(loaded.predict_proba(FRAME), raw.predict_proba(FRAME))
    resolved = resolve(uri)
    assert resolved.version is not None and resolved.version.number == number
    assert str(resolved.ref) == f"model_version:{version.id}"
    assert resolved.path == workspace.cache_dir / "models" / version.manifest_digest


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("models:/fraud/9", "model version"),
        ("models:/fraud/v9.9.9", "'fraud/v9.9.9' not found"),
        ("models:/fraud@retired", "retired"),
        ("models:/nobody/1", "nobody"),
        ("models:/nobody/latest", "model 'nobody' not found"),
    ],
)
def test_uris_that_name_nothing_are_not_found(
    workspace: Workspace, registered, uri: str, message: str
) -> None:
    with pytest.raises(NotFound, match=message) as info:
        load_model(uri)
    assert info.value.exit_code == 2
    assert (
        not (workspace.cache_dir / "models").exists()
        or len(list((workspace.cache_dir / "models").iterdir())) == 0
    )


def test_semver_miss_says_which_forms_exist(workspace: Workspace, registered) -> None:
    with pytest.raises(NotFound) as info:
        load_model("models:/fraud/v3.0.0")
    assert "semantic version (1.2.0)" in (info.value.hint or "")
    assert "@alias" in (info.value.hint or "")


def test_malformed_and_unknown_scheme_uris(workspace: Workspace) -> None:
    with pytest.raises(InvalidReference, match="cannot parse model URI 'models:/fraud'") as bad:
        load_model("models:/fraud")
    assert "models:/NAME@ALIAS" in (bad.value.hint or "")
    with pytest.raises(InvalidReference, match="no resolver for model URI scheme 'zoo'") as info:
        load_model("zoo:/fraud/1")
    assert "models:/" in (info.value.hint or "") and "runs:/" in (info.value.hint or "")
    assert "local path" in (info.value.hint or "")


def test_a_local_folder_whose_name_looks_like_a_uri_is_a_path(tmp_path: Path) -> None:
    folder = tmp_path / "zoo:" / "m"
    save_model(LogisticRegression().fit(FRAME, LABELS), folder)
    assert resolve(str(folder)).path == folder  # an existing path wins over scheme lookup
    assert resolve(str(folder)).manifest_digest is None


def test_runs_uris_resolve_through_the_plugin_table(workspace: Workspace) -> None:
    assert plugins.BUILTIN["uri_resolvers"]["runs"][0] == "loopml.tracking:resolve_run_model"
    assert {"models", "runs"} <= set(plugins.names("uri_resolvers"))
    from loopml.tracking import TrackingClient

    client = TrackingClient.for_workspace(workspace, capture_environment=False)
    model = LogisticRegression().fit(FRAME, LABELS)
    with client.start_run("train") as run:
        info = run.log_model(model, "fraud", input_example=FRAME)
    client.close()
    loaded = load_model(f"runs:/{run.id}/fraud")
    np.testing.assert_array_equal(loaded.predict(FRAME), model.predict(FRAME))
    resolved = resolve(f"runs:/{run.id}/fraud")
    assert str(resolved.ref) == f"run:{run.id}" and resolved.version is None
    assert resolved.path == workspace.cache_dir / "models" / info.manifest_digest
    with pytest.raises(NotFound, match="model"):
        load_model(f"runs:/{run.id}/other")
    # and registering by the run URI records the run on the version
    version = register_model("from-run", f"runs:/{run.id}/fraud")
    assert version.run_id == run.id and version.manifest_digest == info.manifest_digest


@pytest.fixture
def clean_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made by a test stay in that test."""
    monkeypatch.setattr(
        plugins, "_REGISTERED", {k: dict(v) for k, v in plugins._REGISTERED.items()}
    )
    monkeypatch.setattr(plugins, "_LOADED", dict(plugins._LOADED))


ZOO = {}  # name -> model directory, filled by the test below


def zoo_resolver(uri: ModelUri, workspace: Workspace) -> ResolvedModel:
    """A resolver named by "module:attr": zoo:/NAME looks NAME up in ZOO."""
    if uri.name not in ZOO:
        raise NotFound("zoo model", uri.name)
    return ResolvedModel(path=ZOO[uri.name])


def test_custom_uri_resolvers(clean_plugins, workspace: Workspace, tmp_path: Path) -> None:
    model = LogisticRegression().fit(FRAME, LABELS)
    saved = save_model(model, tmp_path / "shelf" / "lr")
    seen: list[tuple[ModelUri, Workspace]] = []

    def shelf(uri: ModelUri, ws: Workspace) -> ResolvedModel:
        seen.append((uri, ws))
        return ResolvedModel(path=tmp_path / "shelf" / uri.name, manifest_digest=saved.digest)

    register_uri_resolver("shelf", shelf)
    assert "shelf" in plugins.names("uri_resolvers")
    loaded = load_model("shelf:/lr")
    np.testing.assert_array_equal(loaded.predict(FRAME), model.predict(FRAME))
    assert loaded.uri == "shelf:/lr"
    assert seen[0][0] == ModelUri("shelf", "lr") and seen[0][1] is workspace
    other = Workspace.open(home=tmp_path / "other", env={}, cwd=tmp_path)
    load_model("shelf:/lr/extra/path", workspace=other)
    assert seen[1][0].path == "extra/path" and seen[1][1] is other

    ZOO["lr"] = saved.path
    register_uri_resolver("zoo", "tests.models.test_uris:zoo_resolver")
    assert load_model("zoo:/lr").digest == saved.digest
    with pytest.raises(NotFound, match="zoo model 'gone'"):
        load_model("zoo:/gone")
    # a resolver that names a digest makes load_model check it
    register_uri_resolver(
        "liar", lambda uri, ws: ResolvedModel(path=saved.path, manifest_digest="0" * 64)
    )
    from loopml.errors import DigestMismatch

    with pytest.raises(DigestMismatch, match=MANIFEST):
        load_model("liar:/lr")


def test_the_cache_lives_in_the_workspace_and_follows_overrides(
    workspace: Workspace, registered, tmp_path: Path
) -> None:
    digest = registered["versions"][1].manifest_digest
    path = load_model("models:/fraud/1").path
    assert path == workspace.home / "cache" / "models" / digest
    assert workspace.cache_dir == workspace.home / "cache"
    elsewhere = load_model("models:/fraud/1", cache_dir=tmp_path / "scratch").path
    assert elsewhere == tmp_path / "scratch" / "models" / digest
    derived = workspace.derive(cache_dir=tmp_path / "derived")
    assert load_model("models:/fraud/1", workspace=derived).path.parent == (
        tmp_path / "derived" / "models"
    )
    assert not (tmp_path / ".loopml").exists()  # nothing fell back to the working directory
    model_file = path / "model.skops"
    inode = model_file.stat().st_ino
    load_model("models:/fraud@champion")
    assert model_file.stat().st_ino == inode  # an intact cached copy is reused


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


DAMAGE = {
    "changed-byte": lambda d: _flip(d / "model.skops"),
    "removed-file": lambda d: (d / "input_example.json").unlink(),
    "added-file": lambda d: (d / "stray.txt").write_text("x"),
    "removed-manifest": lambda d: (d / MANIFEST).unlink(),
    "garbage-manifest": lambda d: (d / MANIFEST).write_text("{"),
    "emptied-folder": lambda d: [p.unlink() for p in d.iterdir()],
    "replaced-by-a-file": lambda d: (shutil.rmtree(d), d.write_text("x")),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_cache_is_rebuilt_from_the_store(
    workspace: Workspace, registered, damage: str
) -> None:
    version = registered["versions"][2]
    cached = load_model("models:/fraud/2").path
    files = sorted(p.name for p in cached.iterdir())
    DAMAGE[damage](cached)
    loaded = load_model("models:/fraud/2")
    assert loaded.path == cached and loaded.digest == version.manifest_digest
    assert sorted(p.name for p in cached.iterdir()) == files  # stray files gone too
    raw = registered["models"][2]
    np.testing.assert_array_equal(loaded.predict_proba(FRAME), raw.predict_proba(FRAME))
    leftovers = [p.name for p in cached.parent.iterdir() if p.name.endswith(".partial")]
    assert leftovers == []


def test_concurrent_loads_fill_a_cold_cache_once(workspace: Workspace, registered) -> None:
    import threading

    digest = registered["versions"][3].manifest_digest
    cache = workspace.cache_dir / "models"

    def load(start: threading.Barrier, results: list[object]) -> None:
        start.wait()
        try:
            results.append(load_model("models:/fraud/3", workspace=workspace).digest)
        except Exception as exc:  # collected: the assertion below shows it
            results.append(exc)

    for _ in range(3):
        shutil.rmtree(cache, ignore_errors=True)
        start, results = threading.Barrier(6), []
        threads = [threading.Thread(target=load, args=(start, results)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [digest] * 6
        assert [p.name for p in cache.iterdir()] == [digest]  # no staging folder left
