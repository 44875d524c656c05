"""API tokens: shown once, stored as a SHA-256, expiring and revocable."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import TYPE_CHECKING

from loopml.entities import Token
from loopml.errors import InvalidInput, NotFound, Unauthenticated
from loopml.governance._roles import Principal, principal_for

if TYPE_CHECKING:
    from loopml.store import Store

_FORMAT = re.compile(r"^lml_([0-9a-f]{16})_([A-Za-z0-9_\-]{43})$")
# Compared against when the token id is unknown, so a miss costs what a hit costs.
_DUMMY = hashlib.sha256(b"loopml-no-such-token").hexdigest()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    user: str,
    *,
    name: str = "",
    expires_in_s: float | None = None,
    actor: str,
    store: Store,
) -> tuple[str, Token]:
    """Make a token for ``user``: returns the secret (show it once) and its record.

    Args:
        user: The account the token acts as.
        name: A label (``"ci"``, ``"laptop"``).
        expires_in_s: Lifetime in seconds (None: until revoked).
        actor: Who creates it.
        store: Metadata store.
    """
    if expires_in_s is not None and expires_in_s <= 0:
        raise InvalidInput(
            f"a token lifetime must be positive, got {expires_in_s}",
            hint="Give --expires-in as e.g. 3600 seconds, or leave it out.",
        )
    token_id = secrets.token_hex(8)
    secret = f"lml_{token_id}_{secrets.token_urlsafe(32)}"
    now = time.time_ns() // 1_000_000
    expires = None if expires_in_s is None else now + int(expires_in_s * 1000)
    record = Token(token_id, user, name, _hash(secret), now, actor, expires)
    return secret, store.create_token(record, actor=actor)


def authenticate(token: str, *, store: Store, at_ms: int | None = None) -> Principal:
    """The principal a token stands for.

    Raises:
        Unauthenticated: The token is malformed, unknown, expired or revoked, or its
            account is disabled; the message does not say which (HTTP 401).
    """
    refusal = Unauthenticated(
        "invalid, expired or revoked token",
        hint="Create a new one with `loopml tokens create USER`.",
    )
    match = _FORMAT.match(token) if isinstance(token, str) else None
    record = None
    if match is not None:
        try:
            record = store.get_token(match.group(1))
        except NotFound:
            record = None
    stored = _DUMMY if record is None else record.secret_hash
    good = hmac.compare_digest(_hash(token if isinstance(token, str) else ""), stored)
    now = time.time_ns() // 1_000_000 if at_ms is None else at_ms
    if record is None or not good or not record.is_valid(now):
        raise refusal
    try:
        if store.get_user(record.user).disabled:
            raise refusal
        return principal_for(record.user, store=store, token_id=record.token_id)
    except NotFound:
        raise refusal from None
