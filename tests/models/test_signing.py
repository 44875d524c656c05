"""Signed models (OpenSSF Model Signing v1.0 through the ``model-signing`` package).

A version signed at registration verifies with the ``model_signing`` command line itself
and is refused, by that tool and by every loopml load, once one byte changes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from loopml import Workspace, use_workspace
from loopml.errors import DigestMismatch, SignatureInvalid
from loopml.models import (
    SIGNATURE_KEY_TAG,
    SIGNATURE_TAG,
    export_signed,
    generate_signing_key,
    load_model,
    pull_model,
    save_model,
    verify_version,
)
from loopml.registry import register_model
from tests.fixtures.cli import Cli
from tests.fixtures.services import require_service


@pytest.fixture(autouse=True)
def _needs_model_signing() -> None:
    try:
        import model_signing  # noqa: F401
    except ImportError:
        require_service("model-signing", "the 'signing' extra (model-signing) is not installed")


FRAME = pd.DataFrame({"a": [0.0, 1.0, 0.2, 0.9, 0.1, 0.8], "b": [1.0, 0.0, 0.9, 0.1, 0.7, 0.3]})
LABELS = [0, 1, 0, 1, 0, 1]


def _model_signing_cli() -> str:
    beside = Path(sys.executable).with_name("model_signing")
    found = str(beside) if beside.exists() else shutil.which("model_signing")
    if found is None:
        pytest.fail("the model_signing command line is not installed (the 'signing' extra)")
    return found


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    for name in (
        "LOOPML_SIGNING_KEY",
        "LOOPML_SIGNING_KEY_PASSWORD",
        "LOOPML_SIGNING_PUBLIC_KEY",
        "LOOPML_REQUIRE_SIGNED",
    ):
        monkeypatch.delenv(name, raising=False)
    ws = Workspace.open(home=tmp_path / "home")
    with use_workspace(ws):
        yield ws
    ws.close()


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return generate_signing_key(tmp_path / "keys" / "signer.pem", tmp_path / "keys" / "signer.pub")


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    model = LogisticRegression().fit(FRAME, LABELS)
    return save_model(model, tmp_path / "model", input_example=FRAME.head(2)).path


def _folder(workspace: Workspace, version) -> Path:
    return pull_model(
        version.manifest_digest,
        workspace.artifacts,
        workspace.cache_dir / "models" / version.manifest_digest,
    )


def test_a_model_signed_at_registration_verifies_with_the_model_signing_tool(
    workspace: Workspace, keys: tuple[Path, Path], model_dir: Path, tmp_path: Path
) -> None:
    private, public = keys
    version = register_model("fraud", model_dir, signing_key=private)
    assert set(version.tags) >= {SIGNATURE_TAG, SIGNATURE_KEY_TAG}
    assert workspace.artifacts.get(version.tags[SIGNATURE_KEY_TAG]) == public.read_bytes()

    model, bundle, _ = export_signed(
        version, _folder(workspace, version), workspace, tmp_path / "x"
    )
    assert json.loads(bundle.read_bytes())["mediaType"].startswith("application/vnd.dev.sigstore")
    argv = [_model_signing_cli(), "verify", "key", str(model), "--signature", str(bundle)]
    argv += ["--public_key", str(public)]
    ok = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Verification succeeded" in ok.stdout

    _flip(model / "model.skops")  # one byte
    refused = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "model.skops" in refused.stdout + refused.stderr

    loaded = load_model("models:/fraud/1")  # the registry's copy is intact and verifies
    np.testing.assert_array_equal(loaded.predict(FRAME), LABELS)


def test_loopml_refuses_a_tampered_signed_model(
    workspace: Workspace, keys: tuple[Path, Path], model_dir: Path
) -> None:
    version = register_model("fraud", model_dir, signing_key=keys[0])
    folder = _folder(workspace, version)
    assert verify_version(version, folder, workspace).signed

    _flip(folder / "model.skops")
    with pytest.raises(SignatureInvalid, match="model.skops") as caught:
        verify_version(version, folder, workspace)
    assert isinstance(caught.value, DigestMismatch)  # callers catching DigestMismatch see it


def test_a_bundle_from_another_key_or_another_model_is_refused(
    workspace: Workspace,
    keys: tuple[Path, Path],
    model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    version = register_model("fraud", model_dir, signing_key=keys[0])
    other_private, other_public = generate_signing_key(tmp_path / "o.pem", tmp_path / "o.pub")

    monkeypatch.setenv("LOOPML_SIGNING_PUBLIC_KEY", str(other_public))
    with pytest.raises(SignatureInvalid, match="does not verify"):
        load_model("models:/fraud/1")
    monkeypatch.setenv("LOOPML_SIGNING_PUBLIC_KEY", str(keys[1]))
    assert load_model("models:/fraud/1").flavor == "sklearn"
    monkeypatch.delenv("LOOPML_SIGNING_PUBLIC_KEY")

    second = save_model(LogisticRegression(C=0.1).fit(FRAME, LABELS), tmp_path / "second")
    other = register_model("other", second.path, signing_key=other_private)
    swapped = {
        SIGNATURE_TAG: other.tags[SIGNATURE_TAG],
        SIGNATURE_KEY_TAG: version.tags[SIGNATURE_KEY_TAG],
    }
    workspace.store.update_model_version("fraud", 1, actor="mallory", tags=swapped)
    with pytest.raises(SignatureInvalid):
        load_model("models:/fraud/1")


def test_unsigned_versions_load_unless_signatures_are_required(
    workspace: Workspace, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = register_model("fraud", model_dir)
    assert SIGNATURE_TAG not in version.tags
    assert load_model("models:/fraud/1").flavor == "sklearn"
    monkeypatch.setenv("LOOPML_REQUIRE_SIGNED", "1")
    with pytest.raises(SignatureInvalid, match="not signed"):
        load_model("models:/fraud/1")


def test_signing_from_the_environment_keeps_registration_idempotent(
    workspace: Workspace,
    keys: tuple[Path, Path],
    model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = register_model("fraud", model_dir)  # unsigned
    monkeypatch.setenv("LOOPML_SIGNING_KEY", str(keys[0]))
    again = register_model("fraud", model_dir)  # the same version, now signed
    assert again.number == first.number and SIGNATURE_TAG in again.tags
    third = register_model("fraud", model_dir)
    assert third.number == first.number
    assert third.tags[SIGNATURE_TAG] == again.tags[SIGNATURE_TAG]  # not re-signed
    assert len(workspace.store.list_model_versions("fraud")) == 1


def test_the_cli_makes_keys_signs_and_verifies(
    run_cli: Cli, workspace: Workspace, model_dir: Path, tmp_path: Path
) -> None:
    home = str(workspace.home)
    made = run_cli("models", "keygen", str(tmp_path / "k.pem"), str(tmp_path / "k.pub"), "--json")
    assert json.loads(made.stdout)["public_key"] == str(tmp_path / "k.pub")
    assert (tmp_path / "k.pem").stat().st_mode & 0o077 == 0
    run_cli("--home", home, "models", "register", "fraud", str(model_dir))

    unsigned = run_cli("--home", home, "models", "verify", "fraud/1", "--json")
    assert unsigned.returncode == 1
    assert json.loads(unsigned.stdout)["verified"] is False

    signed = run_cli(
        "--home", home, "models", "sign", "fraud/1", "--key", str(tmp_path / "k.pem"), "--json"
    )
    assert SIGNATURE_TAG in json.loads(signed.stdout)["tags"]
    checked = run_cli(
        "--home",
        home,
        "models",
        "verify",
        "fraud/1",
        "--key",
        str(tmp_path / "k.pub"),
        "--export",
        str(tmp_path / "out"),
        "--json",
    )
    report = json.loads(checked.stdout)
    assert report["verified"] is True and report["trusted_key"] is True
    argv = [
        _model_signing_cli(),
        "verify",
        "key",
        report["export"]["model"],
        "--signature",
        report["export"]["signature"],
        "--public_key",
        str(tmp_path / "k.pub"),
    ]
    assert subprocess.run(argv, capture_output=True, timeout=120).returncode == 0


def test_a_deploy_verifies_the_signature_first(
    workspace: Workspace, keys: tuple[Path, Path], model_dir: Path
) -> None:
    from loopml import deploy

    version = register_model("fraud", model_dir, signing_key=keys[0])
    deployed = deploy.create("scoring", "fraud/1", workspace=workspace)
    assert deployed.arms[0].version == 1
    folder = _folder(workspace, version)
    stray = workspace.artifacts.put(b"not the signed bundle")
    workspace.store.update_model_version("fraud", 1, actor="mallory", tags={SIGNATURE_TAG: stray})
    with pytest.raises(SignatureInvalid):
        deploy.create("scoring-2", "fraud/1", workspace=workspace)
    assert folder.exists()
