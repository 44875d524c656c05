"""Prometheus metrics of one app, in its own registry (two apps in a process never mix)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from loopml.errors import LoopmlError

if TYPE_CHECKING:
    from collections.abc import Collection

    from loopml.workspace import Workspace

_log = logging.getLogger("loopml.serving")

_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_ROWS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)
PREFIX = "loopml_serving"


class ServingMetrics:
    """Requests, errors by kind, latency, in-flight requests and the batcher's figures.

    Args:
        registry: Registry to add to (default: a new one for this app).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=False)
        reg = self.registry
        self.requests = Counter(
            f"{PREFIX}_requests", "HTTP requests answered", ["endpoint", "code"], registry=reg
        )
        self.errors = Counter(
            f"{PREFIX}_errors",
            "Requests answered with an error, by kind (validation, model, overloaded, ...)",
            ["kind"],
            registry=reg,
        )
        self.latency = Histogram(
            f"{PREFIX}_request_duration_seconds",
            "Time from request to response",
            ["endpoint"],
            buckets=_LATENCY,
            registry=reg,
        )
        self.in_flight = Gauge(
            f"{PREFIX}_in_flight_requests", "Requests being answered now", registry=reg
        )
        self.rows = Counter(f"{PREFIX}_predicted_rows", "Rows predicted", registry=reg)
        self.batch_rows = Histogram(
            f"{PREFIX}_batch_rows", "Rows per predict call", buckets=_ROWS, registry=reg
        )
        self.batch_requests = Histogram(
            f"{PREFIX}_batch_requests", "Requests per predict call", buckets=_ROWS, registry=reg
        )
        self.batch_wait = Histogram(
            f"{PREFIX}_batch_wait_seconds",
            "Time the oldest request of a batch waited before dispatch",
            buckets=_LATENCY,
            registry=reg,
        )
        self.batch_predict = Histogram(
            f"{PREFIX}_batch_predict_seconds",
            "Time of one predict call",
            buckets=_LATENCY,
            registry=reg,
        )
        self.dispatches = Counter(
            f"{PREFIX}_batch_dispatches",
            "Predict calls by why they were dispatched (idle, full, deadline, cost)",
            ["reason"],
            registry=reg,
        )
        self.shed = Counter(
            f"{PREFIX}_shed", "Requests refused with 503 by reason", ["reason"], registry=reg
        )
        self.queue_rows = Gauge(f"{PREFIX}_queue_rows", "Rows waiting for a batch", registry=reg)
        self.model_info = Gauge(
            f"{PREFIX}_model_info",
            "The served model (always 1)",
            ["model", "version", "flavor", "runtime"],
            registry=reg,
        )

        arm = ["deployment", "arm", "model", "version"]
        self.arm_requests = Counter(
            f"{PREFIX}_arm_requests",
            "Requests answered by each deployment arm, by HTTP status",
            [*arm, "code"],
            registry=reg,
        )
        self.arm_latency = Histogram(
            f"{PREFIX}_arm_request_duration_seconds",
            "Time from request to response, by deployment arm",
            arm,
            buckets=_LATENCY,
            registry=reg,
        )
        self.arm_weight = Gauge(
            f"{PREFIX}_arm_weight_percent",
            "Percent of requests each arm answers now (after arms that failed to load)",
            arm,
            registry=reg,
        )
        self.arm_ready = Gauge(
            f"{PREFIX}_arm_ready", "1 when the arm's version is loaded and warm", arm, registry=reg
        )
        self.deployment_revision = Gauge(
            f"{PREFIX}_deployment_revision",
            "The stored revision of the deployment being routed by",
            ["deployment"],
            registry=reg,
        )
        self.shadow_dropped = Counter(
            f"{PREFIX}_shadow_dropped",
            "Shadow copies not sent because the shadow arm was too far behind",
            ["deployment", "arm"],
            registry=reg,
        )
        self.log_queue = Gauge(
            f"{PREFIX}_prediction_log_queue",
            "Records waiting to be written by the prediction log",
            registry=reg,
        )

        from loopml.monitoring import MonitorMetrics

        self.monitor = MonitorMetrics(reg)

    def refresh_monitor(
        self,
        ws: Workspace,
        *,
        deployments: Collection[str] | None,
        models: Collection[str] | None,
    ) -> None:
        """Re-read the monitor's newest stored windows of what this server serves into the
        ``loopml_monitor_*`` gauges (blocking: call it off the event loop).

        A store that cannot be read keeps the last figures: a scrape never fails for it.
        """
        from loopml.monitoring import monitor_snapshot

        try:
            snap = monitor_snapshot(ws, deployments=deployments, models=models)
        except (LoopmlError, OSError) as exc:
            _log.warning("monitor gauges not refreshed: %s", exc)
            return
        self.monitor.publish(snap.drift, snap.metrics)

    def observe_arm(self, backend: Any, status: int, seconds: float) -> None:
        """One request answered by a deployment arm (``backend``: serving's Backend)."""
        served = backend.served
        labels = (backend.deployment, backend.arm, served.name, served.version_text)
        self.arm_requests.labels(*labels, str(status)).inc()
        self.arm_latency.labels(*labels).observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class MetricsObserver:
    """The batcher's ``BatchObserver``: records each dispatch, shed and queue change."""

    def __init__(self, metrics: ServingMetrics) -> None:
        self._m = metrics

    def on_dispatch(
        self, *, rows: int, requests: int, wait_s: float, predict_s: float, reason: str
    ) -> None:
        """One predict call."""
        m = self._m
        m.batch_rows.observe(rows)
        m.batch_requests.observe(requests)
        m.batch_wait.observe(wait_s)
        m.batch_predict.observe(predict_s)
        m.dispatches.labels(reason).inc()
        m.rows.inc(rows)

    def on_shed(self, *, reason: str) -> None:
        """One request refused."""
        self._m.shed.labels(reason).inc()

    def on_queue(self, *, rows: int) -> None:
        """Rows now waiting."""
        self._m.queue_rows.set(rows)
