"""The deployment server (``loopml serve --deployment NAME``): one endpoint, several versions.

It routes ``/v2/models/NAME/infer`` and ``/invocations`` across a stored deployment's arms
by their weights (sticky by key), sends shadow arms a copy of every request off the
request path, and logs each answer with the deployment, arm and version. A watcher reads
the deployment from the store every ``refresh_s`` and, when its revision moved, loads what
the new revision needs (each version once, warmed on its input example) before switching
the table in one assignment: requests in flight finish on the backends they started on.
Arms that leave the deployment stay loaded for ``switch_back_s`` so a switch back (a
blue-green rollback) is instant.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from loopml.errors import LoopmlError
from loopml.serving._app import Backend, Reparse, _build, _json, _Server
from loopml.serving._enrich import Enricher
from loopml.serving._routing import RouteTable, pick, route_table
from loopml.serving._runtime import ServedModel, load_served
from loopml.serving._validate import Columns, RequestError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from loopml.entities import Deployment

_log = logging.getLogger("loopml.serving.router")

#: Shadow copies allowed in flight per shadow arm; more are dropped (and counted).
SHADOW_IN_FLIGHT = 256


@dataclass
class _State:
    """What one revision routes to (swapped whole, never edited)."""

    table: RouteTable
    backends: dict[str, Backend]  # arm name -> backend
    failed: dict[str, str] = field(default_factory=dict)  # arm name -> why it cannot answer
    feature_service: str = ""

    def answering(self) -> Any:
        return self.table.answering(frozenset(self.failed))


class _DeploymentServer(_Server):
    """A :class:`_Server` whose requests are routed across a deployment's arms."""

    def __init__(self, deployment: str, workspace: Any, options: dict[str, Any]) -> None:
        self.deployment = deployment
        self.refresh_s: float = options.pop("refresh_s")
        self.switch_back_s: float = options.pop("switch_back_s")
        self.preloaded: dict[tuple[str, int], ServedModel] = options.pop("_preloaded") or {}
        super().__init__(f"deployment:{deployment}", workspace, options)
        self.state: _State | None = None
        # (arm, model, version, feature service) -> backend, for every one not yet closed
        self.pool: dict[tuple[str, str, int, str], Backend] = {}
        self.retired: dict[tuple[str, str, int, str], float] = {}  # key -> when retired
        self.models: dict[tuple[str, int], ServedModel] = dict(self.preloaded)
        self.shadow_tasks: set[asyncio.Task[None]] = set()
        self.shadow_in_flight: dict[str, int] = {}
        self.refreshed_at = 0.0
        self.refresh_error = ""

    # lifecycle -----------------------------------------------------------------------
    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.open_log()
        dep = await anyio.to_thread.run_sync(self._read)
        await self.apply(dep)
        self.ready = True
        watcher = asyncio.create_task(self._watch(), name="loopml-deployment-watch")
        try:
            yield
        finally:
            self.ready = False
            watcher.cancel()
            for task in list(self.shadow_tasks):
                task.cancel()
            for backend in self.pool.values():
                await backend.batcher.aclose()
            self.log.close()

    def _read(self) -> Deployment:
        return self._workspace().store.get_deployment(self.deployment)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                dep = await anyio.to_thread.run_sync(self._read)
                if self.state is None or dep.revision != self.state.table.revision:
                    await self.apply(dep)
                self.refresh_error = ""
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store may be briefly unreachable: keep serving
                self.refresh_error = f"{type(exc).__name__}: {exc}"
                _log.warning("deployment %s: refresh failed: %s", self.deployment, exc)
            self.refreshed_at = time.time()
            await self._close_retired()

    async def apply(self, dep: Deployment) -> None:
        """Load what revision ``dep`` needs, then route by it (one assignment)."""
        table = route_table(dep)
        backends: dict[str, Backend] = {}
        failed: dict[str, str] = {}
        service = dep.feature_service
        for arm in table.arms:
            key = (arm.name, arm.model, arm.version, service)
            backend = self.pool.get(key)
            if backend is None:
                try:
                    served = await self._served(arm.model, arm.version)
                    enricher = await self._enricher(service, served)
                except Exception as exc:
                    failed[arm.name] = _reason(exc)
                    _log.error(
                        "deployment %s: arm %s (%s) cannot answer: %s",
                        dep.name, arm.name, arm.uri, failed[arm.name],
                    )  # fmt: skip
                    continue
                backend = await self.start_backend(served, dep.name, arm.name, enricher)
                self.pool[key] = backend
            self.retired.pop(key, None)
            backends[arm.name] = backend
        if not any(name in backends for name in (a.name for a in table.answering())):
            if self.state is not None:
                raise LoopmlError(
                    f"deployment {dep.name!r} revision {dep.revision}: no arm can answer "
                    f"({'; '.join(f'{k}: {v}' for k, v in failed.items())}); "
                    f"still routing by revision {self.state.table.revision}"
                )
        now = time.monotonic()
        for key in self.pool:
            if key not in self.retired and backends.get(key[0]) is not self.pool[key]:
                self.retired[key] = now
        self.state = _State(table, backends, failed, service)
        self._publish()

    async def _served(self, model: str, version: int) -> ServedModel:
        """The loaded, verified and warmed model of ``model``/``version`` (loaded once)."""
        found = self.models.get((model, version))
        if found is None:
            found = await anyio.to_thread.run_sync(
                lambda: load_served(
                    f"models:/{model}/{version}",
                    workspace=self._workspace(),
                    runtime=self.options["runtime"],
                )
            )
            self.models[(model, version)] = found
        return found

    async def _enricher(self, service: str, served: ServedModel) -> Enricher | None:
        """The feature service's enricher for ``served`` (None when the deployment has none)."""
        if not service:
            return None
        from loopml.features import client_for

        client = client_for(self._workspace())
        return await anyio.to_thread.run_sync(lambda: Enricher(client, service, served.schema))

    async def _close_retired(self) -> None:
        now, m = time.monotonic(), self.metrics
        for key, since in list(self.retired.items()):
            if now - since >= self.switch_back_s:
                backend = self.pool.pop(key)
                del self.retired[key]
                await backend.batcher.aclose()
                live = {_labels(b) for k, b in self.pool.items() if k not in self.retired}
                for gauge in () if _labels(backend) in live else (m.arm_ready, m.arm_weight):
                    try:
                        gauge.remove(*_labels(backend))
                    except KeyError:  # never published (it left before its first revision)
                        pass
        kept = {(b.served.name, b.served.version) for b in self.pool.values()}
        for model_key in list(self.models):
            if model_key not in kept:
                del self.models[model_key]

    def _publish(self) -> None:
        state = self.state
        assert state is not None
        m = self.metrics
        m.deployment_revision.labels(self.deployment).set(state.table.revision)
        for arm in state.table.arms:
            answering = {a.name: a.weight for a in state.answering()}
            labels = (self.deployment, arm.name, arm.model, str(arm.version))
            m.arm_weight.labels(*labels).set(answering.get(arm.name, 0))
            m.arm_ready.labels(*labels).set(0 if arm.name in state.failed else 1)

    def monitor_scope(self) -> tuple[set[str] | None, set[str] | None]:
        """This deployment's own windows and the model-level ones of the models it serves."""
        arms = self.state.table.arms if self.state is not None else ()
        return {self.deployment}, {arm.model for arm in arms}

    # routing -------------------------------------------------------------------------
    def route(self, request: Request) -> Backend:
        state = self.state
        assert state is not None
        name = request.path_params.get("name")
        if name is not None and name != self.deployment:
            raise RequestError(
                f"model {name!r} is not served here",
                status=404,
                code="model_not_found",
                field="name",
                hint=f"This server serves deployment {self.deployment!r}.",
            )
        version = request.path_params.get("version")
        if version is not None:
            return self._pinned(state, version)
        header = state.table.key_header
        key = request.headers.get(header) if header else None
        return self._backend(state, key)

    def _pinned(self, state: _State, version: str) -> Backend:
        for arm in state.table.arms:
            if str(arm.version) == version and arm.name in state.backends:
                return state.backends[arm.name]
        served = sorted({str(a.version) for a in state.table.arms})
        raise RequestError(
            f"version {version!r} is not served by deployment {self.deployment!r}",
            status=404,
            code="version_not_found",
            field="version",
            hint=f"Its arms serve versions {', '.join(served)}.",
        )

    def _backend(self, state: _State, key: str | None) -> Backend:
        arms = state.answering()
        if not arms:
            raise RequestError(
                f"no arm of deployment {self.deployment!r} can answer",
                status=503,
                code="no_arm",
                field=None,
                hint="See GET /deployment for why each arm failed to load.",
            )
        return state.backends[pick(arms, self.deployment, key).name]

    def reroute(
        self, request: Request, backend: Backend, columns: Columns, reparse: Reparse
    ) -> tuple[Backend, Columns]:
        state = self.state
        assert state is not None
        name = state.table.key_field
        if name is None or name not in columns or "version" in request.path_params:
            return backend, columns
        values = columns[name]
        key = str(values[0].item() if hasattr(values[0], "item") else values[0])
        chosen = self._backend(state, key)
        if chosen is backend:
            return backend, columns
        if chosen.schema != backend.schema:
            columns = reparse(chosen.schema)
        return chosen, columns

    def after(self, backend: Backend, columns: Columns, pid: str) -> None:
        state = self.state
        if state is None or not state.table.shadows:
            return
        for name in state.table.shadows:
            shadow = state.backends.get(name)
            if shadow is None or shadow is backend:
                continue
            if self.shadow_in_flight.get(name, 0) >= SHADOW_IN_FLIGHT:
                self.metrics.shadow_dropped.labels(self.deployment, name).inc()
                continue
            self.shadow_in_flight[name] = self.shadow_in_flight.get(name, 0) + 1
            task = asyncio.create_task(self._shadow(shadow, columns, pid))
            self.shadow_tasks.add(task)
            task.add_done_callback(self.shadow_tasks.discard)

    async def _shadow(self, shadow: Backend, columns: Columns, pid: str) -> None:
        assert shadow.arm is not None
        try:
            await self.predict(shadow, columns, pid, None)  # logged under the shadow arm
        except Exception:  # a failing shadow is logged as such; it never reaches a caller
            pass
        finally:
            self.shadow_in_flight[shadow.arm] -= 1

    def public_name(self, backend: Backend) -> str:
        return self.deployment

    def check_model(self, request: Request) -> ServedModel:
        """The model metadata describes: a pinned version's, else the stable arm's."""
        if "version" in request.path_params:
            return self.route(request).served
        self.route(request)  # 404 for another name
        return self.primary_model()

    def primary_model(self) -> ServedModel:
        state = self.state
        assert state is not None
        for arm in (*state.table.arms, *state.answering()):
            if arm.name in state.backends:
                return state.backends[arm.name].served
        raise RequestError(
            f"no arm of deployment {self.deployment!r} is loaded",
            status=503,
            code="no_arm",
            field=None,
            hint="See GET /deployment for why each arm failed to load.",
        )

    # endpoints -----------------------------------------------------------------------
    async def model_meta(self, request: Request) -> Response:
        response = await super().model_meta(request)
        if "version" in request.path_params:
            return response
        import orjson

        body = orjson.loads(bytes(response.body))
        state = self.state
        assert state is not None
        body["versions"] = sorted(
            {str(a.version) for a in state.table.arms if a.name in state.backends}, key=int
        )
        return _json(body)

    async def status(self, request: Request) -> Response:
        """``GET /deployment``: the revision routed by, each arm's weight and health."""
        state = self.state
        assert state is not None
        answering = {a.name: a.weight for a in state.answering()}
        arms = [
            {
                "name": a.name,
                "model": a.model,
                "version": a.version,
                "weight": a.weight,
                "effective_weight": answering.get(a.name, 0),
                "shadow": a.name in state.table.shadows,
                "ready": a.name in state.backends,
                "error": state.failed.get(a.name),
            }
            for a in state.table.arms
        ]
        return _json(
            {
                "deployment": self.deployment,
                "revision": state.table.revision,
                "strategy": state.table.strategy,
                "key": state.table.key,
                "feature_service": state.feature_service or None,
                "arms": arms,
                "warm": sorted({f"{m}/{v}" for (m, v) in self.models}, key=lambda t: (len(t), t)),
                "refreshed_at": self.refreshed_at,
                "refresh_error": self.refresh_error or None,
            }
        )


def _reason(exc: BaseException) -> str:
    message = exc.message if isinstance(exc, LoopmlError) else str(exc)
    return f"{type(exc).__name__}: {(message.strip().splitlines() or [''])[0][:300]}"


def _labels(backend: Backend) -> tuple[str, str, str, str]:
    return (
        backend.deployment or "",
        backend.arm or "",
        backend.served.name,
        backend.served.version_text,
    )


def create_deployment_app(
    deployment: str,
    *,
    workspace: Any = None,
    batching: bool = True,
    max_latency_ms: float = 20.0,
    max_batch_rows: int = 512,
    max_body_bytes: int = 16 * 2**20,
    prediction_log: bool = True,
    runtime: str = "native",
    model_threads: int | None = 1,
    refresh_s: float = 1.0,
    switch_back_s: float = 600.0,
    _preloaded: dict[tuple[str, int], ServedModel] | None = None,
) -> Starlette:
    """The ASGI app serving the stored deployment ``deployment`` (its router).

    Every arm's version is loaded (verified and warmed on its input example) before the
    app is ready; the deployment is re-read every ``refresh_s`` seconds and a new
    revision takes effect without a restart. ``GET /deployment`` shows the routing.

    Args:
        deployment: The deployment's name (also the model name in OIP paths).
        workspace: Where the deployment, models and prediction log live.
        batching, max_latency_ms, max_batch_rows, max_body_bytes, prediction_log,
            runtime, model_threads: As for :func:`loopml.serving.create_app`, per arm.
        refresh_s: How often the deployment is re-read from the store.
        switch_back_s: How long a version that left the deployment stays loaded, so a
            switch back to it is instant.

    Example:
        >>> app = create_deployment_app("fraud")  # doctest: +SKIP
    """
    options: dict[str, Any] = {
        "batching": batching,
        "max_latency_ms": max_latency_ms,
        "max_batch_rows": max_batch_rows,
        "max_body_bytes": max_body_bytes,
        "prediction_log": prediction_log,
        "runtime": runtime,
        "model_threads": model_threads,
        "refresh_s": refresh_s,
        "switch_back_s": switch_back_s,
        "_preloaded": _preloaded,
    }
    server = _DeploymentServer(deployment, workspace, options)
    return _build(server, extra=[("/deployment", "deployment", server.status, ["GET"])])
