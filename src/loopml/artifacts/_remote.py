"""The artifact store of a loopml server, over its REST API (``/api/v1/artifacts``).

:class:`RemoteArtifactStore` has the local store's interface. Uploads go in parts of
``part_size`` bytes through a resumable upload (a dropped connection resumes from the offset
the server says it has); downloads stream with ``Range`` resumes and are verified against
the digest as they are read, like a local read. Transient failures (connection errors,
502/503/504) are retried with exponential backoff; every write is idempotent because
objects are named by their content.
"""

from __future__ import annotations

import hashlib
import io
import time
from typing import TYPE_CHECKING, Any

import httpx

from loopml import errors
from loopml.artifacts._copy import _filler
from loopml.artifacts._inventory import StoredObject
from loopml.artifacts._reader import ArtifactReader, _VerifyingRaw
from loopml.artifacts._store import DEFAULT_CHUNK_SIZE, ArtifactStore
from loopml.errors import InvalidInput, LoopmlError, NotFound, StoreUnavailable
from loopml.ids import check_digest

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Iterator

    from loopml.artifacts._copy import SupportsRead
    from loopml.artifacts._crypto import MasterKey

PREFIX = "/api/v1/artifacts"
#: Bytes sent per upload request (one part is held in memory at a time).
DEFAULT_PART_SIZE = 16 << 20
_TRANSIENT = frozenset({502, 503, 504})


class RemoteArtifactStore(ArtifactStore):
    """An artifact store reached through a loopml server (``LOOPML_SERVER_URL``).

    Args:
        server_url: The server's base URL, e.g. ``http://127.0.0.1:5000``.
        token: An API token, sent as ``Authorization: Bearer`` (``LOOPML_TOKEN``).
        chunk_size: Bytes per read when streaming downloads to files.
        part_size: Bytes per upload request; one part is held in memory at a time.
        retries: Attempts after the first for each request that fails transiently.
        backoff_s: The first retry's delay; each later one doubles it (capped at 10 s).
        timeout_s: Seconds to wait on a connection or between bytes of an answer.
        transport: An httpx transport (tests).

    Example:
        >>> store = RemoteArtifactStore("http://127.0.0.1:5000")  # doctest: +SKIP
        >>> store.get(store.put(b"hello"))  # doctest: +SKIP
        b'hello'
    """

    def __init__(  # the base's __init__ resolves a filesystem; a remote store has none
        self,
        server_url: str,
        *,
        token: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        part_size: int = DEFAULT_PART_SIZE,
        retries: int = 5,
        backoff_s: float = 0.2,
        timeout_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not server_url.startswith(("http://", "https://")):
            raise InvalidInput(
                f"the loopml server URL must start with http:// or https://, got {server_url!r}",
                hint="Set LOOPML_SERVER_URL to the server's address, e.g. http://127.0.0.1:5000.",
                url=server_url,
            )
        self.url = server_url.rstrip("/")
        self.chunk_size = chunk_size
        self.part_size = part_size
        self.fsync = False
        self.storage_options = {}
        self.encryption = None
        self.retries = retries
        self.backoff_s = backoff_s
        self._local = False
        self._packs = None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"RemoteArtifactStore({self.url!r})"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    # -- requests ------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request, retrying transient failures; raise the server's error as ours."""
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(method, PREFIX + path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise self._unreachable(exc) from exc
                self._sleep(attempt)
                continue
            if response.status_code in _TRANSIENT and attempt < self.retries:
                self._sleep(attempt)
                continue
            if response.status_code >= 400:
                raise self._error(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, response: httpx.Response) -> LoopmlError:
        error = _error_from(response)
        if isinstance(error, NotFound) and getattr(error, "kind", "") == "artifact":
            # The server's hint names its own storage; the caller knows the server's URL.
            error.hint = (
                f"No object with this digest is stored on the loopml server at {self.url}; "
                "check the digest and LOOPML_SERVER_URL, or store the bytes with put() first."
            )
        return error

    def _sleep(self, attempt: int) -> None:
        time.sleep(min(10.0, self.backoff_s * (2**attempt)))

    def _unreachable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(
            f"cannot reach the loopml server at {self.url}: {type(exc).__name__}",
            hint="Check LOOPML_SERVER_URL and that the server is running (`loopml server`).",
            url=self.url,
        )

    # -- writing -------------------------------------------------------------------------

    def _put_buffer(self, view: memoryview) -> str:
        if view.nbytes <= self.part_size:
            digest = hashlib.sha256(view).hexdigest()
            answer = self._request("POST", "", content=_pieces(view), params={"sha256": digest})
            return str(answer.json()["digest"])
        return self._put_stream(io.BytesIO(view))

    def _put_stream(self, source: SupportsRead) -> str:
        fill = _filler(source)
        upload = str(self._request("POST", "/uploads").json()["upload_id"])
        sha = hashlib.sha256()
        buffer = memoryview(bytearray(self.part_size))
        offset = 0
        try:
            while True:
                count = fill(buffer)
                sha.update(buffer[:count])
                if count:
                    offset = self._send_part(upload, buffer[:count], offset)
                if count < self.part_size:
                    break
            answer = self._request(  # the server hashes and stores it all: no read timeout
                "POST",
                f"/uploads/{upload}/complete",
                json={"sha256": sha.hexdigest()},
                timeout=httpx.Timeout(self._http.timeout.connect, read=None),
            )
        except BaseException:
            try:
                self._http.delete(f"{PREFIX}/uploads/{upload}")
            except httpx.HTTPError:
                pass  # the server's stale uploads are the server's to clean
            raise
        return str(answer.json()["digest"])

    def _send_part(self, upload: str, part: memoryview, offset: int) -> int:
        """Send ``part`` (object bytes from ``offset`` on), resuming after drops; new offset."""
        end = offset + part.nbytes
        position = offset
        for attempt in range(self.retries + 1):
            try:
                answer = self._http.put(
                    f"{PREFIX}/uploads/{upload}",
                    params={"offset": position},
                    content=_pieces(part[position - offset :]),
                )
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise self._unreachable(exc) from exc
                self._sleep(attempt)
                position = self._received(upload, offset, end)
                continue
            if answer.status_code in _TRANSIENT and attempt < self.retries:
                self._sleep(attempt)
                position = self._received(upload, offset, end)
                continue
            if answer.status_code == 409 and "offset" in _body(answer):
                # The server holds another offset than ours: resume from theirs.
                position = int(_body(answer)["offset"])
                if not offset <= position <= end:
                    raise self._error(answer)
            elif answer.status_code >= 400:
                raise self._error(answer)
            else:
                position = int(answer.json()["offset"])
            if position == end:
                return end
        raise StoreUnavailable(
            f"the upload of {part.nbytes} bytes to {self.url} did not complete after "
            f"{self.retries + 1} attempts",
            hint="Check the network and the server's log, then store the object again.",
        )

    def _received(self, upload: str, offset: int, end: int) -> int:
        position = int(self._request("GET", f"/uploads/{upload}").json()["offset"])
        if not offset <= position <= end:
            raise InvalidInput(
                f"the server holds {position} bytes of upload {upload}, outside this part "
                f"({offset}-{end})",
                hint="Store the object again.",
            )
        return position

    # -- reading -------------------------------------------------------------------------

    def open(self, digest: str) -> ArtifactReader:
        """Open a stored object as a stream verified against its digest (see the base)."""
        digest = check_digest(digest)
        source = _RangeSource(self, digest)
        raw = _VerifyingRaw(source, digest, f"{self.url}{PREFIX}/{digest}", source.size)
        return ArtifactReader(raw, digest, min(self.chunk_size, 1 << 20))

    def materialize(
        self,
        digest: str,
        dest_path: str | os.PathLike[str],
        *,
        link: bool = True,
        verify: bool = True,
    ) -> str:
        """Download the object to ``dest_path``, verified; always ``"copy"``."""
        self.get_file(digest, dest_path)
        return "copy"

    def exists(self, digest: str) -> bool:
        """Tell whether the server stores an object under ``digest``."""
        try:
            self.size(digest)
        except NotFound:
            return False
        return True

    def size(self, digest: str) -> int:
        """The stored object's size in bytes."""
        return self.stat(digest).size

    def stat(self, digest: str) -> StoredObject:
        """One object's size and last write time."""
        digest = check_digest(digest)
        found = self._request("GET", f"/{digest}/stat").json()
        return StoredObject(found["digest"], int(found["size"]), float(found["modified_s"]))

    def inventory(self) -> list[StoredObject]:
        """Every stored object with its size and last write time, by digest."""
        listed = self._request("GET", "").json()["objects"]
        return [StoredObject(o["digest"], int(o["size"]), float(o["modified_s"])) for o in listed]

    def iter_digests(self) -> Iterator[str]:
        """Yield the digest of every stored object, in sorted order."""
        yield from (found.digest for found in self.inventory())

    # -- maintenance ---------------------------------------------------------------------

    def delete_many(self, digests: Iterable[str]) -> int:
        """Remove stored objects (missing ones are skipped); return how many were removed."""
        doomed = sorted({check_digest(d) for d in digests})
        return int(self._request("POST", "/delete", json={"digests": doomed}).json()["removed"])

    def cleanup_tmp(self, older_than_s: float = 86_400.0) -> int:
        """Nothing to do here: the server cleans its own temporaries. Returns 0."""
        return 0

    def rotate_key(self, new_key: MasterKey) -> dict[str, int]:
        """Not over the API: rotate on the server host, where the keys are.

        Raises:
            InvalidInput: Always.
        """
        raise InvalidInput(
            f"the artifact store at {self.url} is a loopml server's; its keys are the server's",
            hint="Run `loopml artifacts rotate-key` on the server host, without LOOPML_SERVER_URL.",
        )


class _RangeSource:
    """A download that reconnects with ``Range: bytes=N-`` when the connection drops."""

    def __init__(self, store: RemoteArtifactStore, digest: str) -> None:
        self._store = store
        self._digest = digest
        self._pos = 0
        self._stream: Iterator[bytes] | None = None
        self._response: httpx.Response | None = None
        self._pending = b""
        self.size = 0
        self._open()
        assert self._response is not None
        self.size = int(self._response.headers["content-length"])

    def _open(self) -> None:
        store = self._store
        headers = {"Range": f"bytes={self._pos}-"} if self._pos else {}
        for attempt in range(store.retries + 1):
            try:
                request = store._http.build_request(
                    "GET", f"{PREFIX}/{self._digest}", headers=headers
                )
                response = store._http.send(request, stream=True)
            except httpx.TransportError as exc:
                if attempt == store.retries:
                    raise store._unreachable(exc) from exc
                store._sleep(attempt)
                continue
            if response.status_code in _TRANSIENT and attempt < store.retries:
                response.close()
                store._sleep(attempt)
                continue
            if response.status_code >= 400:
                response.read()
                raise store._error(response)
            self._response = response
            self._stream = response.iter_raw(1 << 20)
            return

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (empty at the end), reconnecting after a drop."""
        attempt = 0
        stalled_at = -1
        while not self._pending:
            if self._pos >= self.size:
                return b""
            assert self._stream is not None
            failure: Exception | None = None
            try:
                self._pending = next(self._stream, b"")
            except httpx.TransportError as exc:
                failure = exc
            if self._pending:
                break
            # Cut short: resume from here, unless the server stopped at this same byte
            # before; it withholds the end of an object that fails its check, so ask it to
            # check (that raises DigestMismatch).
            if stalled_at == self._pos:
                self._store._request("GET", f"/{self._digest}/stat", params={"verify": 1})
            stalled_at = self._pos
            if attempt == self._store.retries:
                cause = failure or ConnectionError("download cut short")
                raise self._store._unreachable(cause) from failure
            self._reopen(attempt)
            attempt += 1
        data, self._pending = self._pending[:size], self._pending[size:]
        self._pos += len(data)
        return data

    def _reopen(self, attempt: int) -> None:
        if self._response is not None:
            self._response.close()
        self._store._sleep(attempt)
        self._open()

    def close(self) -> None:
        """Close the connection."""
        if self._response is not None:
            self._response.close()


class _pieces:
    """A memoryview sent in 1 MiB pieces, re-iterable so that a retried request resends it.

    httpx sends each piece as it comes, so no copy of the whole part is made (a single
    large body is copied again on every partial socket send).
    """

    def __init__(self, view: memoryview, size: int = 1 << 20) -> None:
        self._view = view
        self._size = size

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, self._view.nbytes, self._size):
            yield self._view[start : start + self._size].tobytes()


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_from(response: httpx.Response) -> LoopmlError:
    """The loopml exception a server's JSON error names (same class, message, hint, fields).

    The server answers ``{"error": kind, "message", "hint", ...fields}``; an answer without
    a kind (a proxy's, a HEAD's empty body) maps by status.
    """
    body = _body(response)
    kind = body.get("error")
    name = kind if isinstance(kind, str) else ""
    message = str(body.get("message") or f"the loopml server answered {response.status_code}")
    hint = body.get("hint")
    fields: dict[str, Any] = {
        k: v for k, v in body.items() if k not in ("error", "message", "hint")
    }
    found = getattr(errors, name, None)
    cls: type[LoopmlError]
    if isinstance(found, type) and issubclass(found, LoopmlError):
        cls = found
    else:
        fallback: dict[int, type[LoopmlError]] = {
            404: NotFound,
            401: errors.Unauthenticated,
            403: errors.PermissionDenied,
            502: StoreUnavailable,
            503: StoreUnavailable,
            504: StoreUnavailable,
        }
        cls = fallback.get(response.status_code, LoopmlError)
    error: Any = cls.__new__(cls)
    LoopmlError.__init__(error, message, hint=hint if isinstance(hint, str) else None, **fields)
    for attr in ("digest", "actual", "location"):
        setattr(error, attr, str(fields.get(attr, "")))
    error.kind = str(fields.get("kind", "artifact"))
    error.ident = str(fields.get("ident", fields.get("digest", "")))
    result: LoopmlError = error
    return result
