"""Where alerts go: signed webhooks, the log, and Prometheus Alertmanager.

A sink's :meth:`~AlertSink.deliver` never raises: a chat room or an Alertmanager being
down must not stop the evaluation that found the problem. Each sink keeps the outcome of
its deliveries (``deliveries``) for whoever wants to check them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from loopml.entities import AlertState

if TYPE_CHECKING:
    from loopml.entities import Alert
    from loopml.webhooks import Delivery

LOGGER = "loopml.monitoring.alerts"


@runtime_checkable
class AlertSink(Protocol):
    """Something alerts are delivered to.

    ``refresh`` True means the sink wants every still-firing alert again on each
    evaluation (Alertmanager resolves alerts it stops hearing about).
    """

    refresh: bool

    def deliver(self, alert: Alert) -> bool:
        """Send one alert (firing or resolved); True when it was accepted."""
        ...


@dataclass
class WebhookSink:
    """POST each alert as a signed JSON event (``alert.firing`` / ``alert.resolved``).

    The body is ``{"alert": Alert.to_dict()}``, signed with HMAC-SHA256 by
    :func:`loopml.webhooks.send_webhook` (a receiver checks it with
    :func:`loopml.webhooks.verify_signature`).

    Args:
        url: The receiver.
        secret: The shared signing secret (None: unsigned).
        retries: Retries on connection errors and 5xx answers.
        timeout_s: Timeout of one try.
    """

    url: str
    secret: str | None = None
    retries: int = 3
    timeout_s: float = 5.0
    refresh: bool = False
    deliveries: list[Delivery] = field(default_factory=list)

    def deliver(self, alert: Alert) -> bool:
        """Send one alert; True when the receiver answered 2xx."""
        from loopml.webhooks import send_webhook

        outcome = send_webhook(
            self.url,
            f"alert.{alert.state.value}",
            {"alert": alert.to_dict()},
            secret=self.secret,
            retries=self.retries,
            timeout_s=self.timeout_s,
        )
        self.deliveries.append(outcome)
        if not outcome.ok:
            logging.getLogger(LOGGER).warning(
                "alert %s: webhook %s failed: %s", alert.id, self.url, outcome.error
            )
        return outcome.ok


@dataclass
class LogSink:
    """Log each alert: firing ones at WARNING (ERROR when critical), resolved at INFO."""

    logger: str = LOGGER
    refresh: bool = False
    deliveries: list[str] = field(default_factory=list)

    def deliver(self, alert: Alert) -> bool:
        """Log one alert; always True."""
        log = logging.getLogger(self.logger)
        if alert.state is AlertState.RESOLVED:
            level = logging.INFO
            text = f"alert resolved: {alert.message} [{alert.id}]"
        else:
            level = logging.ERROR if alert.severity.value == "critical" else logging.WARNING
            text = f"alert firing ({alert.severity.value}): {alert.message} [{alert.id}]"
        log.log(level, text)
        self.deliveries.append(text)
        return True


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def alertmanager_payload(alert: Alert, *, generator_url: str = "") -> dict[str, Any]:
    """One alert in Alertmanager's v2 API shape (``POST /api/v2/alerts`` takes a list)."""
    labels = {
        "alertname": alert.rule,
        "severity": alert.severity.value,
        "kind": str(alert.kind),
        "loopml_alert_id": alert.id,
    }
    for name, value in (
        ("deployment", alert.deployment),
        ("model", alert.model),
        ("version", "" if alert.version is None else str(alert.version)),
        ("subject", alert.subject),
        ("window_id", alert.window_id or ""),
    ):
        if value:
            labels[name] = value
    body: dict[str, Any] = {
        "labels": labels,
        "annotations": {
            "summary": alert.message,
            "value": f"{alert.value:g}",
            "bound": f"{alert.bound:g}",
        },
        "startsAt": _rfc3339(alert.fired_at_ms),
    }
    if alert.resolved_at_ms is not None:
        body["endsAt"] = _rfc3339(alert.resolved_at_ms)
    if generator_url:
        body["generatorURL"] = generator_url
    return body


@dataclass
class AlertmanagerSink:
    """Push alerts to a Prometheus Alertmanager through its v2 API.

    Firing alerts are pushed again on every evaluation (``refresh``), as Prometheus does:
    Alertmanager resolves an alert it has not heard of for its ``resolve_timeout``. A
    resolved alert is pushed once with its ``endsAt``.

    Args:
        url: Alertmanager's base URL (``http://127.0.0.1:9093``).
        generator_url: A link back to where the alert came from (optional).
        timeout_s: HTTP timeout.
    """

    url: str
    generator_url: str = ""
    timeout_s: float = 5.0
    refresh: bool = True
    deliveries: list[tuple[str, int, str]] = field(default_factory=list)

    def deliver(self, alert: Alert) -> bool:
        """Push one alert; True when Alertmanager answered 200."""
        import httpx

        body = [alertmanager_payload(alert, generator_url=self.generator_url)]
        endpoint = self.url.rstrip("/") + "/api/v2/alerts"
        status, error = 0, ""
        for attempt in range(3):
            try:
                with httpx.Client(timeout=self.timeout_s, trust_env=False) as client:
                    response = client.post(endpoint, json=body)
                status = response.status_code
                error = "" if status == 200 else response.text[:200]
            except httpx.HTTPError as exc:
                status, error = 0, f"{type(exc).__name__}: {exc}"
            if status == 200 or 400 <= status < 500:
                break
            time.sleep(0.2 * 2**attempt)
        self.deliveries.append((alert.id, status, error))
        if status != 200:
            logging.getLogger(LOGGER).warning(
                "alert %s: Alertmanager %s answered %s %s", alert.id, endpoint, status, error
            )
        return status == 200
