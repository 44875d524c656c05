"""Users, service accounts, tokens, role bindings and audit-log entries (no I/O).

The audit log is an RFC 6962 Merkle tree: :func:`leaf_hash` and :func:`node_hash` are its
two hash functions, and :func:`push_leaf`/:func:`frontier_root` keep the tree head of an
append-only log in O(log n) space. They live here, beside the entry whose bytes they hash,
so the store (which appends) and governance (which proves and verifies) share one
definition of an entry's bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: The tree head of the empty log: SHA-256 of the empty string (RFC 6962 section 2.1).
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


class AccountKind(StrEnum):
    """A person, or a service account (a machine: CI, the agent, a deployment)."""

    USER = "user"
    SERVICE = "service"


@dataclass(frozen=True)
class User:
    """An account that can hold roles and tokens."""

    name: str
    kind: AccountKind
    display_name: str
    created_at_ms: int
    created_by: str
    disabled: bool = False


@dataclass(frozen=True)
class Token:
    """An API token's record; the secret itself is never stored, only its SHA-256.

    ``token_id`` is the public part of the token (``lml_<token_id>_<secret>``), used to look
    the record up; ``secret_hash`` is the hex SHA-256 of the whole token string.
    """

    token_id: str
    user: str
    name: str
    secret_hash: str
    created_at_ms: int
    created_by: str
    expires_at_ms: int | None = None
    revoked_at_ms: int | None = None

    def is_valid(self, at_ms: int) -> bool:
        """True when the token is neither revoked nor expired at ``at_ms``."""
        if self.revoked_at_ms is not None:
            return False
        return self.expires_at_ms is None or at_ms < self.expires_at_ms


@dataclass(frozen=True)
class RoleBinding:
    """``user`` holds ``role`` in ``project`` (``"*"``: every project)."""

    user: str
    role: str
    project: str
    granted_at_ms: int
    granted_by: str


@dataclass(frozen=True)
class RolePermission:
    """A project's override of the default matrix: ``role`` gains or loses ``permission``."""

    project: str
    role: str
    permission: str
    allowed: bool


class Outcome(StrEnum):
    """Whether the recorded action happened or was refused."""

    OK = "ok"
    DENIED = "denied"


@dataclass(frozen=True)
class AuditEntry:
    """What an audit event records, before the log assigns its index and hashes.

    ``before``/``after`` are hex SHA-256 digests of the object's state (see
    :func:`state_digest`), None where there was no state (a creation, a deletion).
    """

    actor: str
    action: str
    object_kind: str
    object_id: str
    source: str = "local"
    before: str | None = None
    after: str | None = None
    outcome: Outcome = Outcome.OK
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEvent:
    """One leaf of the audit log: an entry with its index, time and hashes.

    ``prev_root`` is the tree head of the log before this entry (the hash chain), and
    ``leaf_hash`` is ``SHA-256(0x00 || leaf_bytes())``.
    """

    index: int
    at_ms: int
    entry: AuditEntry
    prev_root: str
    leaf_hash: str

    def leaf_bytes(self) -> bytes:
        """The canonical bytes this event is hashed as."""
        return encode_leaf(self.index, self.at_ms, self.entry, self.prev_root)


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head as stored: size, root (hex) and the C2SP checkpoint note."""

    size: int
    root: str
    note: str
    created_at_ms: int


def state_digest(state: Mapping[str, Any] | None) -> str | None:
    """Hex SHA-256 of an object's state as canonical JSON (None for no state)."""
    if state is None:
        return None
    return hashlib.sha256(canonical_json(state)).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Sorted-key, compact UTF-8 JSON: the same value always gives the same bytes."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def encode_leaf(index: int, at_ms: int, entry: AuditEntry, prev_root: str) -> bytes:
    """The canonical bytes of one audit leaf (version 1 of the encoding)."""
    return canonical_json(
        {
            "v": 1,
            "index": index,
            "at_ms": at_ms,
            "actor": entry.actor,
            "action": entry.action,
            "object_kind": entry.object_kind,
            "object_id": entry.object_id,
            "source": entry.source,
            "before": entry.before,
            "after": entry.after,
            "outcome": str(entry.outcome),
            "detail": dict(entry.detail),
            "prev_root": prev_root,
        }
    )


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def push_leaf(frontier: Sequence[bytes], size: int, leaf: bytes) -> list[bytes]:
    """The frontier after appending the leaf hash ``leaf`` to a tree of ``size`` leaves.

    The frontier is the roots of the perfect subtrees the tree splits into, largest
    first (one per set bit of ``size``); equal-sized neighbours merge as in a binary
    counter.
    """
    out = [*frontier, leaf]
    merged = size
    while merged & 1:
        right = out.pop()
        out[-1] = node_hash(out[-1], right)
        merged >>= 1
    return out


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """The RFC 6962 tree head of a frontier (folded from the smallest subtree up)."""
    if not frontier:
        return bytes.fromhex(EMPTY_ROOT)
    root = frontier[-1]
    for subtree in reversed(frontier[:-1]):
        root = node_hash(subtree, root)
    return root
