"""``drift(reference, current)``: resolve both sides, run each column's tests, correct
across features (Benjamini–Hochberg), and decide with the practical-significance floor."""

from __future__ import annotations

import os
import zlib
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput, NotFound
from loopml.monitoring._report import DriftReport, FeatureDrift, TestResult
from loopml.monitoring._spec import MonitorSpec, load_spec, min_effect

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa

    from loopml.workspace import Workspace


def _as_table(obj: Any) -> pa.Table | None:
    import pyarrow as pa

    if isinstance(obj, pa.Table):
        return obj
    try:
        import pandas as pd  # type: ignore[import-untyped, unused-ignore]
    except ImportError:  # pragma: no cover - pandas is a dependency
        return None
    if isinstance(obj, pd.DataFrame):
        return pa.Table.from_pandas(obj, preserve_index=False)
    return None


def _model_profile(uri: str, workspace: Workspace | None) -> dict[str, Any]:
    """The stored profile of the dataset version a model version was trained on."""
    from loopml import data, lineage
    from loopml.ids import ObjectKind, ObjectRef
    from loopml.registry import get_version
    from loopml.workspace import current_workspace

    ws = workspace or current_workspace()
    version = get_version(uri, store=ws.store)
    nodes = lineage.upstream(ObjectRef(ObjectKind.MODEL_VERSION, version.id), 20, store=ws.store)
    found = [n.edge.src for n in nodes if n.edge.src.kind == ObjectKind.DATASET_VERSION]
    trained = [
        n.edge.src
        for n in nodes
        if n.edge.src.kind == ObjectKind.DATASET_VERSION
        and n.edge.relation == lineage.Relation.TRAINED_ON
    ]
    chosen = (trained or found)[:1]
    if not chosen:
        raise NotFound(
            "training data version",
            uri,
            hint="Record the data with run.log_input(dataset_version, relation='trained_on'), "
            "or pass the dataset reference as REFERENCE.",
        )
    store = ws.store
    dv = store.get_version(chosen[0].id)
    name = next(d.name for d in store.list_datasets() if d.id == dv.dataset_id)
    return data.profile(f"{name}@{dv.id}", repo=data.repo_for(ws))


def resolve_reference(reference: Any, workspace: Workspace | None) -> tuple[dict[str, Any], str]:
    """The reference as a ``loopml.profile/1`` profile, and a description of it."""
    from loopml import data

    if isinstance(reference, dict):
        if reference.get("format") != data.PROFILE_FORMAT:
            raise InvalidInput(
                f"reference profile has format {reference.get('format')!r}",
                hint=f"Pass a {data.PROFILE_FORMAT} profile (loopml.data.profile(ref)).",
            )
        return reference, "profile"
    table = _as_table(reference)
    if table is not None:
        return data.profile_table(table), "dataframe"
    if not isinstance(reference, str | os.PathLike):
        raise InvalidInput(
            f"cannot use a {type(reference).__name__} as the drift reference",
            hint="Pass a dataset ref NAME@REF, models:/NAME@ALIAS, a table file, a stored "
            "profile dict or a DataFrame.",
        )
    text = os.fspath(reference)
    if text.startswith("models:/"):
        return _model_profile(text, workspace), text
    if os.path.isfile(text) and text.endswith(".json"):
        import json

        with open(text, encoding="utf-8") as handle:
            return resolve_reference(json.load(handle), workspace)[0], text
    if os.path.isfile(text):
        return data.profile_table(_local(text)), text
    return data.profile(text, repo=data.repo_for(workspace)), text


class _Window:
    """The window's columns as Arrow, a DataFrame's converted one at a time on demand, so
    the process never holds a second copy of the whole window (the peak stays at the
    frame plus one column)."""

    def __init__(self, table: pa.Table | None = None, frame: Any = None) -> None:
        self._table, self._frame = table, frame
        source = table if table is not None else frame
        self.column_names: list[str] = [
            str(c) for c in (source.column_names if table is not None else frame.columns)
        ]
        self.num_rows: int = table.num_rows if table is not None else len(frame)

    def column(self, name: str) -> pa.ChunkedArray:
        if self._table is not None:
            return self._table.column(name)
        import pyarrow as pa

        return pa.Table.from_pandas(self._frame[[name]], preserve_index=False).column(0)

    def select(self, names: Sequence[str]) -> pa.Table:
        if self._table is not None:
            return self._table.select(list(names))
        import pyarrow as pa

        return pa.Table.from_pandas(self._frame[list(names)], preserve_index=False)


def _window(current: Any, workspace: Workspace | None) -> tuple[_Window, str]:
    try:
        import pandas as pd  # type: ignore[import-untyped, unused-ignore]
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(current, pd.DataFrame):
        return _Window(frame=current), "dataframe"
    table, name = resolve_current(current, workspace)
    return _Window(table=table), name


def resolve_current(current: Any, workspace: Workspace | None) -> tuple[pa.Table, str]:
    """The window as an Arrow table, and a description of it."""
    from loopml import data

    table = _as_table(current)
    if table is not None:
        return table, "dataframe"
    if not isinstance(current, str | os.PathLike):
        raise InvalidInput(
            f"cannot use a {type(current).__name__} as the drift window",
            hint="Pass a DataFrame, an Arrow table, a table file or a dataset ref NAME@REF.",
        )
    text = os.fspath(current)
    if os.path.isfile(text):
        return _local(text), text
    return data.load_table(text, as_="arrow", repo=data.repo_for(workspace)), text


def _local(path: str) -> pa.Table:
    import pyarrow.csv as csv
    import pyarrow.parquet as pq

    if path.endswith((".parquet", ".pq")):
        return pq.read_table(path)
    if path.endswith((".csv", ".tsv")):
        options = csv.ParseOptions(delimiter="\t" if path.endswith(".tsv") else ",")
        return csv.read_csv(path, parse_options=options)
    raise InvalidInput(f"{path}: not a table file (by its suffix)", hint="Use .parquet or .csv.")


def _column_kind(entry: dict[str, Any], override: str | None) -> str | None:
    if override is not None:
        return override
    kind = entry.get("kind")
    if kind == "numeric":
        return "numeric"
    if kind in ("categorical", "boolean"):
        return "categorical"
    return None


def _run_column(
    name: str, entry: dict[str, Any], column: pa.ChunkedArray, spec: MonitorSpec, rows: int
) -> tuple[str, list[Any], list[Any], list[Any]] | str:
    import numpy as np
    import pyarrow as pa

    from loopml.monitoring import _columns as cols

    fspec = spec.features.get(name)
    kind = _column_kind(entry, fspec.kind if fspec else None)
    if kind is None:
        return f"{entry.get('kind')} columns are not tested"
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    alpha, conf = spec.fdr, spec.confidence
    defaults = cols.NUMERIC_TESTS if kind == "numeric" else cols.CATEGORICAL_TESTS
    tests = tuple(t for t in (fspec.tests if fspec and fspec.tests else defaults) if t in defaults)
    new: list[Any] = []
    vanished: list[Any] = []
    if kind == "numeric" and entry.get("kind") == "numeric":
        raws = cols.numeric_tests(entry, column, tests, alpha=alpha, confidence=conf, rng=rng)
    else:
        if (
            entry.get("kind") == "numeric"
            or pa.types.is_floating(column.type)
            or pa.types.is_integer(column.type)
        ):
            return "numeric reference column read as categorical: profile it as categorical"
        raws, new, vanished = cols.categorical_tests(
            entry, column, tests, alpha=alpha, confidence=conf, rng=rng
        )
    if "missing_rate" in tests:
        ref_rows = int(entry.get("count") or 0) + int(entry.get("nulls") or 0)
        ref_missing = int(entry.get("nulls") or 0) + int(entry.get("nan") or 0)
        cur_missing = column.null_count
        if pa.types.is_floating(column.type):
            import pyarrow.compute as pc

            cur_missing += int(pc.sum(pc.is_nan(column.drop_null())).as_py() or 0)
        raws.append(cols.missing_test(ref_missing, ref_rows, cur_missing, rows, alpha=alpha))
    return kind, raws, new, vanished


def family(
    done: list[tuple[str, str, list[Any], list[Any], list[Any], int, int]],
    spec: MonitorSpec,
    role: str,
) -> tuple[FeatureDrift, ...]:
    """Correct one family's p-values together and decide each test."""
    from loopml.monitoring._calibrate import benjamini_hochberg

    ps = [raw.p_value for item in done for raw in item[2]]
    qs = iter(benjamini_hochberg(ps))
    out = []
    for name, kind, raws, new, vanished, ref_rows, cur_rows in done:
        fspec = spec.features.get(name)
        results = []
        for raw in raws:
            q = next(qs)
            floor = min_effect(fspec, raw.test)
            fixed = fspec is not None and raw.test in fspec.threshold
            if fixed:
                threshold = fspec.threshold[raw.test] if fspec else 0.0
                drifted = raw.effect >= threshold
            else:
                threshold = max(raw.threshold, floor)
                drifted = q <= spec.fdr and raw.effect >= floor
            results.append(
                TestResult(
                    raw.test,
                    raw.statistic,
                    raw.effect,
                    raw.ci[0],
                    raw.ci[1],
                    raw.p_value,
                    q,
                    threshold,
                    floor,
                    bool(drifted),
                    fixed,
                )
            )
        out.append(
            FeatureDrift(
                name, kind, role, ref_rows, cur_rows, tuple(results), tuple(new), tuple(vanished)
            )
        )
    return tuple(out)


def drift(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[str] | None = None,
    spec: str | os.PathLike[str] | dict[str, Any] | MonitorSpec | None = None,
    predictions: Sequence[str] = (),
    multivariate: bool = False,
    workspace: Workspace | None = None,
) -> DriftReport:
    """Drift of a window against a reference, per column, with calibrated thresholds.

    Args:
        reference: A dataset ref ``NAME@REF``, a model URI ``models:/NAME@ALIAS`` (the
            stored profile of the data version it was trained on), a table file, a stored
            ``loopml.profile/1`` profile (dict or .json file), or a DataFrame/Arrow table
            (profiled on the fly). Never re-read row by row.
        current: The window: a DataFrame, an Arrow table, a table file or a dataset ref.
        columns: Columns to test (default: every reference column the window has).
        spec: A monitor spec (YAML path, dict or :class:`MonitorSpec`) with overrides.
        predictions: Columns that are model outputs (prediction drift; corrected as their
            own family). Added to the spec's ``predictions``.
        multivariate: Also run the domain classifier on every tested feature together
            (needs the reference's rows: a DataFrame, table file or dataset ref, not a
            stored profile).
        workspace: Where dataset refs and model URIs resolve (default: the current one).

    Returns:
        The :class:`DriftReport`.

    Raises:
        InvalidInput: A side cannot be read, or a named column is absent.
        InvalidMonitorSpec: The spec is wrong (the message names file:line).
    """
    plan = load_spec(spec)
    profile, ref_name = resolve_reference(reference, workspace)
    table, cur_name = _window(current, workspace)
    ref_columns = profile.get("columns") or {}
    wanted = list(columns) if columns is not None else list(ref_columns)
    for name in wanted:
        if name not in ref_columns or name not in table.column_names:
            side = "reference" if name not in ref_columns else "window"
            raise InvalidInput(
                f"column {name!r} is not in the {side}",
                hint="Columns of the reference: " + ", ".join(list(ref_columns)[:20]),
                column=name,
            )
    scores = set(plan.predictions) | set(predictions)
    skipped: dict[str, str] = {}
    families: dict[str, list[Any]] = {"feature": [], "prediction": []}
    for name in wanted:
        fspec = plan.features.get(name)
        if fspec is not None and fspec.ignore:
            skipped[name] = "ignored by the spec"
            continue
        if name not in table.column_names:
            skipped[name] = "not in the window"
            continue
        entry = ref_columns[name]
        result = _run_column(name, entry, table.column(name), plan, table.num_rows)
        if isinstance(result, str):
            skipped[name] = result
            continue
        kind, raws, new, vanished = result
        ref_rows = int(entry.get("count") or 0) + int(entry.get("nulls") or 0)
        role = "prediction" if name in scores else "feature"
        families[role].append((name, kind, raws, new, vanished, ref_rows, table.num_rows))
    multi = None
    if multivariate:
        tested = [item[0] for item in families["feature"]]
        multi = _multivariate(reference, tested, table, plan, workspace)
    return DriftReport(
        ref_name,
        cur_name,
        int(profile.get("rows") or 0),
        table.num_rows,
        plan.fdr,
        family(families["feature"], plan, "feature"),
        family(families["prediction"], plan, "prediction"),
        multi,
        skipped,
    )


def _reference_rows(reference: Any, workspace: Workspace | None) -> pa.Table:
    table = _as_table(reference)
    if table is not None:
        return table
    text = os.fspath(reference) if isinstance(reference, str | os.PathLike) else ""
    if (
        not text
        or text.startswith("models:/")
        or text.endswith(".json")
        or isinstance(reference, dict)
    ):
        raise InvalidInput(
            "the multivariate check needs the reference's rows, not only its profile",
            hint="Pass the reference as a DataFrame, a table file or a dataset ref NAME@REF.",
        )
    return resolve_current(text, workspace)[0]


def _multivariate(
    reference: Any, columns: list[str], table: _Window, plan: MonitorSpec, workspace: Any
) -> TestResult:
    from loopml.monitoring._multivariate import MIN_EFFECT, domain_classifier

    rows = _reference_rows(reference, workspace)
    raw = domain_classifier(rows.select(columns), table.select(columns), columns, alpha=plan.fdr)
    drifted = raw.p_value <= plan.fdr and raw.effect >= MIN_EFFECT
    return TestResult(
        raw.test,
        raw.statistic,
        raw.effect,
        raw.ci[0],
        raw.ci[1],
        raw.p_value,
        raw.p_value,
        max(raw.threshold, MIN_EFFECT),
        MIN_EFFECT,
        bool(drifted),
    )
