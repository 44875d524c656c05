"""Model directories are trusted only through their manifest, file by file.

Every way a directory can differ from what was saved is refused before anything is
deserialised, and the error names the file: a changed byte, a removed file, an added file,
a renamed or malformed manifest, a directory that never was a model.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from loopml.artifacts import ArtifactStore
from loopml.errors import Conflict, DigestMismatch, InvalidInput, UnsignedModel
from loopml.models import (
    MANIFEST,
    PythonModel,
    load_model,
    pull_model,
    push_model,
    read_manifest,
    save_model,
)

FRAME = pd.DataFrame({"amount": [1.0, 5.0, 3.0, 9.0], "hour": [1, 23, 4, 22]})


class Threshold(PythonModel):
    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        return (data["amount"].to_numpy() > self.cut).astype(int)


class _Planted:
    """Unpickling this writes a file: proof that a pickle was (or was not) loaded."""

    def __init__(self, sentinel: str) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (Path(self.sentinel), "the pickle ran"))


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """A scikit-learn model with an input example: three files and the manifest."""
    model = LogisticRegression().fit(FRAME, [0, 1, 0, 1])
    return save_model(model, tmp_path / "model", input_example=FRAME).path


FILES = ["model.skops", "input_example.json"]


def test_the_manifest_lists_every_file_with_its_digest_and_role(saved: Path) -> None:
    manifest, digest = read_manifest(saved)
    assert sorted(manifest.files) == sorted(FILES)
    assert manifest.files["model.skops"].role == "model"
    assert manifest.files["input_example.json"].role == "example"
    for rel, entry in manifest.files.items():
        assert entry.size == (saved / rel).stat().st_size
    import hashlib

    assert digest == hashlib.sha256((saved / MANIFEST).read_bytes()).hexdigest()
    assert json.loads((saved / MANIFEST).read_text())["format_version"] == 1


@pytest.mark.parametrize("name", FILES)
def test_a_changed_byte_in_any_file_is_refused_naming_it(saved: Path, name: str) -> None:
    target = saved / name
    data = bytearray(target.read_bytes())
    data[-2] ^= 0x20
    target.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch) as info:
        load_model(saved)
    assert info.value.location == str(target)
    assert str(target) in info.value.message
    assert info.value.digest == read_manifest_entry(saved, name)


def read_manifest_entry(directory: Path, name: str) -> str:
    return str(json.loads((directory / MANIFEST).read_text())["files"][name]["sha256"])


@pytest.mark.parametrize("name", FILES)
def test_a_removed_file_is_refused_naming_it(saved: Path, name: str) -> None:
    (saved / name).unlink()
    with pytest.raises(DigestMismatch) as info:
        load_model(saved)
    assert info.value.location == str(saved / name) and info.value.actual == "(missing)"


@pytest.mark.parametrize("name", ["extra.pkl", "nested/deeper/notes.txt", ".hidden"])
def test_an_added_file_is_refused_naming_it(saved: Path, name: str) -> None:
    extra = saved / name
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_bytes(b"not part of the model")
    with pytest.raises(DigestMismatch) as info:
        load_model(saved)
    assert info.value.location == str(extra)
    assert "not listed in the manifest" in info.value.message


def test_a_nested_file_named_like_the_manifest_is_hashed_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the top-level manifest is exempt: a nested one is a model file like any other."""
    from loopml import plugins
    from loopml.models import Flavor, register_flavor

    monkeypatch.setattr(
        plugins, "_REGISTERED", {k: dict(v) for k, v in plugins._REGISTERED.items()}
    )
    monkeypatch.setattr(plugins, "_LOADED", dict(plugins._LOADED))  # no leak to other tests

    class Nested(Flavor):
        name = "nested_test"

        def save(self, model, directory, options):  # type: ignore[no-untyped-def]
            (directory / "sub").mkdir()
            (directory / "sub" / MANIFEST).write_text(json.dumps(model))
            return {}

        def load(self, directory, options):  # type: ignore[no-untyped-def]
            return json.loads((directory / "sub" / MANIFEST).read_text())

    register_flavor("nested_test", Nested)
    path = save_model({"w": 1}, tmp_path / "n", flavor="nested_test").path
    manifest, _ = read_manifest(path)
    assert list(manifest.files) == [f"sub/{MANIFEST}"]
    assert load_model(path).raw == {"w": 1}
    (path / "sub" / MANIFEST).write_text(json.dumps({"w": 2}))
    with pytest.raises(DigestMismatch, match=f"sub/{MANIFEST}"):
        load_model(path)


def test_a_renamed_or_missing_manifest_means_unsigned(saved: Path) -> None:
    (saved / MANIFEST).rename(saved / "manifest.json")
    with pytest.raises(UnsignedModel) as info:
        load_model(saved)
    assert info.value.location == str(saved)
    assert "no loopml-model.json manifest" in info.value.message
    assert "loopml models import" in (info.value.hint or "")
    assert isinstance(info.value, DigestMismatch)  # callers catching integrity errors see it


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda body: "{not json", "malformed model manifest"),
        (lambda body: json.dumps({**body, "format_version": 9}), "unsupported format_version 9"),
        (lambda body: json.dumps({k: v for k, v in body.items() if k != "files"}), "'files'"),
        (
            lambda body: json.dumps(
                {**body, "files": {"../outside": body["files"]["model.skops"]}}
            ),
            "unsafe path '../outside'",
        ),
        (
            lambda body: json.dumps(
                {**body, "files": {"/etc/passwd": body["files"]["model.skops"]}}
            ),
            "unsafe path '/etc/passwd'",
        ),
        (
            lambda body: json.dumps(
                {**body, "signature": {"inputs": [{"name": "x", "dtype": "flaot"}]}}
            ),
            "unknown signature dtype 'flaot'",
        ),
    ],
    ids=["not-json", "format", "no-files", "parent-path", "absolute-path", "bad-dtype"],
)
def test_a_malformed_manifest_is_refused_naming_it(saved: Path, edit, message: str) -> None:
    body = json.loads((saved / MANIFEST).read_text())
    (saved / MANIFEST).write_text(edit(body))
    with pytest.raises(InvalidInput, match=message) as info:
        load_model(saved)
    if "signature" not in message:
        assert str(saved / MANIFEST) in info.value.message


def test_a_rewritten_manifest_is_caught_by_the_recorded_digest(saved: Path) -> None:
    _, digest = read_manifest(saved)
    body = json.loads((saved / MANIFEST).read_text())
    body["metadata"] = {"approved": True}
    (saved / MANIFEST).write_text(json.dumps(body))
    assert load_model(saved).manifest.metadata == {"approved": True}  # files still match
    with pytest.raises(DigestMismatch) as info:
        load_model(saved, expected_digest=digest)
    assert info.value.location == str(saved / MANIFEST) and info.value.digest == digest


def test_a_tampered_pickle_is_never_unpickled(tmp_path: Path) -> None:
    path = save_model(Threshold(2.0), tmp_path / "p").path
    sentinel = tmp_path / "ran.txt"
    (path / "python_model.pkl").write_bytes(pickle.dumps(_Planted(str(sentinel))))
    with pytest.raises(DigestMismatch, match="python_model.pkl"):
        load_model(path)
    assert not sentinel.exists()
    # a file the manifest does not list is never read, even when an edited option names it
    clean = save_model(Threshold(2.0), tmp_path / "q").path
    (clean / "evil.pkl").write_bytes(pickle.dumps(_Planted(str(sentinel))))
    body = json.loads((clean / MANIFEST).read_text())
    body["options"]["file"] = "evil.pkl"
    (clean / MANIFEST).write_text(json.dumps(body))
    with pytest.raises(DigestMismatch, match="evil.pkl"):
        load_model(clean)
    assert not sentinel.exists()


@pytest.mark.parametrize("kind", ["empty", "data-files", "mlflow-model", "a-file"])
def test_loading_something_that_is_not_a_model(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "thing"
    if kind == "a-file":
        target.write_text("a,b\n1,2\n")
    else:
        target.mkdir()
    if kind == "data-files":
        (target / "train.csv").write_text("a,b\n1,2\n")
    if kind == "mlflow-model":
        (target / "MLmodel").write_text("flavors:\n  sklearn: {pickled_model: model.pkl}\n")
        (target / "model.pkl").write_bytes(b"\x80\x05N.")
    with pytest.raises(UnsignedModel) as info:
        load_model(target)
    assert info.value.location == str(target) and info.value.exit_code == 2


def test_a_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no model at") as info:
        load_model(tmp_path / "nowhere")
    assert "models:/ URI" in (info.value.hint or "")


def test_save_is_all_or_nothing(tmp_path: Path) -> None:
    class Local(PythonModel):  # defined in a function: it cannot be pickled
        def predict(self, data: object) -> object:
            return data

    with pytest.raises(InvalidInput, match="cannot pickle") as info:
        save_model(Local(), tmp_path / "m")
    assert "module level" in (info.value.hint or "")
    assert list(tmp_path.iterdir()) == []  # no model, no staging folder left behind
    (tmp_path / "empty").mkdir()
    assert save_model(Threshold(1.0), tmp_path / "empty").path == tmp_path / "empty"
    with pytest.raises(Conflict, match="not an empty directory"):
        save_model(Threshold(1.0), tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(Conflict):
        save_model(Threshold(1.0), tmp_path / "file")


def test_push_and_pull_through_the_artifact_store(saved: Path, tmp_path: Path) -> None:
    artifacts = ArtifactStore(str(tmp_path / "artifacts"), fsync=False)
    digest = push_model(saved, artifacts)
    assert digest == read_manifest(saved)[1]
    pulled = pull_model(digest, artifacts, tmp_path / "cache" / digest)
    assert sorted(p.name for p in pulled.iterdir()) == sorted([*FILES, MANIFEST])
    assert load_model(pulled, expected_digest=digest).digest == digest
    model_file = pulled / "model.skops"
    before = model_file.stat().st_ino
    assert pull_model(digest, artifacts, pulled) == pulled
    assert model_file.stat().st_ino == before  # an intact copy is reused, not rewritten
    (saved / "model.skops").write_bytes(b"changed")
    with pytest.raises(DigestMismatch, match="model.skops"):
        push_model(saved, artifacts)  # a tampered directory never enters the store
