"""RestStore: the Store protocol over HTTP, one method per row of the operation table."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import httpx

from loopml.errors import StoreUnavailable
from loopml.store.rest._codec import decode, dumps, encode
from loopml.store.rest._errors import error_from
from loopml.store.rest._table import OPERATIONS, Operation

if TYPE_CHECKING:
    from collections.abc import Callable

#: Header every write carries; the server answers a replay from its record.
IDEMPOTENCY_HEADER = "Idempotency-Key"
_RETRY_STATUS = frozenset({502, 503, 504})


def query_value(value: Any, hint: Any) -> str:
    """A scalar argument as it travels in a query string (strings raw, the rest as JSON)."""
    encoded = encode(value, hint)
    return encoded if isinstance(encoded, str) else dumps(encoded)


class RestStore:
    """The metadata store of a loopml server, over HTTP (httpx, keep-alive).

    Every Store method is generated from :data:`loopml.store.rest.OPERATIONS`; errors come
    back as the same exception classes. Connection errors and 502/503/504 answers are
    retried with exponential backoff; every write carries an ``Idempotency-Key`` (the
    same on each retry), so a retried write happens once.

    Args:
        url: The server's base URL (``http://127.0.0.1:5000``).
        token: API token sent as ``Authorization: Bearer``.
        timeout_s: Per-request timeout.
        retries: How many times a transient failure is retried.
        backoff_s: First backoff (doubled on each retry).
        transport: An httpx transport (tests).
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
        retries: int = 4,
        backoff_s: float = 0.1,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        headers = {"User-Agent": "loopml-rest-store"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout_s, transport=transport
        )

    def __repr__(self) -> str:
        return f"RestStore({self.url!r})"

    def call(self, op: Operation, args: dict[str, Any]) -> Any:
        """Send one operation with its (bound) arguments; return the decoded result."""
        headers: dict[str, str] = {}
        if op.write:
            headers[IDEMPOTENCY_HEADER] = uuid.uuid4().hex
        hints = {q.name: q.hint for q in op.params}
        if op.http == "GET":
            params = {k: query_value(v, hints[k]) for k, v in args.items() if v is not None}
            request = self._client.build_request("GET", op.path, params=params, headers=headers)
        else:
            body = {k: encode(v, hints[k]) for k, v in args.items()}
            content = dumps(body).encode()
            headers["Content-Type"] = "application/json"
            request = self._client.build_request("POST", op.path, content=content, headers=headers)
        response = self._send(request)
        data = json.loads(response.content) if response.content else None
        if response.status_code >= 400:
            raise error_from(response.status_code, data)
        return decode(data, op.returns, "result")

    def whoami(self) -> dict[str, Any]:
        """The account the token stands for: ``{"name", "roles": [[project, role]...],
        "token_id"}`` (the server's view, which every check uses)."""
        response = self._send(self._client.build_request("GET", "/api/v1/whoami"))
        data = json.loads(response.content) if response.content else None
        if response.status_code >= 400:
            raise error_from(response.status_code, data)
        return dict(data or {})

    def _send(self, request: httpx.Request) -> httpx.Response:
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client.send(request)
            except httpx.TransportError as exc:
                if last:
                    raise StoreUnavailable(
                        f"cannot reach the loopml server at {self.url}: {exc}",
                        hint="Check LOOPML_SERVER_URL and that `loopml server` runs there.",
                        url=self.url,
                    ) from exc
            else:
                if response.status_code not in _RETRY_STATUS or last:
                    return response
                response.close()
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> RestStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _method(op: Operation) -> Callable[..., Any]:
    import inspect

    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(
                q.name,
                inspect.Parameter.KEYWORD_ONLY
                if q.keyword_only
                else inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=q.default,
            )
            for q in op.params
        ]
    )

    def method(self: RestStore, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        values.pop("self")
        return self.call(op, values)

    method.__name__ = op.name
    method.__qualname__ = f"RestStore.{op.name}"
    method.__doc__ = f"{op.http} {op.path}: {op.doc}"
    method.__signature__ = signature  # type: ignore[attr-defined]
    return method


for _op in OPERATIONS.values():
    setattr(RestStore, _op.name, _method(_op))
