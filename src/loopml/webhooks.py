"""Signed webhooks: one JSON POST per event, with an HMAC-SHA256 signature a receiver checks.

Monitoring alerts, rollout stages and the closed loop's approval requests all notify
through :func:`send_webhook`. The body is the event as JSON; the headers carry:

- ``X-Loopml-Event``: the event kind (``alert.firing``, ``deploy.step``...);
- ``X-Loopml-Delivery``: a unique id per delivery (a receiver drops repeats by it);
- ``X-Loopml-Timestamp``: Unix seconds when it was signed;
- ``X-Loopml-Signature``: ``sha256=<hex>`` over ``"<timestamp>." + body``
  (GitHub's and Stripe's scheme: the timestamp inside the signature stops replays).

:func:`verify_signature` is the receiver's side. Delivery retries with backoff on
connection errors and 5xx answers, and never raises: the outcome is a :class:`Delivery`,
because a chat room being down must not stop a rollback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

SIGNATURE_HEADER = "X-Loopml-Signature"
TIMESTAMP_HEADER = "X-Loopml-Timestamp"
EVENT_HEADER = "X-Loopml-Event"
DELIVERY_HEADER = "X-Loopml-Delivery"
DEFAULT_TOLERANCE_S = 300.0


@dataclass(frozen=True)
class Delivery:
    """The outcome of one webhook delivery.

    Attributes:
        url: Where it was sent.
        event: The event kind.
        delivery_id: The ``X-Loopml-Delivery`` id.
        ok: Whether the receiver answered 2xx.
        status: The last HTTP status (0: no answer).
        attempts: How many tries it took.
        error: Why it failed ("" when ok).
    """

    url: str
    event: str
    delivery_id: str
    ok: bool
    status: int
    attempts: int
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "url": self.url,
            "event": self.event,
            "delivery_id": self.delivery_id,
            "ok": self.ok,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
        }


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The ``X-Loopml-Signature`` value of ``body`` signed at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Whether ``body`` with these headers was signed with ``secret`` within the tolerance.

    Header names are matched case-insensitively. The comparison is constant-time.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    given = lower.get(SIGNATURE_HEADER.lower(), "")
    stamp = lower.get(TIMESTAMP_HEADER.lower(), "")
    if not given or not stamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance_s:
        return False
    return hmac.compare_digest(given, sign(body, secret, int(stamp)))


def encode_event(payload: Mapping[str, Any]) -> bytes:
    """The JSON body of an event (sorted keys, so a signature is reproducible)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def send_webhook(
    url: str,
    event: str,
    payload: Mapping[str, Any],
    *,
    secret: str | None = None,
    timeout_s: float = 5.0,
    retries: int = 3,
    backoff_s: float = 0.25,
) -> Delivery:
    """POST ``payload`` as JSON to ``url``, signed with ``secret`` when one is given.

    Retries (``retries`` times after the first try, doubling ``backoff_s``) on connection
    errors, timeouts, 429 and 5xx; a 4xx other than 429 is final.

    Example:
        >>> send_webhook("http://127.0.0.1:9/hook", "test", {"x": 1}, retries=0).ok
        False
    """
    import httpx

    body = encode_event(payload)
    delivery_id = uuid.uuid4().hex
    status, error, attempts = 0, "", 0
    with httpx.Client(timeout=timeout_s, trust_env=False) as client:
        for attempt in range(retries + 1):
            attempts = attempt + 1
            stamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                EVENT_HEADER: event,
                DELIVERY_HEADER: delivery_id,
                TIMESTAMP_HEADER: str(stamp),
            }
            if secret:
                headers[SIGNATURE_HEADER] = sign(body, secret, stamp)
            try:
                response = client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                status, error = 0, f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return Delivery(url, event, delivery_id, True, status, attempts)
                error = f"HTTP {status}"
                if status < 500 and status != 429:
                    break
            if attempt < retries:
                time.sleep(backoff_s * 2**attempt)
    return Delivery(url, event, delivery_id, False, status, attempts, error)
