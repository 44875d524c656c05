"""After the loop: why the new champion is in production, is it ready, what the agent shows.

:func:`lineage_story` walks the new champion's lineage upstream (what ``loopml lineage
show models:/fraud@champion`` prints) and keeps the edges from the monitor window to the
alert, to the trigger event, to the model version; :func:`agent_gauges` scrapes the agent's
``/metrics`` over HTTP for the monitor's gauge lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from loopml import lineage, registry, triggers
from loopml.ids import ObjectKind, ObjectRef

if TYPE_CHECKING:
    from pathlib import Path

    from loopml.workspace import Workspace

GAUGE_PREFIXES = ("loopml_monitor_drift{", "loopml_monitor_drift_alarm{", "loopml_monitor_metric{")


@dataclass(frozen=True)
class LineageStory:
    """The champion's upstream edges, nearest first, as ``src -relation-> dst`` lines;
    ``through_pipeline``: an alert lies upstream of the pipeline run that made it."""

    champion: str
    edges: tuple[str, ...]
    kinds: tuple[str, ...]

    through_pipeline: bool = False

    @property
    def reaches_alert(self) -> bool:
        """Whether the walk reaches the alert that started the chain."""
        return ObjectKind.ALERT.value in self.kinds


def lineage_story(ws: Workspace, model: str) -> LineageStory:
    """The upstream lineage of ``model@champion``."""
    champion = registry.get_version(f"{model}@champion", store=ws.store)
    nodes = lineage.upstream(ObjectRef(ObjectKind.MODEL_VERSION, champion.id), store=ws.store)
    edges = []
    kinds = []
    sources: dict[ObjectRef, set[ObjectRef]] = {}
    for node in sorted(nodes, key=lambda n: n.depth):
        src, dst = node.edge.src, node.edge.dst
        indent = "  " * (node.depth - 1)
        edges.append(f"{indent}{src.kind}:{src.id} -{node.edge.relation}-> {dst.kind}:{dst.id}")
        kinds.append(src.kind)
        sources.setdefault(dst, set()).add(src)
    made_by = ObjectKind.PIPELINE_RUN.value
    pipeline_runs = {src for srcs in sources.values() for src in srcs if src.kind == made_by}
    through = any(_reaches(sources, run, ObjectKind.ALERT.value) for run in pipeline_runs)
    return LineageStory(f"{model}/{champion.number}", tuple(edges), tuple(kinds), through)


def _reaches(sources: dict[ObjectRef, set[ObjectRef]], start: ObjectRef, kind: str) -> bool:
    """Whether an object of ``kind`` lies upstream of ``start`` in ``sources``."""
    seen, todo = {start}, [start]
    while todo:
        for src in sources.get(todo.pop(), ()):
            if src.kind == kind:
                return True
            if src not in seen:
                seen.add(src)
                todo.append(src)
    return False


def readiness_items(ws: Workspace, model: str, card: Path) -> triggers.Readiness:
    """The readiness checklist of ``model@champion`` (its card written first and named by
    the version's ``loopml.card`` tag, so ``loopml readiness`` finds it too)."""
    registry.model_card(f"{model}@champion", out=card, store=ws.store, artifacts=ws.artifacts)
    champion = registry.get_version(f"{model}@champion", store=ws.store)
    registry.update_version(
        model,
        champion.number,
        tags={**champion.tags, "loopml.card": str(card.resolve())},
        store=ws.store,
        actor=ws.actor,
    )
    return triggers.readiness(f"models:/{model}@champion", card=card, workspace=ws)


def agent_gauges(stats: triggers.AgentStats, ws: Workspace) -> tuple[str, list[str]]:
    """Serve the agent's health on a free loopback port, scrape ``/metrics`` once."""
    server = triggers.serve_health(stats, 0, workspace=ws)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        text = httpx.get(url, timeout=30).text
    finally:
        server.shutdown()
        server.server_close()
    lines = [line for line in text.splitlines() if line.startswith(GAUGE_PREFIXES)]
    return url, lines
