"""Alerts: for-duration and cool-down, YAML rules with file:line errors, storage with
lineage, delivery to a signed loopback webhook, the log and a real Alertmanager."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from loopml import Workspace
from loopml.entities import AlertSeverity, AlertState
from loopml.errors import InvalidInput, InvalidMonitorSpec
from loopml.ids import ObjectRef
from loopml.monitoring import (
    AlertmanagerSink,
    AlertRule,
    AlertTracker,
    LogSink,
    MonitoredValue,
    WebhookSink,
    check_alerts,
    evaluate_alerts,
    list_alerts,
    load_alert_rules,
    load_tracker,
    parse_alert_rules,
    record_alerts,
)
from loopml.webhooks import verify_signature
from tests.fixtures.cli import Cli
from tests.monitoring.prom import alertmanager, get_json

S = 1000  # ms per second


def drift(value: float, feature: str = "amount", window: str | None = "w1") -> MonitoredValue:
    return MonitoredValue(
        "drift", feature, value, deployment="fraud", model="fraud", version=3,
        window_id=window, statistic="psi",
    )  # fmt: skip


RULE = AlertRule("amount-drift", "drift", above=0.2, subject="amount", for_s=60, cooldown_s=300)


def run(rule: AlertRule, steps: list[tuple[int, list[MonitoredValue]]]) -> list[list[str]]:
    """Evaluate at each (second, values); what changed at each step."""
    tracker: AlertTracker | None = None
    out = []
    for at, values in steps:
        ev = evaluate_alerts([rule], values, tracker, now_ms=at * S)
        tracker = ev.tracker
        out.append([f"{a.state.value}:{a.subject}" for a in ev.transitions])
    return out


def test_for_duration_waits_and_a_dip_resets_it() -> None:
    got = run(
        RULE,
        [
            (0, [drift(0.3)]),  # breach starts
            (30, [drift(0.3)]),  # 30 s < for 60 s
            (45, [drift(0.1)]),  # dip: the wait restarts
            (60, [drift(0.3)]),
            (100, [drift(0.3)]),  # 40 s since the restart
            (120, [drift(0.3)]),  # 60 s: fires
            (180, [drift(0.4)]),  # still firing: no new alert
        ],
    )
    assert got == [[], [], [], [], [], ["firing:amount/psi"], []]


def test_cool_down_after_a_resolution() -> None:
    rule = AlertRule("amount-drift", "drift", above=0.2, subject="amount", cooldown_s=300)
    got = run(
        rule,
        [
            (0, [drift(0.3)]),  # fires (no for-duration)
            (60, [drift(0.1)]),  # resolves
            (120, [drift(0.5)]),  # breach inside the cool-down: quiet
            (300, [drift(0.5)]),  # 240 s after the resolution: quiet
            (360, [drift(0.5)]),  # 300 s: fires again
        ],
    )
    assert got == [["firing:amount/psi"], ["resolved:amount/psi"], [], [], ["firing:amount/psi"]]


def test_missing_and_nan_values_change_nothing_and_keys_are_independent() -> None:
    rule = AlertRule("drift", "drift", above=0.2, severity="critical")
    first = evaluate_alerts([rule], [drift(0.3), drift(0.1, "hour")], now_ms=0)
    assert [a.subject for a in first.fired] == ["amount/psi"]
    assert first.fired[0].severity is AlertSeverity.CRITICAL
    assert first.fired[0].message == "drift: drift amount/psi on fraud is 0.3 (> 0.2)"
    quiet = evaluate_alerts([rule], [drift(math.nan)], first.tracker, now_ms=10 * S)
    assert quiet.transitions == () and len(quiet.firing) == 1
    absent = evaluate_alerts([rule], [], quiet.tracker, now_ms=20 * S)
    assert absent.transitions == () and len(absent.firing) == 1
    hour = evaluate_alerts([rule], [drift(0.9, "hour")], absent.tracker, now_ms=30 * S)
    assert [a.subject for a in hour.fired] == ["hour/psi"] and len(hour.firing) == 2


def test_rules_select_by_kind_subject_statistic_and_deployment() -> None:
    latency = MonitoredValue("latency", "p99", 0.9, deployment="fraud")
    other = MonitoredValue("latency", "p99", 0.9, deployment="churn")
    metric = MonitoredValue("metric", "accuracy", 0.7, deployment="fraud", model="fraud")
    rules = [
        AlertRule("p99", "latency", above=0.5, subject="p9*", deployment="fraud"),
        AlertRule("accuracy", "metric", below=0.8, subject="accuracy"),
        AlertRule("estimated", "estimated_metric", below=0.8),
        AlertRule("ks-only", "drift", above=0.0, statistic="ks"),
    ]
    ev = evaluate_alerts(rules, [latency, other, metric, drift(0.5)], now_ms=0)
    assert sorted((a.rule, a.deployment) for a in ev.fired) == [
        ("accuracy", "fraud"),
        ("p99", "fraud"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "drift"}, "exactly one of above or below"),
        ({"kind": "drift", "above": 1, "below": 0}, "exactly one of above or below"),
        ({"kind": "vibes", "above": 1}, "alert kind 'vibes'"),
        ({"kind": "drift", "above": 1, "severity": "loud"}, "severity 'loud'"),
        ({"kind": "drift", "above": 1, "for_s": -1}, "for must be seconds"),
    ],
)
def test_bad_python_rules_are_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        AlertRule("r", **kwargs)


RULES_YAML = """\
alerts:
  - name: amount-drift
    kind: drift
    subject: amount
    statistic: psi
    above: 0.2
    for: 10m
    cooldown: 1h
  - name: accuracy
    kind: metric
    below: 0.8
    severity: critical
    deployment: fraud
"""


def test_yaml_rules_parse(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(RULES_YAML)
    drift_rule, accuracy = load_alert_rules(path)
    assert drift_rule == AlertRule(
        "amount-drift", "drift", above=0.2, subject="amount", statistic="psi",
        for_s=600, cooldown_s=3600,
    )  # fmt: skip
    assert accuracy.below == 0.8 and accuracy.severity is AlertSeverity.CRITICAL
    assert (
        load_alert_rules([{"name": "x", "kind": "latency", "above": 1, "for": 30}])[0].for_s == 30
    )


@pytest.mark.parametrize(
    ("text", "where", "match"),
    [
        (
            "alerts:\n  - name: a\n    kind: drift\n    abve: 1\n",
            ":4",
            "unknown key 'abve'.*'above'",
        ),
        ("alerts:\n  - name: a\n    kind: drift\n", ":2", "exactly one of 'above' or 'below'"),
        ("- name: a\n  kind: drft\n  above: 1\n", ":2", "unknown kind 'drft'.*'drift'"),
        ("- name: a\n  kind: drift\n  above: 1\n  for: soon\n", ":4", "a duration must be"),
        ("- name: a\n  kind: drift\n  above: high\n", ":3", "above must be a number"),
        ("- {name: a, kind: drift, above: 1}\n- {name: a, kind: drift, above: 2}\n", ":2", "twice"),
        ("alerts: [\n", ":2", "malformed YAML"),
    ],
)
def test_yaml_errors_name_file_and_line(text: str, where: str, match: str) -> None:
    with pytest.raises(InvalidMonitorSpec, match=match) as info:
        parse_alert_rules(text, "alerts.yaml")
    assert info.value.message.startswith(f"alerts.yaml{where}:"), info.value.message


# --- stored and delivered -----------------------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.got.append((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts", state
    server.shutdown()
    server.server_close()


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(home=tmp_path / "home")
    yield ws
    ws.close()


def test_an_alert_is_stored_linked_and_reaches_a_signed_webhook(
    workspace: Workspace, receiver: tuple[str, Receiver], caplog: pytest.LogCaptureFixture
) -> None:
    url, state = receiver
    hook, log = WebhookSink(url, secret="s3cret"), LogSink()
    rule = AlertRule("amount-drift", "drift", above=0.2, subject="amount")
    caplog.set_level(logging.INFO, logger="loopml.monitoring.alerts")
    now = int(time.time() * 1000)
    first = check_alerts(
        [rule], [drift(0.31, window="w-20")], sinks=[hook, log], now_ms=now, workspace=workspace
    )
    (alert,) = first.fired
    assert workspace.store.get_alert(alert.id) == alert
    assert [a.id for a in list_alerts(state="firing", workspace=workspace)] == [alert.id]
    window = ObjectRef.parse("monitor_window:w-20")
    edges = [n.edge for n in workspace.store.downstream(window)]
    assert [(e.dst.kind, e.dst.id, e.relation) for e in edges] == [("alert", alert.id, "fired")]

    headers, body = state.got[0]
    assert headers["X-Loopml-Event"] == "alert.firing"
    assert verify_signature(body, headers, "s3cret")
    assert not verify_signature(body, headers, "another secret")
    sent = json.loads(body)["alert"]
    assert sent["id"] == alert.id and sent["state"] == "firing" and sent["value"] == 0.31
    assert sent["window_id"] == "w-20" and sent["deployment"] == "fraud"
    assert any("alert firing (warning)" in r.getMessage() for r in caplog.records)

    # a new process rebuilds what is firing from the store, and resolves it there
    tracker = load_tracker(workspace=workspace)
    assert list(tracker.firing.values()) == [alert]
    done = check_alerts(
        [rule], [drift(0.05, window="w-21")], tracker, sinks=[hook, log],
        now_ms=now + 60 * S, workspace=workspace,
    )  # fmt: skip
    assert [a.id for a in done.resolved] == [alert.id]
    stored = workspace.store.get_alert(alert.id)
    assert stored.state is AlertState.RESOLVED and stored.resolved_at_ms == now + 60 * S
    headers, body = state.got[1]
    assert headers["X-Loopml-Event"] == "alert.resolved" and verify_signature(
        body, headers, "s3cret"
    )
    assert list_alerts(state="firing", workspace=workspace) == []
    assert any("alert resolved" in r.getMessage() for r in caplog.records)
    actions = [
        e.entry.action
        for e in workspace.store.list_audit_events(object_kind="alert", object_id=alert.id)
    ]
    assert actions == ["alert.fire", "alert.resolve"]


def test_cool_down_survives_a_restart(workspace: Workspace) -> None:
    rule = AlertRule("p99", "latency", above=0.5, subject="p99", cooldown_s=600)
    high = MonitoredValue("latency", "p99", 0.9, deployment="fraud")
    low = MonitoredValue("latency", "p99", 0.1, deployment="fraud")
    now = int(time.time() * 1000)
    first = check_alerts([rule], [high], now_ms=now, workspace=workspace)
    check_alerts([rule], [low], first.tracker, now_ms=now + 10 * S, workspace=workspace)
    again = check_alerts([rule], [high], now_ms=now + 20 * S, workspace=workspace)  # new tracker
    assert again.fired == ()
    assert len(list_alerts(workspace=workspace)) == 1


def test_a_dead_webhook_does_not_stop_the_alert(workspace: Workspace) -> None:
    hook = WebhookSink("http://127.0.0.1:9/nothing", secret="x", retries=0, timeout_s=1)
    ev = evaluate_alerts([AlertRule("r", "drift", above=0.1)], [drift(0.3)], now_ms=0)
    stored = record_alerts(ev, sinks=[hook], workspace=workspace)
    assert [a.id for a in stored] == [ev.fired[0].id]
    assert hook.deliveries and not hook.deliveries[0].ok


def _am_alerts(url: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = get_json(f"{url}/api/v2/alerts")
    return got


def test_alerts_reach_a_real_alertmanager(workspace: Workspace, tmp_path: Path) -> None:
    with alertmanager(tmp_path / "am") as url:
        sink = AlertmanagerSink(url, generator_url="http://127.0.0.1/loopml")
        rule = AlertRule("accuracy-low", "metric", below=0.8, severity="critical")
        value = MonitoredValue(
            "metric", "accuracy", 0.71, deployment="fraud", model="fraud", version=3,
            window_id="w-7",
        )  # fmt: skip
        now = int(time.time() * 1000)
        fired = check_alerts([rule], [value], sinks=[sink], now_ms=now, workspace=workspace)
        (alert,) = fired.fired
        deadline = time.monotonic() + 10
        seen: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not seen:
            seen = [a for a in _am_alerts(url) if a["labels"].get("loopml_alert_id") == alert.id]
            time.sleep(0.1)
        assert seen, _am_alerts(url)
        got = seen[0]
        assert got["labels"]["alertname"] == "accuracy-low"
        assert got["labels"]["severity"] == "critical"
        assert got["labels"]["deployment"] == "fraud" and got["labels"]["version"] == "3"
        assert got["labels"]["window_id"] == "w-7"
        assert got["annotations"]["value"] == "0.71" and got["status"]["state"] == "active"
        assert got["generatorURL"] == "http://127.0.0.1/loopml"
        assert sink.deliveries == [(alert.id, 200, "")]

        # still firing: pushed again; then resolved with its end time
        still = check_alerts(
            [rule], [value], fired.tracker, sinks=[sink], now_ms=now + 1 * S, workspace=workspace
        )
        assert still.transitions == () and len(sink.deliveries) == 2
        back = MonitoredValue(
            "metric", "accuracy", 0.93, deployment="fraud", model="fraud", version=3
        )
        check_alerts(
            [rule], [back], still.tracker, sinks=[sink], now_ms=now + 2 * S, workspace=workspace
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            active = [a for a in _am_alerts(url) if a["labels"].get("loopml_alert_id") == alert.id]
            if not active:
                break
            time.sleep(0.1)
        assert not active, active


def test_cli_lists_alerts(workspace: Workspace, run_cli: Cli) -> None:
    rules = [
        AlertRule("amount-drift", "drift", above=0.2),
        AlertRule("p99", "latency", above=0.5),
    ]
    p99 = MonitoredValue("latency", "p99", 0.9, deployment="churn")
    ev = check_alerts(rules, [drift(0.3), p99], now_ms=1_796_000_000_000, workspace=workspace)
    check_alerts(
        rules, [MonitoredValue("latency", "p99", 0.1, deployment="churn")], ev.tracker,
        now_ms=1_796_000_060_000, workspace=workspace,
    )  # fmt: skip
    home = str(workspace.home)
    done = run_cli("--home", home, "monitor", "alerts", "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert {(a["rule"], a["state"]) for a in listed} == {
        ("amount-drift", "firing"),
        ("p99", "resolved"),
    }
    firing = json.loads(
        run_cli("--home", home, "monitor", "alerts", "--json", "--state", "firing").stdout
    )
    assert [a["rule"] for a in firing] == ["amount-drift"]
    table = run_cli("--home", home, "monitor", "alerts", "--deployment", "churn")
    assert "p99" in table.stdout and "amount-drift" not in table.stdout
    bad = run_cli("--home", home, "monitor", "alerts", "--state", "burning")
    assert bad.returncode == 2 and "firing" in bad.stderr


def test_a_drift_report_feeds_alerts_and_gauges() -> None:
    import numpy as np
    import pandas as pd
    from prometheus_client import CollectorRegistry, generate_latest

    from loopml.monitoring import MonitorMetrics, drift, drift_gauges, drift_values

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"amount": rng.normal(0, 1, 20_000), "hour": rng.normal(0, 1, 20_000)})
    cur = pd.DataFrame({"amount": rng.normal(0.5, 1, 5_000), "hour": rng.normal(0, 1, 5_000)})
    report = drift(ref, cur)
    assert report.drifted_columns == ["amount"]
    values = drift_values(report, deployment="fraud", model="fraud", version=3, window_id="w9")
    verdicts = {v.subject: v.value for v in values if v.statistic == "drifted"}
    assert verdicts == {"amount": 1.0, "hour": 0.0}
    assert {v.statistic for v in values} >= {"drifted", "ks", "psi"}
    rule = AlertRule("drifted", "drift", statistic="drifted", above=0.5)
    (alert,) = evaluate_alerts([rule], values, now_ms=0).fired
    assert (alert.subject, alert.window_id, alert.version) == ("amount/drifted", "w9", 3)

    registry = CollectorRegistry()
    MonitorMetrics(registry).publish(drift=drift_gauges(report, deployment="fraud", model="fraud"))
    text = generate_latest(registry).decode()
    assert 'loopml_monitor_drift_alarm{deployment="fraud",feature="amount",model="fraud",' in text
    alarms = [line for line in text.splitlines() if line.startswith("loopml_monitor_drift_alarm{")]
    on = [line for line in alarms if line.endswith(" 1.0")]
    assert on and all('feature="amount"' in line for line in on)
