"""Debounce, cool-down and the daily budget: pure rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping

    from loopml.entities import Trigger

DAY_MS = 86_400_000

Verdict = Literal["idle", "wait", "suppress", "fire"]


@dataclass(frozen=True)
class PolicyDecision:
    """What the policy says about one observation of a trigger's condition.

    ``verdict``: ``idle`` (the condition does not hold), ``wait`` (it holds, but not for
    ``debounce_s`` yet), ``suppress`` (it holds but the cool-down or the budget holds it
    back; ``reason`` says which) or ``fire``. ``state`` is the trigger's state to store.
    """

    verdict: Verdict
    reason: str = ""
    state: Mapping[str, Any] = field(default_factory=dict)


def decide(
    trigger: Trigger, *, met: bool, now_ms: int, fired_last_day: int, force: bool = False
) -> PolicyDecision:
    """Apply debounce, cool-down and budget to one observation.

    Args:
        trigger: The rule with its stored state.
        met: Whether the condition holds now.
        now_ms: The time of the observation.
        fired_last_day: How many times it fired in the 24 hours before ``now_ms``.
        force: A manual firing: debounce does not apply (cool-down and budget do).
    """
    state = dict(trigger.state)
    if not met and not force:
        state.pop("pending_since_ms", None)
        state.pop("suppressed", None)
        return PolicyDecision("idle", state=state)
    since = int(state.get("pending_since_ms") or now_ms)
    state["pending_since_ms"] = since
    last = trigger.last_fired_at_ms
    if last is not None and now_ms - last < trigger.cooldown_s * 1000:
        left = trigger.cooldown_s - (now_ms - last) / 1000
        return PolicyDecision("suppress", f"cool-down: {left:.0f}s left", state)
    if not force and now_ms - since < trigger.debounce_s * 1000:
        wait_s = trigger.debounce_s - (now_ms - since) / 1000
        return PolicyDecision("wait", f"debounce: holds {wait_s:.0f}s more", state)
    if trigger.budget_per_day is not None and fired_last_day >= trigger.budget_per_day:
        return PolicyDecision(
            "suppress", f"budget: fired {fired_last_day} of {trigger.budget_per_day} today", state
        )
    state.pop("pending_since_ms", None)
    state.pop("suppressed", None)
    return PolicyDecision("fire", state=state)
