"""The audit log: signed checkpoints (C2SP signed notes) and verification from the rows."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loopml.entities import Checkpoint
from loopml.entities.governance import EMPTY_ROOT, frontier_root, leaf_hash, push_leaf
from loopml.errors import InvalidInput
from loopml.governance._merkle import consistency_proof, tree_root, verify_consistency

if TYPE_CHECKING:
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from loopml.store import Store

KEY_FILE = "audit-signing-key.pem"
ORIGIN = "loopml.local/audit"
_DASH = "\u2014"
_PAGE = 5000


def signing_key(path: Path) -> Ed25519PrivateKey:
    """Load the Ed25519 key at ``path``, creating it (mode 0600) when absent."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidInput(f"{path} holds no Ed25519 private key", hint="Point at another.")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def _key_id(name: str, public: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n\x01" + raw).digest()[:4]


def sign_checkpoint(size: int, root: str, key: Ed25519PrivateKey, *, origin: str = ORIGIN) -> str:
    """The C2SP checkpoint of a tree head, as a signed note (Ed25519)."""
    body = f"{origin}\n{size}\n{base64.b64encode(bytes.fromhex(root)).decode()}\n"
    signature = _key_id(origin, key.public_key()) + key.sign(body.encode())
    return f"{body}\n{_DASH} {origin} {base64.b64encode(signature).decode()}\n"


def read_checkpoint(note: str, public: Ed25519PublicKey) -> tuple[int, str]:
    """Check a checkpoint note's signature; return its (size, root hex).

    Raises:
        InvalidInput: The note is malformed or no signature by ``public`` verifies.
    """
    from cryptography.exceptions import InvalidSignature

    body, sep, signatures = note.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3 or not lines[1].isdigit():
        raise InvalidInput("not a checkpoint note", hint="Give a file `audit checkpoint` wrote.")
    origin, size, root_b64 = lines[0], int(lines[1]), lines[2]
    text = (body + "\n").encode()
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH or parts[1] != origin:
            continue
        raw = base64.b64decode(parts[2])
        if raw[:4] != _key_id(origin, public):
            continue
        try:
            public.verify(raw[4:], text)
        except InvalidSignature:
            break
        return size, base64.b64decode(root_b64).hex()
    raise InvalidInput(
        "the checkpoint's signature does not verify with this log's key",
        hint="The checkpoint was altered, or it was signed by another log's key.",
    )


def make_checkpoint(store: Store, key: Ed25519PrivateKey, *, origin: str = ORIGIN) -> Checkpoint:
    """Sign the log's current head, keep it in the store and return it."""
    size, root = store.audit_head()
    checkpoint = Checkpoint(
        size, root, sign_checkpoint(size, root, key, origin=origin), time.time_ns() // 1_000_000
    )
    store.save_checkpoint(checkpoint)
    return checkpoint


@dataclass(frozen=True)
class Verification:
    """What ``verify_log`` found: ``first_bad`` is None when every check passed."""

    size: int
    root: str
    first_bad: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        """True when the log verified."""
        return self.first_bad is None


def verify_log(store: Store, *, checkpoint: tuple[int, str] | None = None) -> Verification:
    """Recompute the log from its rows; name the first entry that does not fit.

    Checks every row's position, leaf hash and chained tree head, the recorded head, the
    stored checkpoints and (given one) an outside checkpoint's ``(size, root)`` by a
    consistency proof from it to the recomputed head.
    """
    leaves: list[bytes] = []
    frontier: list[bytes] = []
    roots: dict[int, str] = {0: EMPTY_ROOT}
    offset = 0
    while True:
        page = store.list_audit_events(offset=offset, limit=_PAGE)
        for event in page:
            i = len(leaves)
            if event.index != i:
                what = "missing" if event.index > i else "out of order or duplicated"
                return Verification(i, "", i, f"entry {i} is {what} (found index {event.index})")
            digest = leaf_hash(event.leaf_bytes())
            if digest.hex() != event.leaf_hash:
                return Verification(i, "", i, f"entry {i} was edited: its leaf hash differs")
            if event.prev_root != roots[i]:
                return Verification(
                    i,
                    "",
                    max(i - 1, 0),
                    f"the chain breaks before entry {i}: the tree head it records differs "
                    f"from entries 0..{i - 1} (entry {i - 1} was edited, or entries were "
                    "removed, inserted or reordered)",
                )
            frontier = push_leaf(frontier, i, digest)
            leaves.append(digest)
            roots[i + 1] = frontier_root(frontier).hex()
        if len(page) < _PAGE:
            break
        offset += _PAGE
    size, root = len(leaves), roots[len(leaves)]
    head_size, head_root = store.audit_head()
    if (head_size, head_root) != (size, root):
        bad = min(size, head_size)
        return Verification(
            size,
            root,
            bad,
            f"the log holds {size} entries but its head records {head_size}: entries after "
            f"{bad - 1} were removed, added or changed",
        )
    outside = [] if checkpoint is None else [checkpoint]
    for old_size, old_root in [*((c.size, c.root) for c in store.list_checkpoints()), *outside]:
        if old_size > size:
            return Verification(
                size, root, size, f"a checkpoint of size {old_size} is longer than the log"
            )
        proof = consistency_proof(old_size, leaves)
        if not verify_consistency(
            old_size, size, bytes.fromhex(old_root), bytes.fromhex(root), proof
        ):
            bad = next(
                (j for j in range(old_size) if tree_root(leaves[: j + 1]).hex() != roots[j + 1]),
                old_size - 1,
            )
            return Verification(
                size,
                root,
                bad,
                f"the log is not consistent with the checkpoint of size {old_size}: entries "
                f"before {old_size} were rewritten",
            )
    return Verification(size, root)
