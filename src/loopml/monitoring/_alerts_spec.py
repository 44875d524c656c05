"""Alert rules from YAML (errors at ``file:line``) or from Python dicts.

```yaml
alerts:
  - name: amount-drift
    kind: drift            # drift | metric | estimated_metric | error_rate | latency
    subject: amount        # glob on the feature / metric / percentile (default *)
    statistic: psi         # drift only: glob on the statistic (default *)
    above: 0.2             # or below: 0.8
    severity: warning      # info | warning | critical
    for: 10m               # the breach must last this long (default 0)
    cooldown: 1h           # quiet time after a resolution (default 0)
    deployment: fraud      # glob (default *)
```
"""

from __future__ import annotations

import os
import re
from typing import Any

from loopml.entities import AlertKind, AlertSeverity
from loopml.errors import InvalidInput, InvalidMonitorSpec
from loopml.monitoring._alerts import AlertRule
from loopml.monitoring._spec import _fail, _from_python, _from_yaml, _Loc, _mapping

_RULE = (
    "name",
    "kind",
    "subject",
    "statistic",
    "above",
    "below",
    "severity",
    "for",
    "cooldown",
    "deployment",
)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(value: Any, where: str = "duration") -> float:
    """Seconds from ``30``, ``30s``, ``5m``, ``1h`` or ``2d``; InvalidMonitorSpec if not."""
    if isinstance(value, bool):
        raise _fail(where, f"a duration must be seconds or 30s/5m/1h, got {value!r}")
    if isinstance(value, int | float) and value >= 0:
        return float(value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise _fail(where, f"a duration must be seconds or 30s/5m/1h/2d, got {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _text(loc: _Loc, what: str, known: tuple[str, ...] = ()) -> str:
    if not isinstance(loc.value, str) or not loc.value:
        raise _fail(loc.where, f"{what} must be a name, got {loc.value!r}", known, loc.value)
    if known and loc.value not in known:
        raise _fail(loc.where, f"unknown {what} {loc.value!r}", known, loc.value)
    return loc.value


def _number(loc: _Loc, what: str) -> float:
    if isinstance(loc.value, bool) or not isinstance(loc.value, int | float):
        raise _fail(loc.where, f"{what} must be a number, got {loc.value!r}")
    return float(loc.value)


def _rule(loc: _Loc, index: int) -> AlertRule:
    found = {k: v for (k, _), v in _mapping(loc, f"alerts[{index}]", _RULE).items()}
    for required in ("name", "kind"):
        if required not in found:
            raise _fail(loc.where, f"alerts[{index}] has no {required!r}")
    if ("above" in found) == ("below" in found):
        raise _fail(loc.where, f"alerts[{index}] needs exactly one of 'above' or 'below'")
    kinds = tuple(k.value for k in AlertKind)
    severities = tuple(s.value for s in AlertSeverity)
    try:
        return AlertRule(
            name=_text(found["name"], "name"),
            kind=_text(found["kind"], "kind", kinds),
            above=_number(found["above"], "above") if "above" in found else None,
            below=_number(found["below"], "below") if "below" in found else None,
            severity=(
                _text(found["severity"], "severity", severities)
                if "severity" in found
                else "warning"
            ),
            for_s=parse_duration(found["for"].value, found["for"].where) if "for" in found else 0,
            cooldown_s=(
                parse_duration(found["cooldown"].value, found["cooldown"].where)
                if "cooldown" in found
                else 0
            ),
            subject=_text(found["subject"], "subject") if "subject" in found else "*",
            statistic=_text(found["statistic"], "statistic") if "statistic" in found else "*",
            deployment=_text(found["deployment"], "deployment") if "deployment" in found else "*",
        )
    except InvalidMonitorSpec:
        raise
    except InvalidInput as exc:
        raise _fail(loc.where, exc.message) from None


def _build(root: _Loc) -> list[AlertRule]:
    if root.value is None:
        return []
    items = root.value
    if isinstance(items, dict):
        top = {k: v for (k, _), v in _mapping(root, "the alert rules", ("alerts",)).items()}
        if "alerts" not in top:
            return []
        root = top["alerts"]
        items = root.value
    if not isinstance(items, list):
        raise _fail(root.where, f"alerts must be a list of rules, got {items!r}")
    rules = [_rule(item, i) for i, item in enumerate(items)]
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule.name in seen:
            raise _fail(items[i].where, f"alert rule name {rule.name!r} is used twice")
        seen[rule.name] = i
    return rules


def parse_alert_rules(text: str, source: str = "alerts.yaml") -> list[AlertRule]:
    """Alert rules from YAML text (a list, or a mapping with ``alerts:``)."""
    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InvalidMonitorSpec(
            f"{source}{line}: malformed YAML: {getattr(exc, 'problem', exc)}",
            hint="Fix the YAML syntax at that line.",
        ) from None
    return [] if node is None else _build(_from_yaml(node, source))


def load_alert_rules(
    rules: str | os.PathLike[str] | list[Any] | dict[str, Any] | None,
) -> list[AlertRule]:
    """Alert rules from a YAML file path, a list/dict of the same shape, or rule objects."""
    if rules is None:
        return []
    if isinstance(rules, list) and all(isinstance(r, AlertRule) for r in rules):
        return list(rules)
    if isinstance(rules, list | dict):
        return _build(_from_python(rules, "alerts"))
    path = os.fspath(rules)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise InvalidMonitorSpec(
            f"{path}: cannot read the alert rules ({exc.strerror})",
            hint="Pass the path of an existing alerts.yaml.",
        ) from None
    return parse_alert_rules(text, path)
