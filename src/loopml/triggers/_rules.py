"""Trigger rules: parsing (YAML with file:line errors, or Python) and storing them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from loopml.entities import Trigger, TriggerKind
from loopml.errors import InvalidTrigger
from loopml.workspace import Workspace, current_workspace
from loopml.yaml_lines import yaml_lines

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Settings each kind's condition accepts; the first tuple is required.
CONDITION_KEYS: dict[TriggerKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    TriggerKind.SCHEDULE: (("cron",), ()),
    TriggerKind.NEW_DATA: (("dataset",), ("min_rows",)),
    TriggerKind.DRIFT: (("threshold",), ("source", "reference", "window_rows", "columns")),
    TriggerKind.PERFORMANCE: (("metric", "min"), ("source", "window_rows")),
    TriggerKind.UPSTREAM: (("upstream",), ()),
    TriggerKind.MANUAL: ((), ()),
}

#: What an action accepts (see docs/triggers.md for each).
ACTION_KEYS = frozenset(
    {
        "pipeline",
        "train",
        "params",
        "dataset",
        "data_param",
        "since_param",
        "window_days",
        "incremental",
        "eval_data",
        "target",
        "gates",
        "deployment",
        "steps",
        "analysis",
        "rollout",
        "rollout_timeout_s",
        "approval_timeout_s",
        "poll_s",
        "webhook",
        "data_check",
    }
)

RULE_KEYS = frozenset(
    {
        "name",
        "kind",
        "model",
        "condition",
        "action",
        "debounce_s",
        "cooldown_s",
        "budget_per_day",
        "dry_run",
        "enabled",
    }
)


@dataclass(frozen=True)
class _Where:
    source: str
    lines: Mapping[tuple[Any, ...], int] | None

    def fail(self, path: tuple[Any, ...], message: str, hint: str | None = None) -> NoReturn:
        line = None
        if self.lines is not None:
            probe = path
            while probe not in self.lines and probe:
                probe = probe[:-1]
            line = self.lines.get(probe)
        where = f"{self.source}:{line}" if line is not None else self.source
        raise InvalidTrigger(
            f"{where}: {message}",
            hint=hint or "See docs/triggers.md for the rule format.",
            line=line,
        )


def _number(where: _Where, path: tuple[Any, ...], value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        where.fail(path, f"{path[-1]} must be a number >= 0, got {value!r}")
    return float(value)


def _check_condition(
    kind: TriggerKind, condition: Any, where: _Where, path: tuple[Any, ...]
) -> dict[str, Any]:
    if not isinstance(condition, dict):
        where.fail(path, f"condition must be a mapping, got {condition!r}")
    required, optional = CONDITION_KEYS[kind]
    for key in condition:
        if key not in required and key not in optional:
            allowed = ", ".join((*required, *optional)) or "nothing"
            where.fail((*path, key), f"unknown {kind.value} setting {key!r} (allowed: {allowed})")
    for key in required:
        if key not in condition:
            where.fail(path, f"a {kind.value} trigger needs condition.{key}")
    if kind is TriggerKind.SCHEDULE:
        from croniter import croniter

        if not isinstance(condition["cron"], str) or not croniter.is_valid(condition["cron"]):
            where.fail(
                (*path, "cron"),
                f"invalid cron expression {condition['cron']!r}",
                hint='Use five fields: minute hour day month weekday, e.g. "0 2 * * *".',
            )
    for key in ("threshold", "min", "min_rows", "window_rows"):
        if key in condition:
            _number(where, (*path, key), condition[key])
    for key in ("source",):
        if key in condition and (not isinstance(condition[key], str) or ":" not in condition[key]):
            where.fail((*path, key), f"{key} must be 'module:attr', got {condition[key]!r}")
    return dict(condition)


def _check_action(action: Any, where: _Where, path: tuple[Any, ...]) -> dict[str, Any]:
    if not isinstance(action, dict):
        where.fail(path, f"action must be a mapping, got {action!r}")
    for key in action:
        if key not in ACTION_KEYS:
            where.fail(
                (*path, key),
                f"unknown action setting {key!r}",
                hint=f"Allowed: {', '.join(sorted(ACTION_KEYS))}.",
            )
    if "pipeline" in action and "train" in action:
        where.fail(path, "give action.pipeline or action.train, not both")
    for key in ("pipeline", "train", "rollout"):
        if key in action and (not isinstance(action[key], str) or ":" not in action[key]):
            where.fail((*path, key), f"{key} must be 'module:attr', got {action[key]!r}")
    if "params" in action and not isinstance(action["params"], dict):
        where.fail((*path, "params"), "params must be a mapping")
    for key in ("rollout_timeout_s", "approval_timeout_s", "poll_s", "window_days"):
        if key in action:
            _number(where, (*path, key), action[key])
    return dict(action)


def parse_rule(data: Any, where: _Where, path: tuple[Any, ...] = ()) -> Trigger:
    """One rule (a mapping) as a :class:`Trigger`; InvalidTrigger (file:line) when wrong."""
    if not isinstance(data, dict):
        where.fail(path, f"a trigger rule must be a mapping, got {data!r}")
    for key in data:
        if key not in RULE_KEYS:
            where.fail(
                (*path, key),
                f"unknown trigger setting {key!r}",
                hint=f"Allowed: {', '.join(sorted(RULE_KEYS))}.",
            )
    for key in ("name", "kind", "model"):
        if not isinstance(data.get(key), str) or not data[key]:
            where.fail(path, f"a trigger rule needs {key} (text)")
    try:
        kind = TriggerKind(data["kind"])
    except ValueError:
        where.fail(
            (*path, "kind"),
            f"unknown trigger kind {data['kind']!r}",
            hint=f"Use one of {', '.join(k.value for k in TriggerKind)}.",
        )
    budget = data.get("budget_per_day")
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, int) or budget < 0
    ):
        where.fail(
            (*path, "budget_per_day"), f"budget_per_day must be an integer >= 0, got {budget!r}"
        )
    for key in ("dry_run", "enabled"):
        if key in data and not isinstance(data[key], bool):
            where.fail((*path, key), f"{key} must be true or false, got {data[key]!r}")
    return Trigger(
        name=data["name"],
        kind=kind,
        model=data["model"],
        condition=_check_condition(kind, data.get("condition", {}), where, (*path, "condition")),
        action=_check_action(data.get("action", {}), where, (*path, "action")),
        debounce_s=_number(where, (*path, "debounce_s"), data.get("debounce_s", 0)),
        cooldown_s=_number(where, (*path, "cooldown_s"), data.get("cooldown_s", 0)),
        budget_per_day=budget,
        dry_run=bool(data.get("dry_run", False)),
        enabled=bool(data.get("enabled", True)),
        source=where.source,
    )


def load_rules(spec: str | os.PathLike[str] | Mapping[str, Any]) -> list[Trigger]:
    """Parse trigger rules from a YAML file (``triggers:`` list, or one rule) or a mapping.

    Raises:
        InvalidTrigger: A rule is malformed; the message starts with file:line.
    """
    if isinstance(spec, str | os.PathLike):
        import yaml

        path = Path(spec)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidTrigger(
                f"cannot read trigger rules {path}: {exc.strerror or exc}",
                hint="Give the path of a triggers YAML file.",
            ) from exc
        try:
            data = yaml.safe_load(text)
            where = _Where(str(path), yaml_lines(text))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            raise InvalidTrigger(
                f"{path}:{line}: not valid YAML ({getattr(exc, 'problem', exc)})",
                hint="Fix the YAML syntax.",
                line=line,
            ) from exc
    else:
        data, where = dict(spec), _Where("<dict>", None)
    if isinstance(data, dict) and "triggers" in data:
        rules = data["triggers"]
        if not isinstance(rules, list):
            where.fail(("triggers",), "triggers must be a list of rules")
        return [parse_rule(rule, where, ("triggers", i)) for i, rule in enumerate(rules)]
    return [parse_rule(data, where)]


def add_trigger(
    name: str,
    kind: TriggerKind | str,
    model: str,
    *,
    condition: Mapping[str, Any] | None = None,
    action: Mapping[str, Any] | None = None,
    debounce_s: float = 0.0,
    cooldown_s: float = 0.0,
    budget_per_day: int | None = None,
    dry_run: bool = False,
    workspace: Workspace | None = None,
) -> Trigger:
    """Define and store a trigger from Python (checked like a YAML rule).

    Raises:
        InvalidTrigger: A setting is wrong.
        Conflict: A trigger with that name exists.
    """
    rule = parse_rule(
        {
            "name": name,
            "kind": str(kind),
            "model": model,
            "condition": dict(condition or {}),
            "action": dict(action or {}),
            "debounce_s": debounce_s,
            "cooldown_s": cooldown_s,
            "budget_per_day": budget_per_day,
            "dry_run": dry_run,
        },
        _Where("<python>", None),
    )
    return save_trigger(rule, workspace=workspace)


def save_trigger(rule: Trigger, *, workspace: Workspace | None = None) -> Trigger:
    """Store a parsed rule; Conflict if its name is taken."""
    ws = workspace or current_workspace()
    return ws.store.create_trigger(rule, actor=ws.actor.name)


def get_trigger(name: str, *, workspace: Workspace | None = None) -> Trigger:
    """The stored trigger ``name`` (NotFound if absent)."""
    return (workspace or current_workspace()).store.get_trigger(name)


def list_triggers(*, workspace: Workspace | None = None) -> list[Trigger]:
    """Every stored trigger, by name."""
    return (workspace or current_workspace()).store.list_triggers()


def remove_trigger(name: str, *, workspace: Workspace | None = None) -> Trigger:
    """Delete a trigger (its events stay); NotFound if absent."""
    ws = workspace or current_workspace()
    return ws.store.delete_trigger(name, actor=ws.actor.name)
