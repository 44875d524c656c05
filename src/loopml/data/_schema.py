"""Schemas: what a table should look like, inferred from data and editable as YAML.

``loopml.schema/1``: per column a type (integer, float, string, boolean, timestamp, date,
or an Arrow type name), nullability, a range, allowed categories, uniqueness and a regex
``pattern``, plus ``inferred``, the names of the rules that inference wrote (the others
are the user's); user checks registered by name and whether extra columns are errors.
Errors in a schema file name the file and line.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from loopml.errors import InvalidInput

FORMAT: Final = "loopml.schema/1"

#: The portable type names; any other accepted name is an Arrow type (``binary``, ...).
TYPES: Final = ("integer", "float", "string", "boolean", "timestamp", "date")
TYPES_HINT: Final = (
    f"Accepted types: {', '.join(TYPES)}, or an Arrow type name such as binary, "
    "time64 or list<item: int64>."
)
_NESTED = re.compile(
    r"^(?:(?:large_)?list(?:_view)?|fixed_size_list|struct|map|dense_union|sparse_union|"
    r"extension)<.*>(?:\[\d+\])?$|^fixed_size_binary\[\d+\]$"
)

Rule = Literal["type", "nullable", "min", "max", "allowed", "unique", "pattern"]
Origin = Literal["inferred", "user", "builtin"]
HEADER: Final = (
    "# Rules named in a column's `inferred` list came from the data (reports say origin:\n"
    "# inferred). Delete a name once you have checked or edited that rule: it is then yours.\n"
)


def type_name(dtype: pa.DataType) -> str:
    """The schema type name of an Arrow type."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_integer(dtype):
        return "integer"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "float"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "string"
    if pa.types.is_timestamp(dtype):
        return "timestamp"
    if pa.types.is_date(dtype):
        return "date"
    return str(dtype)


def type_matches(expected: str, actual: pa.DataType) -> bool:
    """True when a column of Arrow type ``actual`` satisfies the schema type ``expected``."""
    found = type_name(actual)
    return found == expected or (expected == "float" and found == "integer")


def normalise_type(value: str) -> str:
    """The schema type ``value`` names: an Arrow alias of a portable type becomes that
    type (``int64`` -> ``integer``); an unknown name raises ``unknown_type``."""
    if value in TYPES or _NESTED.match(value):
        return value
    try:
        return type_name(pa.type_for_alias(value))
    except (ValueError, KeyError):
        close = difflib.get_close_matches(value, TYPES, n=1)
        near = f" (did you mean {close[0]!r}?)" if close else ""
        raise PydanticCustomError(
            "unknown_type", "unknown type {value}{near}", {"value": repr(value), "near": near}
        ) from None


class ColumnSpec(BaseModel):
    """What one column must satisfy."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="integer, float, string, boolean, timestamp, date, ...")
    nullable: bool = True
    min: int | float | None = None
    max: int | float | None = None
    allowed: list[Any] | None = None
    unique: bool = False
    pattern: str | None = None
    drift: bool = Field(True, description="Compare this column's distribution to a reference.")
    inferred: list[Rule] = Field(
        default_factory=list, description="Rules written by inference rather than a person."
    )

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return normalise_type(value)

    def origin(self, *rules: Rule) -> Origin:
        """``inferred`` when every one of ``rules`` came from inference, else ``user``."""
        return "inferred" if rules and all(r in self.inferred for r in rules) else "user"


class CheckSpec(BaseModel):
    """A user check registered with :func:`loopml.data.register_check`."""

    model_config = ConfigDict(extra="forbid")

    name: str
    column: str | None = None
    severity: Literal["error", "warning"] = "error"
    params: dict[str, Any] = Field(default_factory=dict)


class _Flow(list[Any]):
    """A list written on one line in YAML."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


class Schema(BaseModel):
    """A table schema (format ``loopml.schema/1``); load it with :meth:`from_yaml`."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["loopml.schema/1"] = FORMAT
    columns: dict[str, ColumnSpec]
    allow_extra_columns: bool = True
    psi_threshold: float = Field(0.2, gt=0)
    checks: list[CheckSpec] = Field(default_factory=list)

    def to_yaml(self) -> str:
        """The schema as YAML, with unset fields left out."""
        data = self.model_dump(exclude_defaults=True)
        for column in data["columns"].values():
            if "inferred" in column:
                column["inferred"] = _Flow(column["inferred"])
        ordered = {"format": FORMAT, **{k: v for k, v in data.items() if k != "format"}}
        text = yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
        return HEADER + text if any(c.inferred for c in self.columns.values()) else text

    @classmethod
    def from_yaml(cls, text: str, *, label: str = "<schema>") -> Schema:
        """Parse YAML text; errors start with ``label:line``.

        Raises:
            InvalidInput: Malformed YAML, an unknown key or type, or a wrong value.
        """
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise InvalidInput(
                f"{label}{f':{line}' if line else ''}: not valid YAML "
                f"({getattr(exc, 'problem', exc)})",
                hint="Fix the YAML syntax at the line shown.",
                path=label,
                line=line,
            ) from exc
        if not isinstance(data, dict):
            raise InvalidInput(
                f"{label}: a schema is a mapping with a 'columns' key",
                hint="Start from `loopml data schema infer REF`.",
                path=label,
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _invalid(exc, root, label) from exc

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        """Read a schema YAML file."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(
                f"{path}: cannot read the schema file ({exc})",
                hint="Pass the path of a YAML file written by `loopml data schema infer`.",
                path=str(path),
            ) from exc
        return cls.from_yaml(text, label=str(path))


def _line(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """The line of the key (or list item) that ``loc`` reaches, or of its nearest parent."""
    node, line = root, 1 if root is None else root.start_mark.line + 1
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next((p for p in node.value if p[0].value == str(step)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if step >= len(node.value):
                break
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _keys_hint(loc: tuple[int | str, ...]) -> str:
    model: type[BaseModel] = Schema
    if len(loc) == 3 and loc[0] in ("columns", "checks"):
        model = ColumnSpec if loc[0] == "columns" else CheckSpec
    elif len(loc) != 1:
        return "See docs/data.md#schemas-and-validation."
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    near = f"Did you mean {close[0]!r}? " if close else ""
    what = {Schema: "a schema", ColumnSpec: "a column", CheckSpec: "a check"}[model]
    return f"{near}Accepted keys of {what}: {', '.join(known)}."


def _invalid(exc: ValidationError, root: yaml.Node | None, label: str) -> InvalidInput:
    problems: list[tuple[int, str]] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc)
        message = f"unknown key {loc[-1]!r}" if err["type"] == "extra_forbidden" else err["msg"]
        problem = (_line(root, loc), f"{where}: {message}")
        if problem not in problems:
            problems.append(problem)
    first = exc.errors()[0]
    if first["type"] == "unknown_type":
        hint = TYPES_HINT
    elif first["type"] == "extra_forbidden":
        hint = _keys_hint(tuple(first["loc"]))
    else:
        hint = "See docs/data.md#schemas-and-validation for the schema fields."
    line, text = problems[0]
    more = "; ".join(f"line {n}: {t}" for n, t in problems[1:])
    return InvalidInput(
        f"{label}:{line}: invalid schema: {text}" + (f" (also {more})" if more else ""),
        hint=hint,
        path=label,
        line=line,
    )
