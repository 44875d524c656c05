"""The artifact endpoints: streamed, resumable chunked uploads and Range downloads.

``artifact_router(ctx)`` returns the router the server's app includes. Every endpoint
streams: an upload is appended to a staging file as its bytes arrive and stored with one
streamed ``put_file`` when it completes; a download is read from the store (verified as it
is read) one chunk at a time. Neither ever holds a whole object in memory.

Protocol (all under ``/api/v1/artifacts``)::

    POST   /uploads                     -> 201 {"upload_id", "offset": 0}
    PUT    /uploads/{id}?offset=N       body: bytes from N on -> {"upload_id", "offset"}
                                        409 {"offset"} when N is not the received size
    GET    /uploads/{id}                -> {"upload_id", "offset"} (where to resume)
    POST   /uploads/{id}/complete       {"sha256"} -> 201 {"digest", "size"}; 422 if the
                                        received bytes hash to something else
    DELETE /uploads/{id}                -> 204 (abandon)
    POST   /                            body: a whole (small) object; ?sha256= checks it
    GET    /                            -> {"objects": [{"digest", "size", "modified_s"}]}
    HEAD   /{digest}                    -> Content-Length: the object's size
    GET    /{digest}                    -> the bytes; ``Range: bytes=N-[M]`` -> 206
    GET    /{digest}/stat               -> {"digest", "size", "modified_s"}
    DELETE /{digest}                    -> 204
    POST   /delete                      {"digests": [...]} -> {"removed": n}

The staging folder is ``<home>/uploads`` unless the context names another (``upload_dir``):
behind a load balancer with several server hosts, point it at a shared folder or keep an
upload's requests on one host; workers of one host share it already. Writes to one upload
are serialised with a file lock, so two workers never interleave its bytes.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from loopml.errors import (
    Conflict,
    DigestMismatch,
    InvalidInput,
    LoopmlError,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from loopml.ids import check_digest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from loopml.artifacts import ArtifactStore
    from loopml.workspace import Workspace

PREFIX = "/api/v1/artifacts"
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_STREAM_CHUNK = 1 << 20
#: The permissions the routes need (see :data:`loopml.governance.PERMISSIONS`).
READ, WRITE, DELETE = "runs.read", "runs.write", "users.admin"
_log = logging.getLogger(__name__)


class ArtifactContext(Protocol):
    """What the router needs from the server's context (``loopml.server.ServerContext``).

    ``workspace`` is required. Optional: ``require(permission)``, the FastAPI dependency
    that authenticates and authorises a request (without it the routes are open, as in
    tests of the router alone), and ``upload_dir``, the staging folder for uploads.
    """

    @property
    def workspace(self) -> Workspace:
        """The workspace whose artifact store the endpoints serve."""
        ...


class CompleteUpload(BaseModel):
    """The body of ``POST /uploads/{id}/complete``."""

    sha256: str


class DeleteMany(BaseModel):
    """The body of ``POST /delete``."""

    digests: list[str]


#: Class -> HTTP status, as the server's error table (``loopml.server.STATUS``) has it.
_STATUS: tuple[tuple[type[LoopmlError], int], ...] = (
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (DigestMismatch, 409),
    (InvalidInput, 400),
)


def error_response(exc: LoopmlError, **extra: Any) -> JSONResponse:
    """The server's JSON error answer: ``{"error": kind, "message", "hint", ...fields}``."""
    status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 400)
    body: dict[str, Any] = {
        k: v
        for k, v in exc.fields.items()
        if isinstance(v, (str, int, float, bool)) and k not in ("error", "message", "hint")
    }
    body.update(extra)
    body.update(error=type(exc).__name__, message=exc.message, hint=exc.hint)
    return JSONResponse(body, status_code=status)


def _stored(digest: str, size: int, modified_s: float) -> dict[str, Any]:
    return {"digest": digest, "size": size, "modified_s": modified_s}


def artifact_router(ctx: ArtifactContext) -> APIRouter:
    """The artifact endpoints over ``ctx.workspace.artifacts`` (see the module docstring).

    Reading needs ``runs.read``, storing ``runs.write`` and deleting (garbage collection)
    ``users.admin``, checked by ``ctx.require`` when the context has it.

    Args:
        ctx: The server context: its ``workspace``, optionally ``require`` and
            ``upload_dir``.

    Returns:
        A router with the prefix ``/api/v1/artifacts``.
    """
    require = getattr(ctx, "require", None)

    def allowed(permission: str) -> list[Any]:
        return [Depends(require(permission))] if callable(require) else []

    read, write, admin = allowed(READ), allowed(WRITE), allowed(DELETE)
    router = APIRouter(prefix=PREFIX, tags=["artifacts"])

    def store() -> ArtifactStore:
        return ctx.workspace.artifacts

    def staging() -> Path:
        folder = getattr(ctx, "upload_dir", None) or ctx.workspace.settings.home / "uploads"
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def part(upload_id: str) -> Path:
        if not _UPLOAD_ID.match(upload_id):
            raise NotFound("upload", upload_id, hint="Start an upload with POST /uploads.")
        path = staging() / f"{upload_id}.part"
        if not path.exists():
            raise NotFound(
                "upload",
                upload_id,
                hint="The upload was completed, abandoned or never started; start a new one.",
            )
        return path

    @router.post("/uploads", status_code=201, dependencies=write)
    def start_upload() -> Any:
        """Start a chunked upload; answer its id."""
        upload_id = secrets.token_hex(16)
        (staging() / f"{upload_id}.part").touch()
        return {"upload_id": upload_id, "offset": 0}

    @router.get("/uploads/{upload_id}", dependencies=write)
    def upload_status(upload_id: str) -> Any:
        """How many bytes of the upload were received: where to resume."""
        try:
            return {"upload_id": upload_id, "offset": part(upload_id).stat().st_size}
        except LoopmlError as exc:
            return error_response(exc)

    @router.put("/uploads/{upload_id}", dependencies=write)
    async def upload_chunk(
        upload_id: str,
        request: Request,
        offset: int = Query(ge=0, description="Where these bytes start in the object."),
    ) -> Any:
        """Append the request body at ``offset`` (which must be the received size)."""
        try:
            path = part(upload_id)
        except LoopmlError as exc:
            return error_response(exc)
        with open(path, "ab") as out:
            try:
                fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                conflict = Conflict(
                    f"upload {upload_id} is receiving bytes from another request",
                    hint="Wait for it to finish (or fail), then ask GET /uploads/{id} where to "
                    "resume.",
                )
                return error_response(conflict, offset=os.fstat(out.fileno()).st_size)
            received = os.fstat(out.fileno()).st_size
            if offset != received:
                conflict = Conflict(
                    f"upload {upload_id} has {received} bytes, so the next chunk starts at "
                    f"offset {received}, not {offset}",
                    hint="Resume from the offset GET /uploads/{id} answers.",
                    requested=offset,
                )
                return error_response(conflict, offset=received)
            try:
                async for chunk in request.stream():
                    out.write(chunk)
            except ClientDisconnect:
                pass  # what arrived is kept: the client resumes from the new size
            out.flush()
            return {"upload_id": upload_id, "offset": os.fstat(out.fileno()).st_size}

    @router.post("/uploads/{upload_id}/complete", status_code=201, dependencies=write)
    async def complete_upload(upload_id: str, body: CompleteUpload) -> Any:
        """Store the received bytes, checking they hash to ``sha256``."""
        try:
            expected = check_digest(body.sha256)
            try:
                path = part(upload_id)
            except NotFound:
                # Completed already (a retried request whose answer was lost): same answer.
                if _UPLOAD_ID.match(upload_id) and store().exists(expected):
                    return {"digest": expected, "size": store().size(expected)}
                raise
            digest = await run_in_threadpool(store().put_file, path)
        except LoopmlError as exc:
            return error_response(exc)
        size = path.stat().st_size
        path.unlink(missing_ok=True)
        if digest != expected:
            mismatch = DigestMismatch(expected, digest, f"upload {upload_id}")
            mismatch.hint = (
                "The bytes received are not the ones announced; upload the object again."
            )
            return error_response(mismatch)
        return {"digest": digest, "size": size}

    @router.delete("/uploads/{upload_id}", status_code=204, dependencies=write)
    def abandon_upload(upload_id: str) -> Response:
        """Drop an unfinished upload and its received bytes."""
        try:
            part(upload_id).unlink(missing_ok=True)
        except LoopmlError as exc:
            return error_response(exc)
        return Response(status_code=204)

    @router.post("", status_code=201, dependencies=write)
    async def put_object(request: Request, sha256: str | None = None) -> Any:
        """Store a whole object sent as the request body (one request; no resume)."""
        tmp = staging() / f"{secrets.token_hex(16)}.put"
        try:
            with open(tmp, "wb") as out:
                async for chunk in request.stream():
                    out.write(chunk)
            digest = await run_in_threadpool(store().put_file, tmp)
            if sha256 is not None and check_digest(sha256) != digest:
                return error_response(DigestMismatch(check_digest(sha256), digest, "request body"))
            return {"digest": digest, "size": tmp.stat().st_size}
        except LoopmlError as exc:
            return error_response(exc)
        except ClientDisconnect:
            return Response(status_code=400)
        finally:
            tmp.unlink(missing_ok=True)

    @router.get("", dependencies=read)
    def list_objects() -> Any:
        """Every stored object with its size and last write time."""
        objects = store().inventory()
        return {"objects": [_stored(o.digest, o.size, o.modified_s) for o in objects]}

    @router.post("/delete", dependencies=admin)
    def delete_many(body: DeleteMany) -> Any:
        """Remove stored objects (missing ones are skipped)."""
        try:
            return {"removed": store().delete_many(body.digests)}
        except LoopmlError as exc:
            return error_response(exc)

    @router.head("/{digest}", dependencies=read)
    def head_object(digest: str) -> Response:
        """The object's size as Content-Length; 404 when absent."""
        try:
            size = store().size(digest)
        except LoopmlError as exc:
            return error_response(exc)
        return Response(
            headers={"Content-Length": str(size), "Accept-Ranges": "bytes"},
            media_type="application/octet-stream",
        )

    @router.get("/{digest}/stat", dependencies=read)
    async def stat_object(digest: str, verify: bool = False) -> Any:
        """The object's size and last write time; ``verify`` reads it through to check it."""
        try:
            found = store().stat(digest)
            if verify:
                await run_in_threadpool(_check, store(), digest)
        except LoopmlError as exc:
            return error_response(exc)
        return _stored(found.digest, found.size, found.modified_s)

    @router.delete("/{digest}", status_code=204, dependencies=admin)
    def delete_object(digest: str) -> Response:
        """Remove one stored object."""
        try:
            store().delete(digest)
        except LoopmlError as exc:
            return error_response(exc)
        return Response(status_code=204)

    @router.get("/{digest}", dependencies=read)
    def get_object(request: Request, digest: str) -> Response:
        """Stream the object; a ``Range: bytes=N-[M]`` header answers that part (206)."""
        artifacts = store()
        try:
            size = artifacts.size(digest)
            reader = artifacts.open(digest)
        except LoopmlError as exc:
            return error_response(exc)
        start, end = 0, size - 1
        wanted = request.headers.get("range")
        if wanted:
            match = _RANGE.match(wanted.strip())
            if (
                match is None
                or int(match[1]) >= max(size, 1)
                or (match[2] and int(match[2]) < int(match[1]))
            ):
                reader.close()
                return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
            start = int(match[1])
            end = min(int(match[2]), size - 1) if match[2] else size - 1
        headers = {
            "Content-Length": str(end - start + 1 if size else 0),
            "Accept-Ranges": "bytes",
            "ETag": f'"{reader.digest}"',
        }
        status = 200
        if wanted:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return StreamingResponse(
            _stream(reader, start, end + 1),
            status_code=status,
            headers=headers,
            media_type="application/octet-stream",
        )

    return router


def _check(artifacts: ArtifactStore, digest: str) -> None:
    """Read an object to its end, which raises DigestMismatch if it was altered."""
    with artifacts.open(digest) as reader:
        while reader.read(_STREAM_CHUNK):
            pass


def _stream(reader: Any, start: int, stop: int) -> Iterator[bytes]:
    """Yield bytes ``start`` to ``stop`` of a store reader (the bytes before are skipped).

    An object that fails its check ends the answer early (the reader withholds its last
    bytes): the client sees a short body and asks ``/stat?verify=1``, which names the error.
    """
    try:
        yield from _read_range(reader, start, stop)
    except DigestMismatch as exc:
        _log.warning("stopped sending artifact %s: %s", reader.digest, exc.message)


def _read_range(reader: Any, start: int, stop: int) -> Iterator[bytes]:
    with contextlib.closing(reader):
        skip = start
        while skip:
            data = reader.read(min(skip, _STREAM_CHUNK))
            if not data:
                return
            skip -= len(data)
        left = stop - start
        while left > 0:
            data = reader.read(min(left, _STREAM_CHUNK))
            if not data:
                return
            left -= len(data)
            yield data
