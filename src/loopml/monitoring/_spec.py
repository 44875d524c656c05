"""Monitor specs: the FDR level, interval confidence and per-feature overrides.

```yaml
fdr: 0.01                 # false-discovery level across features (default 0.01)
confidence: 0.95          # bootstrap interval level
predictions: [score]      # columns that are model outputs (their own FDR family)
features:
  amount: {tests: [ks, wasserstein], min_effect: {wasserstein: 0.2}}
  hour: {kind: categorical}
  country: {threshold: {jensen_shannon: 0.2}}   # fixed, instead of calibrated
  merchant_id: {ignore: true}
```

YAML errors name ``file:line``; a Python dict of the same shape is accepted too (errors
name the key path).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import Any

from loopml.errors import InvalidMonitorSpec
from loopml.monitoring._columns import CATEGORICAL_TESTS, MIN_EFFECT, NUMERIC_TESTS

TESTS = tuple(dict.fromkeys((*NUMERIC_TESTS, *CATEGORICAL_TESTS)))
_TOP = ("fdr", "confidence", "predictions", "features")
_FEATURE = ("tests", "min_effect", "threshold", "ignore", "kind")


@dataclass(frozen=True)
class FeatureSpec:
    """Overrides for one column."""

    tests: tuple[str, ...] | None = None
    min_effect: dict[str, float] = field(default_factory=dict)
    threshold: dict[str, float] = field(default_factory=dict)
    ignore: bool = False
    kind: str | None = None


@dataclass(frozen=True)
class MonitorSpec:
    """A parsed monitor spec (see the module docstring)."""

    fdr: float = 0.01
    confidence: float = 0.95
    predictions: tuple[str, ...] = ()
    features: dict[str, FeatureSpec] = field(default_factory=dict)


@dataclass(frozen=True)
class _Loc:
    value: Any
    where: str


def _from_yaml(node: Any, source: str) -> _Loc:
    import yaml

    where = f"{source}:{node.start_mark.line + 1}"
    if isinstance(node, yaml.MappingNode):
        return _Loc(
            {
                (k.value, f"{source}:{k.start_mark.line + 1}"): _from_yaml(v, source)
                for k, v in node.value
            },
            where,
        )
    if isinstance(node, yaml.SequenceNode):
        return _Loc([_from_yaml(v, source) for v in node.value], where)
    return _Loc(yaml.SafeLoader("").construct_object(node), where)


def _from_python(obj: Any, where: str) -> _Loc:
    if isinstance(obj, dict):
        return _Loc(
            {(k, f"{where}.{k}"): _from_python(v, f"{where}.{k}") for k, v in obj.items()}, where
        )
    if isinstance(obj, list | tuple):
        return _Loc([_from_python(v, f"{where}[{i}]") for i, v in enumerate(obj)], where)
    return _Loc(obj, where)


def _fail(
    where: str, message: str, known: tuple[str, ...] = (), got: Any = None
) -> InvalidMonitorSpec:
    near = ""
    if known and isinstance(got, str):
        close = difflib.get_close_matches(got, known, n=1)
        near = f" (did you mean {close[0]!r}?)" if close else ""
    hint = f"Accepted: {', '.join(known)}." if known else "See docs/monitoring.md#monitor-specs."
    return InvalidMonitorSpec(f"{where}: {message}{near}", hint=hint, where=where)


def _mapping(
    loc: _Loc, what: str, known: tuple[str, ...] | None = None
) -> dict[tuple[str, str], _Loc]:
    if not isinstance(loc.value, dict):
        raise _fail(loc.where, f"{what} must be a mapping, got {loc.value!r}")
    for key, where in loc.value:
        if not isinstance(key, str):
            raise _fail(where, f"keys of {what} must be names, got {key!r}")
        if known is not None and key not in known:
            raise _fail(where, f"unknown key {key!r} in {what}", known, key)
    out: dict[tuple[str, str], _Loc] = loc.value
    return out


def _fraction(loc: _Loc, what: str, *, low: float = 0.0, high: float = 1.0) -> float:
    value = loc.value
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value < high:
        raise _fail(
            loc.where,
            f"{what} must be a number between {low} and {high} (exclusive), got {value!r}",
        )
    return float(value)


def _names(loc: _Loc, what: str, known: tuple[str, ...] | None = None) -> tuple[str, ...]:
    items = loc.value if isinstance(loc.value, list) else None
    if items is None:
        raise _fail(loc.where, f"{what} must be a list, got {loc.value!r}")
    out = []
    for item in items:
        if not isinstance(item.value, str) or (known is not None and item.value not in known):
            raise _fail(item.where, f"unknown {what} entry {item.value!r}", known or (), item.value)
        out.append(item.value)
    return tuple(out)


def _bounds(loc: _Loc, what: str) -> dict[str, float]:
    out = {}
    for (key, where), value in _mapping(loc, what, TESTS).items():
        if (
            isinstance(value.value, bool)
            or not isinstance(value.value, int | float)
            or value.value < 0
        ):
            raise _fail(value.where, f"{what}.{key} must be a number >= 0, got {value.value!r}")
        del where
        out[key] = float(value.value)
    return out


def _feature(loc: _Loc, name: str) -> FeatureSpec:
    found = {k: v for (k, _), v in _mapping(loc, f"features.{name}", _FEATURE).items()}
    kind = found.get("kind")
    if kind is not None and kind.value not in ("numeric", "categorical"):
        raise _fail(
            kind.where,
            f"features.{name}.kind must be numeric or categorical",
            ("numeric", "categorical"),
            kind.value,
        )
    ignore = found.get("ignore")
    if ignore is not None and not isinstance(ignore.value, bool):
        raise _fail(
            ignore.where, f"features.{name}.ignore must be true or false, got {ignore.value!r}"
        )
    return FeatureSpec(
        tests=None if "tests" not in found else _names(found["tests"], "tests", TESTS),
        min_effect={} if "min_effect" not in found else _bounds(found["min_effect"], "min_effect"),
        threshold={} if "threshold" not in found else _bounds(found["threshold"], "threshold"),
        ignore=bool(ignore.value) if ignore is not None else False,
        kind=None if kind is None else str(kind.value),
    )


def _build(root: _Loc) -> MonitorSpec:
    if root.value is None:
        return MonitorSpec()
    top = {k: v for (k, _), v in _mapping(root, "the monitor spec", _TOP).items()}
    features = {}
    if "features" in top:
        for (name, _), value in _mapping(top["features"], "features").items():
            features[name] = _feature(value, name)
    return MonitorSpec(
        fdr=_fraction(top["fdr"], "fdr") if "fdr" in top else 0.01,
        confidence=_fraction(top["confidence"], "confidence") if "confidence" in top else 0.95,
        predictions=_names(top["predictions"], "predictions") if "predictions" in top else (),
        features=features,
    )


def parse_spec(text: str, source: str = "monitor.yaml") -> MonitorSpec:
    """Parse a monitor spec from YAML text; errors name ``source:line``."""
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
    return MonitorSpec() if node is None else _build(_from_yaml(node, source))


def load_spec(spec: str | os.PathLike[str] | dict[str, Any] | MonitorSpec | None) -> MonitorSpec:
    """A spec from a YAML file path, a dict, a MonitorSpec or None (the defaults)."""
    if spec is None:
        return MonitorSpec()
    if isinstance(spec, MonitorSpec):
        return spec
    if isinstance(spec, dict):
        return _build(_from_python(spec, "spec"))
    path = os.fspath(spec)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise InvalidMonitorSpec(
            f"{path}: cannot read the monitor spec ({exc.strerror})",
            hint="Pass the path of an existing monitor.yaml.",
        ) from None
    return parse_spec(text, path)


def min_effect(spec: FeatureSpec | None, test: str) -> float:
    """The practical-significance floor of ``test`` for a column."""
    if spec is not None and test in spec.min_effect:
        return spec.min_effect[test]
    return MIN_EFFECT[test]
