"""Trigger rules (when the loop retrains) and trigger events (what each firing did)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping


class TriggerKind(StrEnum):
    """What a trigger watches; the values are stored and never change."""

    SCHEDULE = "schedule"
    """A cron expression (UTC) is due."""
    NEW_DATA = "new_data"
    """A dataset branch has a new version (or at least ``min_rows`` new rows)."""
    DRIFT = "drift"
    """A monitor window or alert is over a threshold."""
    PERFORMANCE = "performance"
    """A realised or estimated metric is below a bound."""
    UPSTREAM = "upstream"
    """An upstream model's alias points at another version."""
    MANUAL = "manual"
    """Only ``loopml triggers fire`` fires it."""


class TriggerEventKind(StrEnum):
    """What a trigger event records; the values are stored and never change."""

    FIRED = "fired"
    """The condition held (and the policy allowed it): a chain starts; its id is this event's."""
    DRY_RUN = "dry_run"
    """The condition held on a dry-run trigger: what would have run, and nothing ran."""
    SUPPRESSED = "suppressed"
    """The condition held but debounce, cool-down or the daily budget held it back."""
    STEP = "step"
    """One step of a chain started, completed or failed (``step``, ``status``)."""
    REFUSED = "refused"
    """The new data failed its schema or poisoning check: the retrain was refused (an alert)."""
    REJECTED = "rejected"
    """The candidate failed its gates: registered as rejected, never deployed."""
    APPROVAL = "approval"
    """The promotion waits for an approval (a signed webhook was sent)."""
    FINISHED = "finished"
    """The chain ended; ``status`` is its outcome (promoted, rolled_back, rejected...)."""


#: The chain outcomes a ``finished`` event carries.
CHAIN_OUTCOMES = (
    "promoted",
    "rolled_back",
    "rejected",
    "refused",
    "failed",
    "registered",
)


@dataclass(frozen=True)
class Trigger:
    """A stored trigger rule: a condition on ``model`` and the action it starts.

    ``condition`` holds the kind's settings (``cron``, ``dataset``, ``threshold``...),
    ``action`` the chain's (``pipeline``, ``params``, ``eval_data``, ``deployment``...).
    ``state`` is what the agent remembers between checks (the last version seen, since when
    the condition holds); ``revision`` makes state updates compare-and-set.
    """

    name: str
    kind: TriggerKind
    model: str
    condition: Mapping[str, Any] = field(default_factory=dict)
    action: Mapping[str, Any] = field(default_factory=dict)
    debounce_s: float = 0.0
    cooldown_s: float = 0.0
    budget_per_day: int | None = None
    dry_run: bool = False
    enabled: bool = True
    state: Mapping[str, Any] = field(default_factory=dict)
    last_fired_at_ms: int | None = None
    created_at_ms: int = 0
    created_by: str = ""
    revision: int = 1
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (``--json``)."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "model": self.model,
            "condition": dict(self.condition),
            "action": dict(self.action),
            "debounce_s": self.debounce_s,
            "cooldown_s": self.cooldown_s,
            "budget_per_day": self.budget_per_day,
            "dry_run": self.dry_run,
            "enabled": self.enabled,
            "state": dict(self.state),
            "last_fired_at_ms": self.last_fired_at_ms,
            "created_at_ms": self.created_at_ms,
            "created_by": self.created_by,
            "revision": self.revision,
            "source": self.source,
        }


@dataclass(frozen=True)
class TriggerEvent:
    """One recorded thing a trigger did; a chain is the events sharing ``chain_id``."""

    id: str
    trigger: str
    kind: TriggerEventKind
    at_ms: int
    chain_id: str | None = None
    step: str = ""
    status: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    actor: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (``--json``)."""
        return {
            "id": self.id,
            "trigger": self.trigger,
            "kind": self.kind.value,
            "at_ms": self.at_ms,
            "chain_id": self.chain_id,
            "step": self.step,
            "status": self.status,
            "detail": dict(self.detail),
            "actor": self.actor,
        }
