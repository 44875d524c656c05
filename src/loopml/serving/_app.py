"""The ASGI prediction server: Open Inference Protocol v2, MLflow scoring, metrics."""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loopml._version import __version__
from loopml.errors import DeadlineExceeded, InvalidInput, LoopmlError, NotFound, Overloaded
from loopml.serving import _mlflow_format as mlflow_format
from loopml.serving._batcher import BatchSink, MicroBatcher
from loopml.serving._feedback import log_feedback
from loopml.serving._metrics import MetricsObserver, ServingMetrics
from loopml.serving._oip import output_tensor, parse_infer
from loopml.serving._openapi import schema as openapi_schema
from loopml.serving._predlog import PredictionLog
from loopml.serving._records import BatchRecord, PredictionRecord
from loopml.serving._runtime import ServedModel, load_served
from loopml.serving._standins import NullLog
from loopml.serving._validate import Columns, RequestError, Schema

if TYPE_CHECKING:
    from loopml.serving._enrich import Enricher
    from loopml.workspace import Workspace

DEFAULT_MAX_BODY = 16 * 2**20
TIMEOUT_HEADER = "x-request-timeout-ms"
ID_HEADER = "x-prediction-id"
_JSON = "application/json"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type=_JSON,
        headers=headers,
    )


def _selecting(predict: Any, enricher: Enricher) -> Any:
    """``predict`` given only the model's inputs (the log keeps the entity keys too)."""

    def call(columns: Columns) -> Any:
        return predict(enricher.model_inputs(columns))

    return call


def _with_thread_limit(predict: Any, threads: int | None) -> Any:
    """``predict`` limited to ``threads`` native (OpenMP/BLAS) threads, set on first call.

    The batcher calls the model from one dedicated thread. Left alone, OpenMP and BLAS
    start a thread per core for every small batch and spin against the event loop and the
    other workers: the demo's gradient-boosting model served 1.7x fewer requests a second
    that way on 2 cores. Scale a server with ``--workers``, not with threads per predict.
    """
    if threads is None:
        return predict
    limited = False

    def call(rows: Any) -> Any:
        nonlocal limited
        if not limited:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=threads)  # kept for the life of the predict thread
            limited = True
        return predict(rows)

    return call


@dataclass
class Backend:
    """One loaded model and its batcher: what answers a request.

    Attributes:
        served: The model.
        batcher: Its batcher (the prediction log's sink is attached to it).
        deployment: The deployment it serves in (None: ``loopml serve MODEL``).
        arm: Its arm in that deployment.
        headers: Response headers naming it (``X-Loopml-Arm``).
        enricher: Joins a feature service's online values to each request (None: none).
    """

    served: ServedModel
    batcher: MicroBatcher
    deployment: str | None = None
    arm: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    enricher: Enricher | None = None

    @property
    def schema(self) -> Schema:
        """What a request must hold (without the features an enricher adds)."""
        return self.served.schema if self.enricher is None else self.enricher.request_schema

    async def prepare(self, columns: Columns) -> Columns:
        """The request's columns with the enricher's features joined (off the loop)."""
        if self.enricher is None:
            return columns
        import anyio

        return await anyio.to_thread.run_sync(self.enricher.enrich, columns)


Reparse = Callable[[Any], Columns]


class _Server:
    """State of one app: the model, batcher, log and metrics, and the endpoints.

    A subclass routes between several backends (``loopml serve --deployment``) by
    overriding :meth:`route`, :meth:`reroute`, :meth:`after` and the lifespan.
    """

    def __init__(self, model_uri: str, workspace: Workspace | None, options: dict[str, Any]):
        self.model_uri = model_uri
        self.workspace = workspace
        self.options = options
        self.metrics = ServingMetrics()
        self.served: ServedModel | None = options.pop("_served", None)
        self.backend: Backend | None = None
        self.log: PredictionLog | NullLog = NullLog()
        self.ready = False

    # lifecycle -----------------------------------------------------------------------
    def _workspace(self) -> Workspace:
        if self.workspace is None:
            from loopml.workspace import current_workspace

            self.workspace = current_workspace()
        return self.workspace

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        opts = self.options
        if self.served is None:
            self.served = load_served(
                self.model_uri, workspace=self._workspace(), runtime=opts["runtime"]
            )
        served = self.served
        self.open_log()
        self.backend = await self.start_backend(served)
        self.ready = True
        try:
            yield
        finally:
            self.ready = False
            await self.backend.batcher.aclose()
            self.log.close()

    def open_log(self) -> None:
        """Start the prediction log (or the stand-in when logging is off)."""
        self.log = PredictionLog(self._workspace()) if self.options["prediction_log"] else NullLog()
        self.log.start()

    async def start_backend(
        self,
        served: ServedModel,
        deployment: str | None = None,
        arm: str | None = None,
        enricher: Enricher | None = None,
    ) -> Backend:
        """A started batcher over ``served`` whose answers are logged under ``arm``."""
        opts = self.options
        self.metrics.model_info.labels(
            served.name, served.version_text, served.model.flavor, served.runtime
        ).set(1)
        headers = {} if arm is None else {"X-Loopml-Arm": arm}
        backend = Backend(served, None, deployment, arm, headers, enricher)  # type: ignore[arg-type]
        predict = served.predict
        if enricher is not None:
            predict = _selecting(predict, enricher)
        backend.batcher = MicroBatcher(
            _with_thread_limit(predict, opts["model_threads"]),
            max_batch_rows=opts["max_batch_rows"],
            max_latency_ms=opts["max_latency_ms"],
            enabled=opts["batching"],
            observer=MetricsObserver(self.metrics),
            sink=None if isinstance(self.log, NullLog) else self._log_sink(backend),
        )
        await backend.batcher.start()
        return backend

    # plumbing ------------------------------------------------------------------------
    async def body(self, request: Request, *, csv_ok: bool = False) -> tuple[bytes, bool]:
        """The body, read up to the size limit; and whether it is CSV."""
        headers = request.headers
        if "inference-header-content-length" in headers:
            raise RequestError(
                "binary tensor data is not supported",
                status=415,
                code="binary_tensor",
                field="inference-header-content-length",
                hint="Send tensors as JSON (tritonclient: set_data_from_numpy(x, "
                "binary_data=False)).",
            )
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        is_csv = ctype == "text/csv"
        if not (ctype in ("", _JSON) or ctype.endswith("+json") or (csv_ok and is_csv)):
            accepted = "application/json or text/csv" if csv_ok else "application/json"
            raise RequestError(
                f"content type {ctype!r} is not accepted",
                status=415,
                code="unsupported_media_type",
                field="content-type",
                hint=f"Send {accepted}.",
            )
        limit = self.options["max_body_bytes"]
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise self._too_large(int(length))
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise self._too_large(size)
            chunks.append(chunk)
        data = b"".join(chunks)
        if not data.strip():
            raise RequestError("the body is empty", status=400, code="empty_body", field="body")
        return data, is_csv

    def _too_large(self, size: int) -> RequestError:
        limit = self.options["max_body_bytes"]
        return RequestError(
            f"the body is over the {limit} byte limit (at least {size} bytes)",
            status=413,
            code="body_too_large",
            field="body",
            hint="Split the rows over several requests.",
        )

    @staticmethod
    def parse_json(data: bytes) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise RequestError(
                f"the body is not valid JSON: {exc}", status=400, code="bad_json", field="body"
            ) from None

    @staticmethod
    def deadline(request: Request, timeout_s: float | None) -> float | None:
        text = request.headers.get(TIMEOUT_HEADER)
        seconds = timeout_s
        if text is not None:
            try:
                ms = float(text)
            except ValueError:
                ms = -1.0
            if not math.isfinite(ms) or ms <= 0:
                raise RequestError(
                    f"header {TIMEOUT_HEADER} must be a positive number of milliseconds; "
                    f"got {text!r}",
                    status=400,
                    code="bad_timeout",
                    field=TIMEOUT_HEADER,
                )
            seconds = ms / 1000 if seconds is None else min(seconds, ms / 1000)
        return None if seconds is None else time.monotonic() + seconds

    @staticmethod
    def caller_id(request: Request, body_id: str | None = None) -> str:
        given = body_id or request.headers.get(ID_HEADER)
        if not given:
            return uuid.uuid4().hex
        if len(given) > 128 or not given.isprintable():
            raise RequestError(
                "a prediction id must be at most 128 printable characters",
                status=400,
                code="bad_id",
                field=ID_HEADER,
            )
        return given

    async def predict(
        self, backend: Backend, columns: Columns, pid: str, deadline: float | None
    ) -> Columns:
        start = time.monotonic()
        arrived_ms = time.time_ns() // 1_000_000
        try:
            outputs: Columns = await backend.batcher.submit(
                columns, deadline=deadline, tag=(pid, arrived_ms, start)
            )
        except RequestError:
            raise
        except InvalidInput as exc:
            raise RequestError(str(exc.message), code="invalid_input", field=None) from None
        except Exception as exc:
            kind = (
                "overloaded"
                if isinstance(exc, Overloaded)
                else "deadline"
                if isinstance(exc, DeadlineExceeded)
                else "model"
            )
            self._log(backend, pid, arrived_ms, start, columns, {}, kind)
            if isinstance(exc, (Overloaded, DeadlineExceeded)):
                raise
            raise _ModelFailed(exc) from exc
        return outputs  # logged by the batcher's sink, one record per predict call

    def _log_sink(self, backend: Backend) -> BatchSink:
        """The batcher's sink: each answered predict call as one record of the log."""
        log = self.log
        served, deployment, arm = backend.served, backend.deployment, backend.arm

        def sink(inputs: Columns, outputs: Columns, tags: list[Any], counts: list[int]) -> None:
            now = time.monotonic()
            log.append(
                BatchRecord(
                    prediction_ids=tuple(t[0] for t in tags),
                    counts=tuple(counts),
                    time_ms=tuple(t[1] for t in tags),
                    latency_ms=tuple((now - t[2]) * 1000 for t in tags),
                    model=served.name,
                    version=served.version,
                    deployment=deployment,
                    arm=arm,
                    inputs=inputs,
                    outputs=outputs,
                )
            )

        return sink

    def _log(
        self,
        backend: Backend,
        pid: str,
        arrived_ms: int,
        start: float,
        inputs: Columns,
        outputs: Columns,
        error: str | None,
    ) -> None:
        self.log.append(
            PredictionRecord(
                prediction_id=pid,
                time_ms=arrived_ms,
                model=backend.served.name,
                version=backend.served.version,
                deployment=backend.deployment,
                arm=backend.arm,
                inputs=inputs,
                outputs=outputs,
                latency_ms=(time.monotonic() - start) * 1000,
                error=error,
            )
        )

    # routing (one model here; the deployment server overrides these) -----------------
    def route(self, request: Request) -> Backend:
        """The backend that answers ``request`` (404 when the path names another model)."""
        if "name" in request.path_params:
            self.check_model(request)
        assert self.backend is not None
        return self.backend

    def reroute(
        self, request: Request, backend: Backend, columns: Columns, reparse: Reparse
    ) -> tuple[Backend, Columns]:
        """A second look once the rows are parsed (a sticky key may be a field)."""
        return backend, columns

    def after(self, backend: Backend, columns: Columns, pid: str) -> None:
        """Called once a request is answered (the deployment server sends shadow copies)."""

    def public_name(self, backend: Backend) -> str:
        """The model name answers carry."""
        return backend.served.name

    def primary_model(self) -> ServedModel:
        """The model the OpenAPI schema describes."""
        assert self.served is not None
        return self.served

    def check_model(self, request: Request) -> ServedModel:
        served = self.served
        assert served is not None
        name = request.path_params.get("name")
        version = request.path_params.get("version")
        if name != served.name:
            raise RequestError(
                f"model {name!r} is not served here",
                status=404,
                code="model_not_found",
                field="name",
                hint=f"This server serves {served.name!r}.",
            )
        if version is not None and version != served.version_text:
            raise RequestError(
                f"version {version!r} of {name!r} is not served here",
                status=404,
                code="version_not_found",
                field="version",
                hint=f"This server serves version {served.version_text}.",
            )
        return served

    # endpoints -----------------------------------------------------------------------
    async def live(self, request: Request) -> Response:
        return _json({"live": True})

    async def ready_(self, request: Request) -> Response:
        return _json({"ready": self.ready}, 200 if self.ready else 503)

    async def server_meta(self, request: Request) -> Response:
        return _json({"name": "loopml", "version": __version__, "extensions": []})

    async def model_meta(self, request: Request) -> Response:
        served = self.check_model(request)
        schema = served.schema
        if schema.is_tensor:
            from loopml.serving._validate import oip_datatype

            inputs = [
                {
                    "name": "input",
                    "datatype": oip_datatype(schema.tensor_dtype or "float64"),
                    "shape": list(schema.tensor_shape or (-1,)),
                }
            ]
        else:
            from loopml.serving._validate import oip_datatype

            inputs = [
                {"name": c, "datatype": oip_datatype(schema.dtypes[c]), "shape": [-1]}
                for c in schema.columns
            ]
        outputs = [
            {"name": k, "datatype": dt, "shape": shape} for k, (dt, shape) in served.outputs.items()
        ]
        return _json(
            {
                "name": served.name,
                "versions": [served.version_text],
                "platform": f"loopml_{served.model.flavor}",
                "inputs": inputs,
                "outputs": outputs,
            }
        )

    async def model_ready(self, request: Request) -> Response:
        served = self.check_model(request)
        return _json({"name": served.name, "ready": self.ready}, 200 if self.ready else 503)

    async def infer(self, request: Request) -> Response:
        backend = self.route(request)
        data, _ = await self.body(request)
        payload = self.parse_json(data)
        parsed = parse_infer(payload, backend.schema)
        backend, columns = self.reroute(
            request, backend, parsed.columns, lambda schema: parse_infer(payload, schema).columns
        )
        request.state.backend = backend
        columns = await backend.prepare(columns)
        served = backend.served
        if parsed.outputs is not None:
            unknown = [o for o in parsed.outputs if o not in served.outputs]
            if unknown:
                raise RequestError(
                    f"output {unknown[0]!r} does not exist",
                    status=400,
                    code="unknown_output",
                    field=unknown[0],
                    hint=f"Outputs: {', '.join(served.outputs)}.",
                )
        pid = self.caller_id(request, parsed.id)
        request.state.pid = pid
        deadline = self.deadline(request, parsed.timeout_s)
        outputs = await self.predict(backend, columns, pid, deadline)
        self.after(backend, columns, pid)
        names = parsed.outputs or tuple(outputs)
        return _json(
            {
                "model_name": self.public_name(backend),
                "model_version": served.version_text,
                "id": pid,
                "outputs": [output_tensor(n, outputs[n]) for n in names],
            },
            headers={"X-Prediction-Id": pid, **backend.headers},
        )

    async def invocations(self, request: Request) -> Response:
        backend = self.route(request)
        data, is_csv = await self.body(request, csv_ok=True)
        payload: Any = data if is_csv else self.parse_json(data)

        def parse(schema: Any) -> Columns:
            if is_csv:
                return mlflow_format.parse_csv(data, schema)
            return mlflow_format.parse_json(payload, schema)

        backend, columns = self.reroute(request, backend, parse(backend.schema), parse)
        request.state.backend = backend
        columns = await backend.prepare(columns)
        pid = self.caller_id(request)
        request.state.pid = pid
        outputs = await self.predict(backend, columns, pid, self.deadline(request, None))
        self.after(backend, columns, pid)
        return _json(
            {
                "predictions": mlflow_format.predictions(outputs, backend.served.label),
                "prediction_id": pid,
            },
            headers={"X-Prediction-Id": pid, **backend.headers},
        )

    async def ping(self, request: Request) -> Response:
        return Response("\n", status_code=200 if self.ready else 503, media_type="text/plain")

    async def version(self, request: Request) -> Response:
        return Response(__version__, media_type="text/plain")

    def monitor_scope(self) -> tuple[set[str] | None, set[str] | None]:
        """(deployments, models) whose stored monitor windows ``/metrics`` shows."""
        return None, {self.served.name} if self.served is not None else set()

    async def metrics_(self, request: Request) -> Response:
        self.metrics.log_queue.set(self.log.queue_depth)
        if self.workspace is not None:
            deployments, models = self.monitor_scope()
            await anyio.to_thread.run_sync(
                partial(
                    self.metrics.refresh_monitor,
                    self.workspace,
                    deployments=deployments,
                    models=models,
                )
            )
        return Response(
            self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    async def openapi(self, request: Request) -> Response:
        return _json(openapi_schema(self.primary_model()))

    async def feedback(self, request: Request) -> Response:
        data, _ = await self.body(request)
        items = self.parse_json(data)
        if not isinstance(items, (dict, list)):
            raise RequestError(
                "feedback must be an object or a list of objects",
                status=400,
                code="bad_body",
                field="body",
            )
        import anyio

        await anyio.to_thread.run_sync(self.log.flush)
        try:
            result = await anyio.to_thread.run_sync(
                lambda: log_feedback(items, workspace=self._workspace())
            )
        except NotFound as exc:
            raise RequestError(
                str(exc.message), status=404, code="not_found", field="prediction_id"
            ) from None
        except InvalidInput as exc:
            raise RequestError(str(exc.message), code="invalid_feedback", field="body") from None
        import dataclasses

        if dataclasses.is_dataclass(result) and not isinstance(result, type):
            body = dataclasses.asdict(result)
        else:
            body = dict(vars(result))
        return _json(body)


class _ModelFailed(Exception):
    def __init__(self, cause: Exception) -> None:
        first = (str(cause).strip().splitlines() or [""])[0][:200]
        super().__init__(f"the model failed to predict: {type(cause).__name__}: {first}")


def _error(exc: BaseException) -> tuple[int, str, dict[str, Any], dict[str, str]]:
    headers: dict[str, str] = {}
    if isinstance(exc, RequestError):
        kind = "validation"
        body = {"error": exc.message, "error_code": exc.code}
        if exc.field is not None:
            body["field"] = exc.field
        if exc.hint:
            body["hint"] = exc.hint
        return exc.status, kind, body, headers
    if isinstance(exc, Overloaded):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
        return 503, "overloaded", {"error": exc.message, "error_code": "overloaded"}, headers
    if isinstance(exc, DeadlineExceeded):
        return 504, "deadline", {"error": exc.message, "error_code": "deadline_exceeded"}, headers
    if isinstance(exc, _ModelFailed):
        return 500, "model", {"error": str(exc), "error_code": "model_error"}, headers
    if isinstance(exc, LoopmlError):
        return 422, "validation", {"error": exc.message, "error_code": "invalid_input"}, headers
    return 500, "internal", {"error": "internal server error", "error_code": "internal"}, headers


Endpoint = Callable[[Request], Awaitable[Response]]


def _instrument(server: _Server, name: str, handler: Endpoint) -> Endpoint:
    metrics = server.metrics
    latency = metrics.latency.labels(name)
    ok = metrics.requests.labels(name, "200")

    async def endpoint(request: Request) -> Response:
        start = time.perf_counter()
        metrics.in_flight.inc()
        try:
            response = await handler(request)
        except Exception as exc:
            status, kind, body, headers = _error(exc)
            pid = getattr(request.state, "pid", None)
            if pid is not None:
                headers["X-Prediction-Id"] = pid
                body["id"] = pid
            answered_by = getattr(request.state, "backend", None)
            if answered_by is not None:
                headers.update(answered_by.headers)
            metrics.errors.labels(kind).inc()
            response = _json(body, status, headers)
        finally:
            metrics.in_flight.dec()
        elapsed = time.perf_counter() - start
        latency.observe(elapsed)
        backend = getattr(request.state, "backend", None)
        if backend is not None and backend.deployment is not None:
            metrics.observe_arm(backend, response.status_code, elapsed)
        (
            ok
            if response.status_code == 200
            else metrics.requests.labels(name, str(response.status_code))
        ).inc()
        return response

    return endpoint


def _build(
    server: _Server, extra: list[tuple[str, str, Endpoint, list[str]]] | None = None
) -> Starlette:
    s = server
    table: list[tuple[str, str, Endpoint, list[str]]] = [
        *(extra or []),
        ("/v2/health/live", "live", s.live, ["GET"]),
        ("/v2/health/ready", "ready", s.ready_, ["GET"]),
        ("/v2", "server_metadata", s.server_meta, ["GET"]),
        ("/v2/models/{name}", "model_metadata", s.model_meta, ["GET"]),
        ("/v2/models/{name}/versions/{version}", "model_metadata", s.model_meta, ["GET"]),
        ("/v2/models/{name}/ready", "model_ready", s.model_ready, ["GET"]),
        ("/v2/models/{name}/versions/{version}/ready", "model_ready", s.model_ready, ["GET"]),
        ("/v2/models/{name}/infer", "infer", s.infer, ["POST"]),
        ("/v2/models/{name}/versions/{version}/infer", "infer", s.infer, ["POST"]),
        ("/invocations", "invocations", s.invocations, ["POST"]),
        ("/ping", "ping", s.ping, ["GET"]),
        ("/health", "ping", s.ping, ["GET"]),
        ("/version", "version", s.version, ["GET"]),
        ("/metrics", "metrics", s.metrics_, ["GET"]),
        ("/openapi.json", "openapi", s.openapi, ["GET"]),
        ("/feedback", "feedback", s.feedback, ["POST"]),
    ]
    routes = [
        Route(path, _instrument(s, name, fn), methods=methods, name=f"{name}:{path}")
        for path, name, fn, methods in table
    ]
    app = Starlette(routes=routes, lifespan=s.lifespan)
    app.state.server = s
    app.state.metrics = s.metrics
    return app


def create_app(
    model_uri: str | os.PathLike[str],
    *,
    workspace: Workspace | None = None,
    batching: bool = True,
    max_latency_ms: float = 20.0,
    max_batch_rows: int = 512,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    prediction_log: bool = True,
    runtime: str = "native",
    model_threads: int | None = 1,
    _served: ServedModel | None = None,
) -> Starlette:
    """The ASGI app serving one model (its lifespan loads and verifies the model once).

    Args:
        model_uri: ``models:/NAME@ALIAS``, ``models:/NAME/N``, ``runs:/ID/NAME``, a model
            directory or a folder written by ``loopml models package``.
        workspace: Where registered models and the prediction log live (default: the
            current workspace).
        batching: Gather concurrent requests into one predict call.
        max_latency_ms: Longest a request waits for a batch.
        max_batch_rows: Most rows in one predict call.
        max_body_bytes: Larger bodies are answered 413.
        prediction_log: Log every prediction (inputs, outputs, latency).
        runtime: ``native`` (the model's own library) or ``onnx`` (ONNX Runtime).
        model_threads: Native (OpenMP/BLAS) threads a predict call may use; None leaves
            the libraries' default (one per core).

    Returns:
        A Starlette app; ``app.state.metrics.registry`` is its Prometheus registry.

    Example:
        >>> app = create_app("models:/fraud@champion")  # doctest: +SKIP
    """
    options = {
        "batching": batching,
        "max_latency_ms": max_latency_ms,
        "max_batch_rows": max_batch_rows,
        "max_body_bytes": max_body_bytes,
        "prediction_log": prediction_log,
        "runtime": runtime,
        "model_threads": model_threads,
        "_served": _served,
    }
    return _build(_Server(os.fspath(model_uri), workspace, options))


SERVE_SPEC_ENV = "LOOPML_SERVE_SPEC"


def freeze_heap() -> None:
    """Exempt everything alive now (imports, the loaded model) from the cyclic GC.

    With scikit-learn, scipy and pandas imported a server tracks ~140,000 objects, and a
    full collection walks all of them (78 ms of CPU measured on the benchmark's model).
    Under the prediction log's traffic records live for a flush window, reach the oldest
    generation and trigger such collections, which stopped the event loop for the p99
    outliers of the benchmark. Frozen objects are never walked (a full collection then
    costs well under 1 ms); what the server allocates later is collected as usual. Called
    once the model is loaded, just before the server starts answering.
    """
    import gc

    gc.freeze()


def app_from_env() -> Starlette:
    """The app ``loopml serve --workers N`` starts in each worker (uvicorn factory)."""
    from loopml.workspace import workspace_for_spec

    spec = orjson.loads(os.environ[SERVE_SPEC_ENV])
    workspace = workspace_for_spec(spec["workspace"])
    if spec.get("deployment"):
        from loopml.serving._routed import create_deployment_app

        app = create_deployment_app(spec["deployment"], workspace=workspace, **spec["options"])
    else:
        served = load_served(
            spec["model_uri"], workspace=workspace, runtime=spec["options"]["runtime"]
        )
        app = create_app(spec["model_uri"], workspace=workspace, _served=served, **spec["options"])
    freeze_heap()
    return app
