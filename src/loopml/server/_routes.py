"""The store routes: one FastAPI route per row of :data:`loopml.store.rest.OPERATIONS`."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.exc import StatementError
from starlette.concurrency import run_in_threadpool

from loopml.errors import InvalidInput, LoopmlError, Overloaded, PermissionDenied
from loopml.governance import (
    ANY_PROJECT_OPERATIONS,
    CROSS_PROJECT_READS,
    DEFAULT_PROJECT,
    PROJECT_TAG,
    Principal,
    ProjectResolver,
    authorize,
    permissions_of,
    projects_with,
    tagged_project,
)
from loopml.server._context import source_of
from loopml.store import audit_source
from loopml.store.rest import (
    IDEMPOTENCY_HEADER,
    OPERATIONS,
    Operation,
    decode,
    encode,
    error_body,
    json_schema,
    status_of,
)

if TYPE_CHECKING:
    from loopml.server._context import ServerContext
    from loopml.store.sql.idempotency import IdempotentAnswer

_log = logging.getLogger("loopml.server")

#: Operations on an account's own records: another account's needs ``users.admin``.
_SELF_ONLY = {
    "get_user": "name",
    "list_role_bindings": "user",
    "list_tokens": "user",
}

#: Operations that record a new object, and the entity fields naming who made it: the
#: server records the token's account there, whatever the client wrote.
_CREATES = ("create_", "commit_")
_AUTHOR_FIELDS = frozenset({"author", "created_by", "actor"})


def _query_arg(raw: str, hint: Any, name: str) -> Any:
    try:
        return decode(raw, hint, name)
    except InvalidInput:
        pass
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidInput(
            f"query parameter {name!r} is not valid: {raw[:80]!r}", field=name
        ) from None
    return decode(data, hint, name)


async def _arguments(op: Operation, request: Request) -> dict[str, Any]:
    if op.http == "GET":
        given: dict[str, Any] = dict(request.query_params)
        source = "query parameter"
    else:
        raw = await request.body()
        try:
            given = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise InvalidInput(
                "the request body is not valid JSON", hint="Send a JSON object."
            ) from None
        if not isinstance(given, dict):
            raise InvalidInput("the request body must be a JSON object", hint="Send a JSON object.")
        source = "field"
    known = {q.name for q in op.params}
    unknown = sorted(set(given) - known)
    if unknown:
        raise InvalidInput(
            f"{op.name} takes no {source} {unknown[0]!r}",
            hint=f"Accepted: {', '.join(sorted(known)) or 'none'}.",
            field=unknown[0],
        )
    args: dict[str, Any] = {}
    for q in op.params:
        if q.name in given:
            value = given[q.name]
            args[q.name] = (
                _query_arg(value, q.hint, q.name)
                if op.http == "GET"
                else decode(value, q.hint, q.name)
            )
        elif not q.required:
            args[q.name] = q.default
        else:
            raise InvalidInput(f"{op.name} needs the {source} {q.name!r}", field=q.name)
    return args


def _guard(
    ctx: ServerContext,
    op: Operation,
    args: dict[str, Any],
    principal: Principal,
    resolver: ProjectResolver,
) -> None:
    """Bind the request to its caller: writes act as the principal, own-record rules."""
    if not ctx.auth:
        return
    if op.write and "actor" in args:
        args["actor"] = principal.name
    if op.name.startswith(_CREATES) or op.name == "append_audit":
        for name, value in list(args.items()):
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                names = {f.name for f in dataclasses.fields(value)} & _AUTHOR_FIELDS
                if names:
                    args[name] = dataclasses.replace(value, **dict.fromkeys(names, principal.name))
    if op.name == "add_decision":
        _four_eyes(ctx, args, principal, resolver.of_request(args["request_id"]))
    owner: str | None = None
    if op.name in _SELF_ONLY:
        owner = args.get(_SELF_ONLY[op.name])
        if owner is None and op.name != "get_user":
            owner = "*"  # every account's records
    elif op.name == "create_token":
        owner = args["token"].user
    elif op.name in ("get_token", "revoke_token"):
        try:
            owner = ctx.store.get_token(args["token_id"]).user
        except LoopmlError:
            owner = "?"  # unknown: only an admin learns that
    if owner is not None and owner != principal.name:
        authorize(principal, "users.admin", f"user:{owner}", store=ctx.store)


#: What a store method raises for arguments its own checks let through (a value out of
#: range, an operator a column type lacks): bad input, so a 400, never a 500.
_REFUSED = (TypeError, ValueError, OverflowError, StatementError, Warning)


def _refusal(op: Operation, exc: BaseException) -> InvalidInput:
    _log.warning("%s refused its arguments: %s: %s", op.name, type(exc).__name__, exc)
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return InvalidInput(
        f"{op.name} cannot take these arguments: {text}",
        hint="See the operation's schema at /openapi.json.",
        operation=op.name,
    )


def _four_eyes(
    ctx: ServerContext, args: dict[str, Any], principal: Principal, project: str
) -> None:
    """A decision is the caller's, in a role it holds in the model's project, and never on
    its own request (unless the alias's policy allows the author), whatever the client
    checked."""
    if args["role"] not in principal.roles_in(project):
        raise PermissionDenied(
            f"{principal.name} does not hold the role {args['role']!r} it decides as",
            hint="Decide as one of your roles.",
            permission="models.approve",
        )
    request = ctx.store.get_promotion_request(args["request_id"])
    if not args["approve"] or request.requested_by != principal.name:
        return
    policies = ctx.store.get_promotion_policies(request.model_name)
    if not any(p.alias == request.alias and p.allow_author for p in policies):
        raise PermissionDenied(
            f"{principal.name} requested this promotion and may not approve it (four-eyes rule)",
            hint="Ask another approver.",
            permission="models.approve",
        )


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


#: Test-only: ``after-commit:<operation>`` (or ``before-commit:<operation>``) makes the
#: server SIGKILL itself right after (before) the write of that operation commits, so a
#: test can prove that a retry after a crash never duplicates the write.
CRASH_ENV = "LOOPML_TEST_SERVER_CRASH"


def _crash_point(moment: str, operation: str) -> None:
    if os.environ.get(CRASH_ENV) == f"{moment}:{operation}":
        _log.warning("%s=%s: killing the server", CRASH_ENV, os.environ[CRASH_ENV])
        os.kill(os.getpid(), signal.SIGKILL)


def _replay(earlier: IdempotentAnswer, key: str, op: Operation) -> Response:
    if earlier.operation != op.name:
        raise InvalidInput(
            f"{IDEMPOTENCY_HEADER} {key} was used for {earlier.operation}",
            hint="Use a fresh key for every distinct write.",
        )
    if earlier.status is None or earlier.body is None:  # a record of an older server
        raise Overloaded(
            f"the request with {IDEMPOTENCY_HEADER} {key} is still running", retry_after_s=0.5
        )
    return _json(earlier.status, json.loads(earlier.body))


def _denied_here(
    ctx: ServerContext, op: Operation, principal: Principal, project: str | None, where: str
) -> None:
    authorize(principal, op.permission, f"route:{where}", project=project, store=ctx.store)


def _authorize(
    ctx: ServerContext,
    op: Operation,
    args: dict[str, Any] | None,
    principal: Principal,
    where: str,
    resolver: ProjectResolver,
) -> None:
    """Check ``op``'s permission in every project the request touches (each refusal
    audited)."""
    if not ctx.auth or not op.permission:
        return
    if args is None or op.name in CROSS_PROJECT_READS or op.name in ANY_PROJECT_OPERATIONS:
        # A body that does not parse names no object, a list spans projects, a lease is
        # in none: the permission held in some project is enough (a list is then
        # filtered to those).
        if not projects_with(principal, op.permission, store=ctx.store):
            _denied_here(ctx, op, principal, None, where)
        return
    projects = resolver.projects(op.name, op.area, args)
    if not projects:  # it names no object of any project (lineage of step runs, ...)
        if not projects_with(principal, op.permission, store=ctx.store):
            _denied_here(ctx, op, principal, None, where)
        return
    for project in sorted(projects, key=str):
        _denied_here(ctx, op, principal, project, where)


def _visible(
    ctx: ServerContext, op: Operation, principal: Principal, result: Any, resolver: ProjectResolver
) -> Any:
    """A cross-project answer with the objects of projects the caller may not read dropped
    (a single object it may not read: ``None``, as if there were none)."""
    if not ctx.auth or result is None or isinstance(result, (int, float, str)):
        return result
    held: dict[str | None, bool] = {None: True}

    def readable(project: str | None) -> bool:
        if project not in held:
            held[project] = op.permission in permissions_of(principal, project, store=ctx.store)
        return held[project]

    if not isinstance(result, list):
        return result if readable(resolver.of_item(result)) else None
    return [item for item in result if readable(resolver.of_item(item))]


def _readable_count(
    ctx: ServerContext,
    op: Operation,
    principal: Principal,
    args: dict[str, Any],
    resolver: ProjectResolver,
) -> int | None:
    """``count_runs`` for a caller who may not read every project: the matching runs it
    may read, counted one page at a time (None: the store's own count is the answer)."""
    if op.name != "count_runs" or not ctx.auth:
        return None
    if op.permission in permissions_of(principal, None, store=ctx.store):
        return None  # granted on every project
    query = args["query"]
    page, offset, total = 1000, 0, 0
    while True:
        runs = ctx.store.search_runs(dataclasses.replace(query, limit=page, offset=offset))
        total += len(_visible(ctx, op, principal, runs, resolver))
        if len(runs) < page:
            return total
        offset += page


def _stamp_project(op: Operation, args: dict[str, Any], resolver: ProjectResolver) -> None:
    """A child run made without a project tag is recorded in its parent's project."""
    if op.name != "create_run" or not args.get("parent_id") or tagged_project(args.get("tags")):
        return
    project = resolver.of_run(args["parent_id"])
    if project != DEFAULT_PROJECT:
        args["tags"] = {**(args.get("tags") or {}), PROJECT_TAG: project}


def _endpoint(ctx: ServerContext, op: Operation) -> Any:
    async def endpoint(
        request: Request,
        principal: Principal = Depends(ctx.authenticate),  # noqa: B008 (FastAPI's idiom)
    ) -> Response:
        refused: InvalidInput | None = None
        args: dict[str, Any] | None
        try:
            args = await _arguments(op, request)
        except InvalidInput as exc:
            refused, args = exc, None
        key = request.headers.get(IDEMPOTENCY_HEADER) if op.write else None
        store: Any = ctx.store
        keyed = key is not None and hasattr(store, "idempotent_write")
        source = source_of(request)
        where = f"{request.method} {request.url.path}"

        def call(args: dict[str, Any]) -> Any:
            try:
                return getattr(store, op.name)(**args)
            except LoopmlError:  # InvalidInput is a ValueError too: keep it as it is
                raise
            except _REFUSED as exc:
                raise _refusal(op, exc) from exc

        def run() -> Response:
            resolver = ProjectResolver(store)
            with audit_source(source):
                # Refusals are audited and committed whatever the write does after.
                _authorize(ctx, op, args, principal, where, resolver)
            if args is None:
                raise refused or InvalidInput(f"{op.name} got no arguments")
            if key is not None and len(key) > 128:
                raise InvalidInput(f"{IDEMPOTENCY_HEADER} is longer than 128 characters")
            with audit_source(source):
                _guard(ctx, op, args, principal, resolver)
                _stamp_project(op, args, resolver)
                if not keyed:
                    result = _readable_count(ctx, op, principal, args, resolver)
                    if result is None:
                        result = call(args)
                    if op.name in CROSS_PROJECT_READS:
                        result = _visible(ctx, op, principal, result, resolver)
                    return _json(200, encode(result, op.returns))
                # The key's record commits in the write's own transaction: a crash before
                # the commit leaves neither (the retry runs it), after it both (replayed).
                with store.idempotent_write(key, principal.name, op.name) as write:
                    if write.earlier is not None:
                        return _replay(write.earlier, key or "", op)
                    body = encode(call(args), op.returns)
                    write.answer(200, json.dumps(body))
                    _crash_point("before-commit", op.name)
                _crash_point("after-commit", op.name)
                return _json(200, body)

        return await run_in_threadpool(run)

    endpoint.__name__ = op.name
    return endpoint


def _openapi_extra(op: Operation, defs: dict[str, Any]) -> dict[str, Any]:
    if op.http == "GET":
        return {
            "parameters": [
                {
                    "name": q.name,
                    "in": "query",
                    "required": q.required,
                    "schema": json_schema(q.hint, defs),
                }
                for q in op.params
            ]
        }
    schema = {
        "type": "object",
        "properties": {q.name: json_schema(q.hint, defs) for q in op.params},
        "required": [q.name for q in op.params if q.required],
        "additionalProperties": False,
    }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def store_router(ctx: ServerContext, defs: dict[str, Any]) -> APIRouter:
    """Every Store operation as a route (entity schemas collected into ``defs``)."""
    router = APIRouter()

    @router.get("/api/v1/whoami", tags=["server"], summary="The caller's account and roles")
    def whoami(principal: Principal = Depends(ctx.authenticate)) -> dict[str, Any]:  # noqa: B008
        return {
            "name": principal.name,
            "roles": [list(binding) for binding in principal.roles],
            "token_id": principal.token_id,
        }

    for op in OPERATIONS.values():
        returns = json_schema(op.returns, defs)
        router.add_api_route(
            op.path,
            _endpoint(ctx, op),
            methods=[op.http],
            name=op.name,
            summary=op.doc.splitlines()[0],
            description=f"{op.doc}\n\nPermission: `{op.permission or 'any signed-in account'}`.",
            tags=[op.area],
            openapi_extra=_openapi_extra(op, defs),
            responses={
                200: {"content": {"application/json": {"schema": returns}}},
                "4XX": {"description": "A loopml error: {error, message, hint, ...fields}"},
            },
            response_class=Response,
        )
    return router


def error_response(exc: LoopmlError) -> Response:
    """The JSON answer of a loopml error (status from the class -> status table)."""
    headers = {}
    if isinstance(exc, Overloaded):
        headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
    return Response(
        json.dumps(error_body(exc)),
        status_code=status_of(exc),
        media_type="application/json",
        headers=headers,
    )
