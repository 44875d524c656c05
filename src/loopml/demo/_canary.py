"""The canary phase of the demo's chain, and the reviewer who approves the promotion.

The chain's ``canary`` step creates the canary deployment (``fraud-v<N>``: the champion as
the stable arm, the candidate stepping up) and calls the rule's ``action.rollout`` every
``poll_s`` seconds until the deployment is decided. :func:`rollout_tick` is that
callable: on its first call it starts ``loopml serve --deployment NAME``'s router for the
canary in this process (it routes by the stored weights and logs arm and version with
every prediction) and moves the traffic there; then each call sends a stretch of traffic
and runs one tick of the rollout controller, :func:`loopml.deploy.step_rollout`, which
judges the arms from the prediction log and steps up, rolls back or promotes.

The chain names its callables by import path, so the demo's traffic and servers reach
them through :data:`ACTIVE`, set while the demo's loop runs.

:class:`Reviewer` is the human in the loop: a loopback webhook receiver that checks the
signature of the chain's ``approval_requested`` event and approves the request as a
second person (the promotion policy asks for one approval).
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from loopml import deploy, registry
from loopml.demo._serve import Server
from loopml.serving import create_deployment_app
from loopml.webhooks import verify_signature

if TYPE_CHECKING:
    from contextlib import ExitStack

    from loopml.demo._traffic import Traffic
    from loopml.registry import Actor
    from loopml.workspace import Workspace


@dataclass
class CanaryDriver:
    """The demo's servers and traffic, as the canary step sees them."""

    ws: Workspace
    traffic: Traffic
    servers: ExitStack
    chunk: int
    say: Any
    routers: dict[str, str] = field(default_factory=dict)
    ticks: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0

    def serve(self, deployment: str) -> str:
        """Start the router of ``deployment`` (once) and send the traffic there."""
        if deployment not in self.routers:
            app = create_deployment_app(deployment, workspace=self.ws, refresh_s=0.25)
            server = self.servers.enter_context(Server(app))
            self.routers[deployment] = server.url
        self.traffic.url = self.routers[deployment]
        return self.routers[deployment]

    def tick(self, deployment: str, workspace: Workspace) -> None:
        """Send a stretch of traffic through the canary's router, then one controller tick."""
        if deployment not in self.routers:
            url = self.serve(deployment)
            self.say(f"canary {deployment}: router on {url}, traffic moved to it")
        if self.traffic.remaining:
            self.rows += self.traffic.send(self.chunk)
        result = deploy.step_rollout(deployment, workspace=workspace)
        dep = deploy.get(deployment, workspace=workspace)
        weights = {a.name: a.weight for a in dep.arms}
        if result.action not in ("wait",):
            self.say(f"canary {deployment}: {result.action} ({result.reason}); weights {weights}")
        self.ticks.append(
            {
                "action": result.action,
                "reason": result.reason,
                "weights": weights,
                "rows": self.rows,
            }
        )


ACTIVE: dict[str, CanaryDriver] = {}


def rollout_tick(name: str, *, workspace: Workspace) -> None:
    """The chain's ``action.rollout``: one stretch of canary traffic and a controller tick."""
    driver = ACTIVE.get("driver")
    if driver is None:
        raise RuntimeError(
            "the demo's canary driver is not running; this rollout callable belongs to "
            "`loopml demo`"
        )
    driver.tick(name, workspace)


class Reviewer:
    """A loopback webhook receiver that approves promotion requests it can verify."""

    def __init__(self, ws: Workspace, actor: Actor) -> None:
        self.ws = ws
        self.actor = actor
        self.secret = secrets.token_hex(16)
        self.approved: list[str] = []
        self.received: list[dict[str, Any]] = []
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        reviewer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ok = verify_signature(body, dict(self.headers), reviewer.secret)
                self.send_response(204 if ok else 401)
                self.end_headers()
                if ok:
                    reviewer._inbox.put(json.loads(body))

            def log_message(self, *args: Any) -> None:
                return

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/approvals"
        self._threads = [
            threading.Thread(target=self._http.serve_forever, name="demo-webhook", daemon=True),
            threading.Thread(target=self._work, name="demo-reviewer", daemon=True),
        ]

    def _work(self) -> None:
        while (payload := self._inbox.get()) is not None:
            self.received.append(payload)
            request = str(payload.get("request") or "")
            if request:
                registry.approve(
                    request,
                    comment="demo reviewer: canary analysis green, gates passed",
                    store=self.ws.store,
                    actor=self.actor,
                )
                self.approved.append(request)

    def __enter__(self) -> Reviewer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inbox.put(None)
        self._http.shutdown()
        self._http.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
