"""Loading definitions: ``features.yaml`` (errors at file:line) or a Python file.

```yaml
online_store: sqlite            # or redis://127.0.0.1:6379/0
entities:
  - name: user
    keys: {user_id: int64}
feature_views:
  - name: user_stats
    entities: [user]
    source: transactions@main   # a dataset version, or a Parquet/CSV file (relative here)
    event_timestamp: ts
    created_timestamp: created
    ttl: 7d
    features:
      - {name: amount, dtype: float64}
      - {name: amount_usd, expr: "amount * 1.1"}
on_demand_feature_views:
  - name: ratios
    sources: [user_stats]
    request: {amount_now: float64}
    features: [{name: ratio, expr: "amount_now / nullif(amount, 0)"}]
feature_services:
  - name: fraud_v1
    features: [user_stats, ratios:ratio]
```
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidFeatureDefinition
from loopml.features._defs import (
    Definitions,
    Entity,
    FeatureService,
    FeatureView,
    Field,
    OnDemandFeatureView,
)

if TYPE_CHECKING:
    import os

    import yaml

_SECTIONS = ("entities", "feature_views", "on_demand_feature_views", "feature_services")
_FIELD_KEYS = ("name", "dtype", "expr", "description")
_COMMON = ("name", "description", "owners", "tags")
_KEYS: dict[str, tuple[str, ...]] = {
    "entities": (*_COMMON, "keys"),
    "feature_views": (
        *_COMMON,
        "entities",
        "source",
        "features",
        "event_timestamp",
        "created_timestamp",
        "ttl",
        "transform",
        "online",
    ),
    "on_demand_feature_views": (*_COMMON, "sources", "request", "features", "transform"),
    "feature_services": (*_COMMON, "features"),
}


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def where(self, node: yaml.Node) -> str:
        return f"{self.source}:{node.start_mark.line + 1}"

    def fail(self, node: yaml.Node, message: str, hint: str) -> InvalidFeatureDefinition:
        where = self.where(node)
        return InvalidFeatureDefinition(f"{where}: {message}", hint=hint, location=where)

    def mapping(self, node: yaml.Node, what: str, known: tuple[str, ...]) -> dict[str, Any]:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping", "Write `key: value` lines.")
        out: dict[str, Any] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in known:
                raise self.fail(
                    key, f"unknown key {name!r} in {what}", f"Use one of: {', '.join(known)}."
                )
            if name in out:
                raise self.fail(key, f"{name!r} is given twice in {what}", "Keep one.")
            out[name] = value
        return out

    def items(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        import yaml

        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list", "Write `- item` lines.")
        return list(node.value)

    def plain(self, node: yaml.Node) -> Any:
        import yaml

        return yaml.safe_load(yaml.serialize(node))

    def strings(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        value = self.plain(node)
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(node, f"{what} must be a name or a list of names", "e.g. [a, b].")
        return tuple(value)

    def table(self, node: yaml.Node, what: str) -> dict[str, str]:
        value = self.plain(node)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.fail(node, f"{what} must map names to types", "e.g. {user_id: int64}.")
        return {str(k): v for k, v in value.items()}

    def text(self, node: yaml.Node | None, what: str, default: str | None = None) -> Any:
        if node is None:
            return default
        value = self.plain(node)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.fail(node, f"{what} must be text, got {value!r}", "Quote it.")
        return value

    def fields(self, node: yaml.Node, what: str) -> tuple[Field, ...]:
        import yaml

        out = []
        for item in self.items(node, f"{what} features"):
            if isinstance(item, yaml.ScalarNode):
                out.append(Field(name=item.value, location=self.where(item)))
                continue
            spec = self.mapping(item, "a feature", _FIELD_KEYS)
            if "name" not in spec:
                raise self.fail(item, "a feature has no name", "Add `name:`.")
            out.append(
                Field(
                    name=self.text(spec["name"], "name"),
                    dtype=self.text(spec.get("dtype"), "dtype", "float64"),
                    expr=self.text(spec.get("expr"), "expr"),
                    description=self.text(spec.get("description"), "description", ""),
                    location=self.where(spec["name"]),
                )
            )
        return tuple(out)

    def common(self, spec: dict[str, Any], what: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.text(spec["name"], "name"),
            "description": self.text(spec.get("description"), "description", ""),
        }
        if "owners" in spec:
            out["owners"] = self.strings(spec["owners"], f"{what} owners")
        if "tags" in spec:
            out["tags"] = self.table(spec["tags"], f"{what} tags")
        return out

    def definition(self, section: str, node: yaml.Node) -> Any:
        what = section.rstrip("s").replace("_", " ")
        spec = self.mapping(node, f"a {what}", _KEYS[section])
        if "name" not in spec:
            raise self.fail(node, f"a {what} has no name", "Add `name:`.")
        base = self.common(spec, what)
        base["location"] = self.where(node)
        required = {
            "entities": ("keys",),
            "feature_views": ("entities", "source", "features"),
            "on_demand_feature_views": ("sources", "features"),
            "feature_services": ("features",),
        }[section]
        for key in required:
            if key not in spec:
                raise self.fail(node, f"{what} {base['name']!r} has no {key}", f"Add `{key}:`.")
        if section == "entities":
            return Entity(keys=self.table(spec["keys"], "keys"), **base)
        if section == "feature_services":
            return FeatureService(features=self.strings(spec["features"], "features"), **base)
        if section == "on_demand_feature_views":
            return OnDemandFeatureView(
                sources=self.strings(spec["sources"], "sources"),
                features=self.fields(spec["features"], what),
                request=self.table(spec["request"], "request") if "request" in spec else {},
                transform=self.text(spec.get("transform"), "transform"),
                **base,
            )
        online = self.plain(spec["online"]) if "online" in spec else True
        if not isinstance(online, bool):
            raise self.fail(spec["online"], "online must be true or false", "Write true/false.")
        ttl = self.plain(spec["ttl"]) if "ttl" in spec else None
        return FeatureView(
            entities=self.strings(spec["entities"], "entities"),
            source=self.text(spec["source"], "source"),
            features=self.fields(spec["features"], what),
            event_timestamp=self.text(spec.get("event_timestamp"), "event_timestamp", ""),
            created_timestamp=self.text(spec.get("created_timestamp"), "created_timestamp"),
            ttl=ttl,
            transform=self.text(spec.get("transform"), "transform"),
            online=online,
            **base,
        )


def parse_definitions(text: str, source: str = "features.yaml") -> Definitions:
    """Definitions from YAML text; every error names ``source:line``.

    A feature view without ``event_timestamp`` is refused (there is no default in YAML:
    a training set without event times cannot be point-in-time correct).
    """
    import yaml

    reader = _Reader(source)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InvalidFeatureDefinition(
            f"{source}{line}: malformed YAML: {getattr(exc, 'problem', exc)}",
            hint="Fix the YAML syntax at that line (see docs/features.md).",
            location=f"{source}{line}",
        ) from exc
    if root is None:
        return Definitions(source_path=source)
    top = reader.mapping(root, "features.yaml", (*_SECTIONS, "online_store"))
    found: dict[str, list[Any]] = {}
    for section in _SECTIONS:
        nodes = reader.items(top[section], section) if section in top else []
        found[section] = [reader.definition(section, node) for node in nodes]
    return Definitions(
        entities=tuple(found["entities"]),
        views=tuple(found["feature_views"]),
        on_demand=tuple(found["on_demand_feature_views"]),
        services=tuple(found["feature_services"]),
        online_store=reader.text(top.get("online_store"), "online_store"),
        source_path=source,
    )


def load_python(path: Path) -> Definitions:
    """Definitions made at the top level of a Python file (imported as its own module)."""
    name = f"loopml_features_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidFeatureDefinition(f"{path}: cannot import", hint="Pass a .py or .yaml file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    values = list(vars(module).values())
    return Definitions(
        entities=tuple(v for v in values if isinstance(v, Entity)),
        views=tuple(v for v in values if isinstance(v, FeatureView)),
        on_demand=tuple(v for v in values if isinstance(v, OnDemandFeatureView)),
        services=tuple(v for v in values if isinstance(v, FeatureService)),
        online_store=getattr(module, "ONLINE_STORE", None),
        source_path=str(path),
    )


def load_definitions(path: str | os.PathLike[str] = "features.yaml") -> Definitions:
    """Definitions from a features.yaml, a Python file, or a folder holding features.yaml.

    Raises:
        InvalidFeatureDefinition: The file cannot be read or a definition is wrong
            (the message starts with file:line).
    """
    target = Path(path)
    if target.is_dir():
        target = target / "features.yaml"
    if target.suffix == ".py":
        return load_python(target)
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidFeatureDefinition(
            f"{target}: cannot read ({exc.strerror})",
            hint="Pass the path of a features.yaml or a Python file of definitions.",
            location=str(target),
        ) from exc
    return parse_definitions(text, str(target))
