"""Schemas: what a table should look like, inferred from data and editable as YAML.

``loopml.schema/1``: per column a type (integer, float, string, boolean, timestamp, date,
or an Arrow type name), nullability, a range, allowed categories, uniqueness and a regex
``pattern``; plus user checks registered by name and whether extra columns are errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loopml.errors import InvalidInput

FORMAT: Final = "loopml.schema/1"
MAX_CATEGORIES = 50

#: Candidate patterns tried, in order, when inferring a string column's ``pattern``.
PATTERNS = [
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
    r"^\d{4}-\d{2}-\d{2}$",
    r"^\d+$",
    r"^[0-9a-f]+$",
    r"^[A-Z]{2,}$",
    r"^[A-Z]+-\d+$",
    r"^[A-Za-z0-9_-]+$",
]


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


class CheckSpec(BaseModel):
    """A user check registered with :func:`loopml.data.register_check`."""

    model_config = ConfigDict(extra="forbid")

    name: str
    column: str | None = None
    severity: Literal["error", "warning"] = "error"
    params: dict[str, Any] = Field(default_factory=dict)


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
        data["format"] = FORMAT
        ordered = {"format": FORMAT, **{k: v for k, v in data.items() if k != "format"}}
        return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str, *, label: str = "<schema>") -> Schema:
        """Parse YAML text; errors name ``label`` and the line or field."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            where = f"{label}, line {line}" if line else label
            raise InvalidInput(
                f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})",
                hint="Fix the YAML syntax at the line shown.",
                path=label,
                line=line,
            ) from exc
        if not isinstance(data, dict):
            raise InvalidInput(
                f"{label}: a schema is a mapping with a 'columns' key",
                hint="Start from `loopml data schema infer REF`.",
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise InvalidInput(
                f"{label}: invalid schema ({problems})",
                hint="See docs/data.md for the schema fields.",
                path=label,
            ) from exc

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


def _pattern(values: pa.ChunkedArray) -> str | None:
    sample = values.drop_null()
    if len(sample) == 0:
        return None
    for pattern in PATTERNS:
        if pc.all(pc.match_substring_regex(sample, pattern)).as_py():
            return pattern
    return None


def infer_schema(table: pa.Table, profile: dict[str, Any]) -> Schema:
    """Infer a schema from a table and its profile (see the module docstring).

    Ranges are the observed min and max; a string column with at most 50 distinct values
    (and fewer than half its rows) gets ``allowed``; a column with no nulls whose values are
    all distinct is ``unique``; a string column whose values all match one of
    :data:`PATTERNS` gets that ``pattern``.
    """
    columns: dict[str, ColumnSpec] = {}
    for name in table.column_names:
        stats = profile["columns"][name]
        dtype = table.schema.field(name).type
        spec = ColumnSpec(type=type_name(dtype), nullable=stats["nulls"] > 0)
        count, distinct = stats["count"], stats.get("distinct")
        if spec.type in ("integer", "float") and stats.get("min") is not None:
            low, high = stats["min"], stats["max"]
            if spec.type == "integer":
                low, high = int(low), int(high)
            spec.min, spec.max = low, high
        if spec.type == "string" and distinct is not None:
            if distinct <= MAX_CATEGORIES and distinct * 2 <= count:
                spec.allowed = sorted(str(t["value"]) for t in stats["top"])
                if distinct > len(spec.allowed):  # more than the top-k: read them all
                    spec.allowed = sorted(pc.unique(table.column(name).drop_null()).to_pylist())
            else:
                column = table.column(name)
                if pa.types.is_dictionary(column.type):
                    column = column.cast(column.type.value_type)
                spec.pattern = _pattern(column)
        if (
            spec.type in ("integer", "string")
            and not spec.nullable
            and count > 1
            and distinct == count
        ):
            spec.unique = True
        columns[name] = spec
    return Schema(columns=columns)
