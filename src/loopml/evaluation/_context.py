"""What every check reads: the data, the model, its scorer; and the checks on the data
that stop a model from being scored on columns it cannot use."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.errors import InvalidEvaluationData, InvalidInput, LoopmlError
from loopml.evaluation._metrics import LOWER_IS_BETTER, classification_metrics, regression_metrics
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    import pandas as pd

    from loopml.models import LoadedModel
    from loopml.workspace import Workspace

#: Signature dtypes the data must hold numbers for.
_NUMERIC = frozenset(
    {"bool", "float16", "float32", "float64"}
    | {f"{s}int{b}" for s in ("", "u") for b in (8, 16, 32, 64)}
)


def read_table(data: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame or a .parquet/.csv/.json path.

    Raises:
        InvalidEvaluationData: The path is not an existing file of those kinds, or it
            cannot be parsed.
    """
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        readers = {".parquet": pd.read_parquet, ".csv": pd.read_csv, ".json": pd.read_json}
        reader = readers.get(path.suffix.lower())
        if reader is None or not path.is_file():
            raise InvalidEvaluationData(
                f"cannot read evaluation data from {path}",
                hint="Pass a DataFrame or an existing .parquet, .csv or .json file.",
            )
        try:
            frame: pd.DataFrame = reader(path)
        except (ValueError, OSError) as exc:  # pandas/pyarrow parse errors are ValueErrors
            raise InvalidEvaluationData(
                f"cannot read evaluation data from {path}: {exc}",
                hint=f"Check that the file is valid {path.suffix.lstrip('.')}.",
            ) from exc
        return frame
    raise InvalidEvaluationData(
        f"evaluation data of type {type(data).__name__} is not supported",
        hint="Pass a DataFrame or a .parquet, .csv or .json path.",
    )


def fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of the frame's row hashes (what the evaluation was run on)."""
    import pandas as pd

    return hashlib.sha256(
        pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    ).hexdigest()


class Scorer:
    """Metrics of one model on one task; ``primary`` drives robustness and importance."""

    def __init__(self, model: LoadedModel, task: str, y: np.ndarray) -> None:
        self.model, self.task, self.y = model, task, y
        raw_classes = getattr(model.raw, "classes_", None)
        self.classes = np.asarray(raw_classes) if raw_classes is not None else np.unique(y)
        binary = task == "classification" and len(self.classes) == 2
        self.primary = (
            "roc_auc"
            if binary and model.has_proba
            else ("accuracy" if task == "classification" else "rmse")
        )
        self.lower_is_better = self.primary in LOWER_IS_BETTER

    def proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Class probabilities (classifiers with them), else None."""
        return (
            self.model.predict_proba(frame)
            if self.task == "classification" and self.model.has_proba
            else None
        )

    def metrics(self, frame: pd.DataFrame, y: np.ndarray | None = None) -> dict[str, float]:
        """Every metric of the task on ``frame`` (labels ``y``, default: all labels)."""
        y = self.y if y is None else y
        pred = self.model.predict(frame)
        if self.task == "regression":
            return regression_metrics(y, np.asarray(pred, dtype=float))
        return classification_metrics(y, pred, self.proba(frame), self.classes)

    def score_values(self, frame: pd.DataFrame) -> np.ndarray:
        """One score per row: positive-class probability, top probability or prediction."""
        proba = self.proba(frame)
        if proba is not None:
            return proba[:, -1] if proba.shape[1] == 2 else proba.max(axis=1)
        return (
            np.asarray(self.model.predict(frame), dtype=float)
            if self.task == "regression"
            else np.asarray(self.model.predict(frame))
        )

    def primary_on(self, frame: pd.DataFrame, y: np.ndarray) -> float:
        """The primary metric on ``frame`` with labels ``y``."""
        return self.metrics(frame, y)[self.primary]


@dataclass(frozen=True)
class EvaluationContext:
    """The inputs every check reads; build it with :meth:`of`.

    Attributes:
        uri: The model URI or path as given.
        frame: The whole evaluation data (features, target and any other column).
        target: The label column of ``frame``.
        task: ``"classification"`` or ``"regression"``.
        model: The loaded model.
        manifest_digest: The digest the model's directory must match (None: not pinned).
        timestamp_column: Event-time column, if any.
        workspace: Where reference models, the store and artifacts are found.
    """

    uri: str
    frame: pd.DataFrame
    target: str
    task: str
    model: LoadedModel
    manifest_digest: str | None = None
    timestamp_column: str | None = None
    workspace: Workspace = field(default_factory=current_workspace)

    @classmethod
    def of(
        cls,
        model: LoadedModel,
        frame: pd.DataFrame,
        target: str,
        *,
        task: str | None = None,
        timestamp_column: str | None = None,
        uri: str | None = None,
        manifest_digest: str | None = None,
        workspace: Workspace | None = None,
        source: Any = None,
    ) -> EvaluationContext:
        """The context of ``model`` on ``frame``, after checking the data fits the model.

        Args:
            model: The loaded model.
            frame: Evaluation data with the ``target`` column.
            target: The label column.
            task: ``"classification"`` or ``"regression"`` (inferred when omitted).
            timestamp_column: Event-time column (not a feature).
            uri: What the report calls the model (default: the URI it was loaded from).
            manifest_digest: Digest the fresh-process check verifies the directory against.
            workspace: Where reference models are found (default: the current one).
            source: The data's path, named in errors.

        Raises:
            InvalidEvaluationData: The data lacks the target or a signature column, or holds
                text where the model needs numbers.
            InvalidInput: ``task`` is unknown.
        """
        check_target(frame, target, source=source)
        check_signature(frame, model, source=source)
        return cls(
            uri=model.uri if uri is None else uri,
            frame=frame,
            target=target,
            task=infer_task(frame, target, model, task),
            model=model,
            manifest_digest=manifest_digest,
            timestamp_column=timestamp_column,
            workspace=current_workspace() if workspace is None else workspace,
        )

    @cached_property
    def feature_columns(self) -> tuple[str, ...]:
        """The model's inputs: its signature's columns, else every column but the target
        and the timestamp."""
        signature = self.model.signature.columns if self.model.signature is not None else []
        exclude = (self.target, self.timestamp_column)
        others = [c for c in self.frame.columns if c not in exclude]  # labels as pandas has them
        return tuple(signature or others)

    @cached_property
    def X(self) -> pd.DataFrame:
        """The model's input columns of ``frame``."""
        return self.frame[list(self.feature_columns)]

    @cached_property
    def y(self) -> np.ndarray:
        """The labels."""
        labels: np.ndarray = self.frame[self.target].to_numpy()
        return labels

    @cached_property
    def scorer(self) -> Scorer:
        """Metrics of the model on the task."""
        return Scorer(self.model, self.task, self.y)

    @cached_property
    def base_metrics(self) -> dict[str, float]:
        """The task's metrics on all rows (computed once; checks share them).

        Raises:
            InvalidEvaluationData: The model raises on the data (wrong types, unseen values).
        """
        try:
            return self.scorer.metrics(self.X)
        except LoopmlError:
            raise
        except (ValueError, TypeError) as exc:  # what estimators raise for unusable input
            raise scoring_failed(exc, self.uri) from exc

    @cached_property
    def predictions(self) -> np.ndarray:
        """``model.predict`` on all rows (computed once)."""
        self.base_metrics  # noqa: B018 - fails first, with the data error, if the model cannot score
        return self.model.predict(self.X)


def _where(source: Any) -> str:
    return f" {os.fspath(source)}" if isinstance(source, (str, os.PathLike)) else ""


def check_target(frame: pd.DataFrame, target: str, *, source: Any = None) -> None:
    """Refuse data without the ``target`` column or without rows.

    Raises:
        InvalidEvaluationData: Naming the data's columns.
    """
    where = _where(source)
    if target not in frame.columns:
        raise InvalidEvaluationData(
            f"target column {target!r} is not in the evaluation data{where}",
            hint=f"Columns: {', '.join(map(str, frame.columns))}.",
            column=target,
        )
    if len(frame) == 0:
        raise InvalidEvaluationData(
            f"the evaluation data{where} has no rows", hint="Pass data with labelled rows."
        )


def check_signature(
    frame: pd.DataFrame, model: LoadedModel, *, source: Any = None, role: str = "model"
) -> None:
    """Refuse data that lacks a column of the model's signature, or holds text where the
    signature wants numbers.

    Raises:
        InvalidEvaluationData: With the column at fault and what the model takes.
    """
    where = _where(source)
    specs = [] if model.signature is None else [c for c in model.signature.inputs if c.name]
    missing = [str(c.name) for c in specs if c.name not in frame.columns]
    if missing:
        raise InvalidEvaluationData(
            f"the evaluation data{where} lacks column(s) {', '.join(map(repr, missing))} of the "
            f"{role}'s signature",
            hint=f"The {role} takes: {', '.join(str(c.name) for c in specs)}; the data has: "
            f"{', '.join(map(str, frame.columns))}.",
            missing=missing,
        )
    for spec in specs:
        column = frame[spec.name]
        if spec.dtype not in _NUMERIC or column.dtype.kind in "iufb":
            continue
        import pandas as pd

        numbers = pd.to_numeric(column, errors="coerce")
        bad = column[numbers.isna() & column.notna()]
        if len(bad):
            raise InvalidEvaluationData(
                f"column {spec.name!r} of the evaluation data{where} holds text where the {role} "
                f"needs numbers ({spec.dtype}): {bad.iloc[0]!r} in row {bad.index[0]}",
                hint=f"Fix or drop the {len(bad)} non-numeric value(s) of {spec.name!r}, or "
                "evaluate a model whose signature takes that column as text.",
                column=str(spec.name),
                rows=len(bad),
            )


def scoring_failed(exc: Exception, uri: str) -> InvalidEvaluationData:
    """The error for a model that raises on the (column-checked) evaluation data."""
    return InvalidEvaluationData(
        f"the model {uri} cannot score the evaluation data: {type(exc).__name__}: "
        f"{str(exc).splitlines()[0] if str(exc) else ''}",
        hint="Evaluate with data of the columns and types the model was trained on.",
    )


def infer_task(frame: pd.DataFrame, target: str, model: LoadedModel, task: str | None) -> str:
    """``task`` or, when None, regression for many-valued float (or proba-less) targets."""
    if task is None:
        many = frame[target].nunique() > 20
        task = (
            "regression"
            if (frame[target].dtype.kind == "f" and many) or (many and not model.has_proba)
            else "classification"
        )
    if task not in ("classification", "regression"):
        raise InvalidInput(f"unknown task {task!r}", hint="Use classification or regression.")
    return task
