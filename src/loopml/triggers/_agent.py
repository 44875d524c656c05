"""The agent's loop: due schedules, trigger checks and pending chains, with health and
metrics on 127.0.0.1.

One tick starts the due scheduled pipeline runs (:func:`loopml.pipelines.run_due`), checks
every trigger (:func:`check_all`) and runs (or resumes) every chain not finished and not
held by a live agent. State lives in the store, so an agent restarted (or a second one)
carries on where the first stopped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput
from loopml.triggers._chain import LEASE_TTL_S, ChainResult, new_owner, pending_chains, run_chain
from loopml.triggers._fire import CheckResult, check_all
from loopml.workspace import Workspace, current_workspace

if TYPE_CHECKING:
    from collections.abc import Callable

    from loopml.pipelines import Executor, PipelineResult


@dataclass
class AgentStats:
    """Counters the agent exposes on ``/metrics`` (Prometheus text format)."""

    started_at: float = field(default_factory=time.time)
    ticks: int = 0
    last_tick_at: float = 0.0
    runs_started: int = 0
    fired: int = 0
    suppressed: int = 0
    chains: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    running_chain: str | None = None
    stopping: bool = False

    def prometheus(self) -> str:
        """The counters as Prometheus exposition text."""
        lines = [
            "# HELP loopml_agent_up 1 while the agent runs.",
            "# TYPE loopml_agent_up gauge",
            f"loopml_agent_up {0 if self.stopping else 1}",
            "# TYPE loopml_agent_ticks_total counter",
            f"loopml_agent_ticks_total {self.ticks}",
            "# TYPE loopml_agent_last_tick_timestamp_seconds gauge",
            f"loopml_agent_last_tick_timestamp_seconds {self.last_tick_at:.3f}",
            "# TYPE loopml_agent_scheduled_runs_total counter",
            f"loopml_agent_scheduled_runs_total {self.runs_started}",
            "# TYPE loopml_agent_triggers_fired_total counter",
            f"loopml_agent_triggers_fired_total {self.fired}",
            "# TYPE loopml_agent_triggers_suppressed_total counter",
            f"loopml_agent_triggers_suppressed_total {self.suppressed}",
            "# TYPE loopml_agent_tick_errors_total counter",
            f"loopml_agent_tick_errors_total {self.errors}",
            "# TYPE loopml_agent_chains_total counter",
        ]
        for outcome, count in sorted(self.chains.items()):
            lines.append(f'loopml_agent_chains_total{{outcome="{outcome}"}} {count}')
        return "\n".join(lines) + "\n"

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` answers."""
        return {
            "status": "stopping" if self.stopping else "ok",
            "ticks": self.ticks,
            "last_tick_at": self.last_tick_at,
            "running_chain": self.running_chain,
            "uptime_s": round(time.time() - self.started_at, 3),
        }


def serve_health(
    stats: AgentStats,
    port: int,
    host: str = "127.0.0.1",
    *,
    workspace: Workspace | None = None,
) -> ThreadingHTTPServer:
    """Serve ``/healthz`` and ``/metrics`` from a daemon thread; port 0 picks a free one.

    With ``workspace``, ``/metrics`` also shows the monitor's gauges (drift per feature,
    realised and estimated metrics) of the newest stored window of each target.

    Raises:
        InvalidInput: The port is taken.
    """
    from loopml.triggers._gauges import monitor_text

    def metrics_text() -> str:
        text = stats.prometheus()
        if workspace is not None:
            try:
                text += monitor_text(workspace)
            except Exception:  # the agent's own counters are still worth answering
                logging.getLogger("loopml.agent").exception("monitor gauges failed")
        return text

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] == "/healthz":
                body = json.dumps(stats.health()).encode()
                kind, code = "application/json", 503 if stats.stopping else 200
            elif self.path.split("?", 1)[0] == "/metrics":
                body, kind, code = metrics_text().encode(), "text/plain; version=0.0.4", 200
            else:
                body, kind, code = b"not found\n", "text/plain", 404
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        raise InvalidInput(
            f"cannot serve the agent's health on {host}:{port} ({exc.strerror or exc})",
            hint="Pick another port with --port (0: any free port).",
        ) from exc
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="agent-health", daemon=True).start()
    return server


@dataclass
class TickResult:
    """What one tick did."""

    runs: list[PipelineResult] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    chains: list[ChainResult] = field(default_factory=list)


def tick(
    ws: Workspace,
    *,
    owner: str,
    stats: AgentStats,
    executor: str | Executor | None = None,
    stop: threading.Event | None = None,
    lease_ttl_s: float = LEASE_TTL_S,
) -> TickResult:
    """One pass: schedules, triggers, then pending chains (oldest first)."""
    from loopml.pipelines import run_due

    out = TickResult()
    out.runs = run_due(workspace=ws, owner=owner)
    stats.runs_started += len(out.runs)
    out.checks = check_all(workspace=ws)
    stats.fired += sum(1 for c in out.checks if c.chain_id is not None)
    stats.suppressed += sum(1 for c in out.checks if c.verdict == "suppress")
    for chain_id in pending_chains(workspace=ws):
        if stop is not None and stop.is_set():
            break
        stats.running_chain = chain_id
        try:
            result = run_chain(
                chain_id,
                workspace=ws,
                owner=owner,
                executor=executor,
                stop=stop,
                lease_ttl_s=lease_ttl_s,
            )
        finally:
            stats.running_chain = None
        if not result.busy:
            out.chains.append(result)
        if result.outcome is not None and not result.busy:
            stats.chains[result.outcome] = stats.chains.get(result.outcome, 0) + 1
    stats.ticks += 1
    stats.last_tick_at = time.time()
    return out


def run_loop(
    *,
    once: bool = False,
    interval_s: float = 30.0,
    workspace: Workspace | None = None,
    executor: str | Executor | None = None,
    stop: threading.Event | None = None,
    stats: AgentStats | None = None,
    on_tick: Callable[[TickResult], None] | None = None,
    max_loops: int | None = None,
    lease_ttl_s: float = LEASE_TTL_S,
) -> list[TickResult]:
    """The agent: tick, sleep ``interval_s``, until ``stop`` is set (or once).

    Args:
        once: One tick, then return.
        interval_s: Seconds between ticks.
        workspace: The workspace the agent holds (default: the current one).
        executor: Pipeline executor for training (``local``, ``dask``...).
        stop: Set it (on SIGTERM) to stop: a running chain stops at its next wait and
            stays pending for the next agent; nothing is repeated.
        stats: Counters to update (the health server reads them).
        on_tick: Called after each tick.
        max_loops: Stop after this many ticks (tests).
        lease_ttl_s: Chain lease time-to-live.

    Returns:
        What each tick did (kept only with ``once`` or ``max_loops``).
    """
    if interval_s <= 0:
        raise InvalidInput("the agent interval must be positive")
    ws = workspace or current_workspace()
    stopper = stop or threading.Event()
    counters = stats or AgentStats()
    owner = new_owner()
    done: list[TickResult] = []
    loops = 0
    while not stopper.is_set():
        try:
            result = tick(
                ws,
                owner=owner,
                stats=counters,
                executor=executor,
                stop=stopper,
                lease_ttl_s=lease_ttl_s,
            )
        except Exception:
            counters.errors += 1
            if once or max_loops is not None:
                raise
            logging.getLogger("loopml.agent").exception("agent tick failed; retrying")
            stopper.wait(interval_s)
            continue
        if on_tick is not None:
            on_tick(result)
        loops += 1
        if once or max_loops is not None:
            done.append(result)
        if once or (max_loops is not None and loops >= max_loops):
            break
        stopper.wait(interval_s)
    counters.stopping = True
    return done
