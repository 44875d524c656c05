"""MLflow's artifact proxy (``mlflow-artifacts:/``) on loopml's artifact store.

A run's artifact URI is ``mlflow-artifacts:/<experiment>/<run>/artifacts``; MLflow's client
then PUTs, GETs and lists ``/api/2.0/mlflow-artifacts/artifacts/<experiment>/<run>/artifacts/
<path>``. An upload streams to a spooled temporary file and into the content-addressed
artifact store (never whole in memory), and is recorded as a file of the run, so loopml
lists, downloads and garbage-collects it like any other run file.
"""

from __future__ import annotations

import posixpath
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from loopml.entities import RunArtifact
from loopml.errors import InvalidInput, NotFound
from loopml.ids import check_artifact_path
from loopml.server._mlflow_projects import authorize_in, run_project

if TYPE_CHECKING:
    from loopml.server._context import ServerContext

ROOT = "/api/2.0/mlflow-artifacts/artifacts"
_CHUNK = 1 << 20
_SPOOL = 8 << 20

Guard = Callable[
    ["ServerContext", str, Callable[[Request], Awaitable[Response]]],
    Callable[[Request], Awaitable[Response]],
]


def split_path(path: str) -> tuple[str, str]:
    """``<experiment>/<run>/artifacts/<rest>`` -> (run id, rest)."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 3 or parts[2] != "artifacts":
        raise NotFound(
            "artifact path",
            path,
            hint="Artifact paths look like <experiment_id>/<run_id>/artifacts/<file>.",
        )
    rest = "/".join(parts[3:])
    if rest:
        check_artifact_path(rest)
    return parts[1], rest


def add_artifact_routes(router: APIRouter, ctx: ServerContext, guard: Guard) -> None:
    """Add the upload, download and list routes of the artifact proxy to ``router``.

    Each needs its permission in the project of the run the path names.
    """

    def check(request: Request, run_id: str, permission: str) -> None:
        authorize_in(ctx, request, permission, [run_project(ctx, run_id)])

    def upload_done(run_id: str, rest: str, spool: Any, size: int) -> None:
        ctx.store.get_run(run_id)
        spool.seek(0)
        digest = ctx.workspace.artifacts.put(spool)
        ctx.store.add_run_artifacts(run_id, [RunArtifact(rest, digest, size)])

    async def upload(request: Request) -> Response:
        run_id, rest = split_path(request.path_params["path"])
        await run_in_threadpool(check, request, run_id, "runs.write")
        if not rest:
            raise InvalidInput("an upload needs a file path after artifacts/")
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                await run_in_threadpool(spool.write, chunk)
            await run_in_threadpool(upload_done, run_id, rest, spool, size)
        return JSONResponse({})

    def find(run_id: str, rest: str) -> RunArtifact:
        for artifact in ctx.store.list_run_artifacts(run_id):
            if artifact.path == rest:
                return artifact
        raise NotFound("artifact", f"{run_id}/{rest}")

    async def download(request: Request) -> Response:
        run_id, rest = split_path(request.path_params["path"])
        await run_in_threadpool(check, request, run_id, "runs.read")
        artifact = await run_in_threadpool(find, run_id, rest)
        reader = await run_in_threadpool(ctx.workspace.artifacts.open, artifact.digest)

        def chunks() -> Iterator[bytes]:
            with reader:
                while block := reader.read(_CHUNK):
                    yield block

        return StreamingResponse(
            chunks(),
            media_type="application/octet-stream",
            headers={"Content-Length": str(artifact.size)},
        )

    def listing(path: str) -> dict[str, Any]:
        run_id, rest = split_path(path)
        prefix = f"{rest}/" if rest else ""
        files: dict[str, dict[str, Any]] = {}
        for artifact in ctx.store.list_run_artifacts(run_id):
            if not artifact.path.startswith(prefix):
                continue
            head, _, tail = artifact.path[len(prefix) :].partition("/")
            if tail:
                files.setdefault(head, {"path": head, "is_dir": True})
            else:
                files[head] = {"path": head, "is_dir": False, "file_size": artifact.size}
        if not files and rest:
            for artifact in ctx.store.list_run_artifacts(run_id):
                if artifact.path == rest:  # a file: MLflow expects it listed alone
                    name = posixpath.basename(rest)
                    return {"files": [{"path": name, "is_dir": False, "file_size": artifact.size}]}
        return {"files": [files[k] for k in sorted(files)]}

    async def list_root(request: Request) -> Response:
        path = request.query_params.get("path", "")
        await run_in_threadpool(check, request, split_path(path)[0], "runs.read")
        return JSONResponse(await run_in_threadpool(listing, path))

    async def delete(request: Request) -> Response:
        return JSONResponse(
            {
                "error_code": "INVALID_PARAMETER_VALUE",
                "message": "loopml keeps a run's files until the run is deleted and collected; "
                "delete the run instead",
            },
            status_code=400,
        )

    router.add_api_route(
        ROOT, guard(ctx, "runs.read", list_root), methods=["GET"], summary="MLflow list artifacts"
    )
    for method, work, permission in (
        ("PUT", upload, "runs.write"),
        ("GET", download, "runs.read"),
        ("DELETE", delete, "runs.write"),
    ):
        endpoint = guard(ctx, permission, work)
        endpoint.__name__ = f"mlflow_artifact_{work.__name__}"
        router.add_api_route(
            ROOT + "/{path:path}", endpoint, methods=[method], summary=f"MLflow artifact {method}"
        )
