"""``loopml artifacts generate-key`` and ``rotate-key`` on an encrypted home."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from loopml.artifacts import ArtifactStore
from loopml.artifacts._crypto import keyring_from_env, read_key_file
from loopml.errors import EncryptionKeyError
from tests.fixtures.cli import Cli


def test_rotate_key_from_the_command_line(run_cli: Cli, tmp_path: Path) -> None:
    old_file, new_file = tmp_path / "old.key", tmp_path / "new.key"
    made = run_cli("artifacts", "generate-key", "--output", str(old_file), "--json")
    assert made.returncode == 0, made.stderr
    old_id = json.loads(made.stdout)["key_id"]
    assert "key" not in json.loads(made.stdout)  # written to the file, not printed
    assert stat.S_IMODE(old_file.stat().st_mode) == 0o600
    assert run_cli("artifacts", "generate-key", "-o", str(old_file)).returncode == 2  # no clobber
    printed = run_cli("artifacts", "generate-key").stdout.strip()
    new_file.write_text(printed + "\n")
    new_key = read_key_file(new_file)[0]

    home = tmp_path / "home"
    env = {"LOOPML_ENCRYPTION_KEY_FILE": str(old_file)}
    ring = keyring_from_env(env)
    store = ArtifactStore(str(home / "artifacts"), encryption=ring)
    payloads = [os.urandom(size) for size in (10, 3 << 20)]
    digests = [store.put(p) for p in payloads]
    assert run_cli("--home", str(home), "init").returncode == 0

    rotated = run_cli(
        "--home", str(home), "artifacts", "rotate-key", "--new-key-file", str(new_file),
        "--json", env=env,
    )  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout) == {
        "key_id": new_key.key_id,
        "rewrapped": 2,
        "already": 0,
        "plaintext": 0,
    }
    for text in (rotated.stdout, rotated.stderr):
        assert old_file.read_text().strip() not in text and printed not in text
    assert old_id != new_key.key_id

    reader = ArtifactStore(str(home / "artifacts"), encryption=keyring_from_env(
        {"LOOPML_ENCRYPTION_KEY_FILE": str(new_file)}
    ))  # fmt: skip
    assert [reader.get(d) for d in digests] == payloads
    try:
        store.get(digests[0])
    except EncryptionKeyError as exc:
        assert old_id in str(exc) and new_key.key_id in str(exc)
    else:
        raise AssertionError("the old key still opened a re-wrapped object")

    again = run_cli(
        "--home", str(home), "artifacts", "rotate-key", "--new-key-file", str(new_file),
        env={"LOOPML_ENCRYPTION_KEY_FILE": str(new_file)},
    )  # fmt: skip
    assert again.returncode == 0 and "2 already" in again.stdout


def test_rotate_key_without_encryption_or_with_a_bad_key_file_exits_2(
    run_cli: Cli, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    assert run_cli("--home", str(home), "init").returncode == 0
    key_file = tmp_path / "k"
    key_file.write_text("not a key\n")
    bad = run_cli("--home", str(home), "artifacts", "rotate-key", "--new-key-file", str(key_file))
    assert bad.returncode == 2 and "not a 32-byte key" in bad.stderr
    assert "not a key" not in bad.stderr
    assert run_cli("artifacts", "generate-key", "-o", str(tmp_path / "good")).returncode == 0
    plain = run_cli(
        "--home", str(home), "artifacts", "rotate-key", "--new-key-file", str(tmp_path / "good")
    )
    assert plain.returncode == 2 and "not encrypted" in plain.stderr
