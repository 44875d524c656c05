"""``evaluate``: measure a model on data, judge it by gates, record the result."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.entities import LineageEdge
from loopml.errors import InvalidInput, NotFound
from loopml.evaluation._analysis import leakage as find_leakage
from loopml.evaluation._analysis import partial_dependence, permutation_importance
from loopml.evaluation._gates import Gates, judge, load_gates, parse_gates
from loopml.evaluation._infra import infra_check
from loopml.evaluation._metrics import (
    LOWER_IS_BETTER,
    classification_metrics,
    curves,
    regression_metrics,
)
from loopml.evaluation._report import EvaluationReport
from loopml.evaluation._robustness import behaviour_tests
from loopml.evaluation._robustness import robustness as run_robustness
from loopml.evaluation._slices import fairness, parse_slices
from loopml.ids import ModelUri, ObjectRef
from loopml.models import LoadedModel, load_model, resolve
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

    from loopml.artifacts import ArtifactStore
    from loopml.evaluation._robustness import DirectionalTest, InvarianceTest
    from loopml.evaluation._slices import SliceLike
    from loopml.store import Store


def read_table(data: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame or a .parquet/.csv/.json path."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        readers = {".parquet": pd.read_parquet, ".csv": pd.read_csv, ".json": pd.read_json}
        reader = readers.get(path.suffix.lower())
        if reader is None or not path.is_file():
            raise InvalidInput(
                f"cannot read evaluation data from {path}",
                hint="Pass a DataFrame or an existing .parquet, .csv or .json file.",
            )
        return reader(path)
    raise InvalidInput(f"evaluation data of type {type(data).__name__} is not supported")


def _fingerprint(frame: pd.DataFrame) -> str:
    import pandas as pd

    return hashlib.sha256(
        pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    ).hexdigest()


class _Scorer:
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
        return (
            self.model.predict_proba(frame)
            if self.task == "classification" and self.model.has_proba
            else None
        )

    def metrics(self, frame: pd.DataFrame, y: np.ndarray | None = None) -> dict[str, float]:
        y = self.y if y is None else y
        pred = self.model.predict(frame)
        if self.task == "regression":
            return regression_metrics(y, np.asarray(pred, dtype=float))
        return classification_metrics(y, pred, self.proba(frame), self.classes)

    def score_values(self, frame: pd.DataFrame) -> np.ndarray:
        proba = self.proba(frame)
        if proba is not None:
            return proba[:, -1] if proba.shape[1] == 2 else proba.max(axis=1)
        return (
            np.asarray(self.model.predict(frame), dtype=float)
            if self.task == "regression"
            else np.asarray(self.model.predict(frame))
        )

    def primary_on(self, frame: pd.DataFrame, y: np.ndarray) -> float:
        return self.metrics(frame, y)[self.primary]


def _gates_for(
    gates: Any, version_gates: str | None, artifacts: ArtifactStore | None
) -> Gates | None:
    if isinstance(gates, Gates):
        return gates
    if gates is not None:
        return load_gates(gates)
    if version_gates is not None and artifacts is not None:
        return parse_gates(
            artifacts.get(version_gates).decode(),
            f"gates.yaml of the version ({version_gates[:12]})",
        )
    return None


def evaluate(
    model_uri: str | os.PathLike[str],
    data: Any,
    target: str,
    *,
    task: str | None = None,
    slices: Sequence[SliceLike] | None = None,
    sensitive: Sequence[str] | None = None,
    gates: str | os.PathLike[str] | Gates | None = None,
    reference: str | None = None,
    robustness: bool = True,
    tests: Sequence[InvarianceTest | DirectionalTest] = (),
    infra: bool = True,
    analysis: bool = True,
    leakage: bool = True,
    train_data: Any = None,
    timestamp_column: str | None = None,
    record: bool | None = None,
    store: Store | None = None,
    artifacts: ArtifactStore | None = None,
    actor: str | None = None,
    seed: int = 0,
) -> EvaluationReport:
    """Evaluate a model on labelled data, optionally judge it by gates, and record it.

    Args:
        model_uri: ``models:/NAME@ALIAS``, ``models:/NAME/VERSION`` or a model directory.
        data: A DataFrame or a .parquet/.csv/.json path, with the ``target`` column.
        target: The label column.
        task: ``"classification"`` or ``"regression"`` (inferred when omitted).
        slices: Column names (one slice per value), :class:`Slice` objects or dicts.
        sensitive: Columns to measure fairness across (classification).
        gates: A gates.yaml path or parsed :class:`Gates`; a registered version's own
            gates are used when omitted.
        reference: Model URI for no-regression rules (default: ``no_regression.against``
            of the gates, as an alias of the same model).
        robustness: Measure the metric drop under perturbations.
        tests: Invariance and directional tests.
        infra: Load and time the model in a fresh process.
        analysis: Permutation importance and partial dependence.
        leakage: Run the leakage checks.
        train_data: Training data, for the shared-rows and time-order leakage checks.
        timestamp_column: Column with event times, for the time-order check.
        record: Store the evaluation (default: only for registered models).
        store: Metadata store (default: the current one).
        artifacts: Artifact store (default: from settings).
        actor: Who evaluates (default: the configured user).
        seed: Seed of the perturbations and shuffles.

    Returns:
        The :class:`EvaluationReport`; ``report.passed`` is the gates' verdict.

    Raises:
        InvalidInput: The target column is missing, the data unreadable or a gate file
            malformed (the message names file:line).
        NotFound: The model URI names nothing.
    """

    frame = read_table(data)
    if target not in frame.columns:
        raise InvalidInput(
            f"target column {target!r} is not in the evaluation data",
            hint=f"Columns: {', '.join(map(str, frame.columns))}.",
        )
    if len(frame) == 0:
        raise InvalidInput("the evaluation data has no rows")
    uri = os.fspath(model_uri)
    registered = uri.startswith("models:/")
    workspace = current_workspace().derive(store=store, artifacts=artifacts)
    resolved = resolve(uri, workspace)
    model = load_model(resolved.path, expected_digest=resolved.manifest_digest)
    y = frame[target].to_numpy()
    signature_cols = model.signature.columns if model.signature is not None else []
    feature_cols = signature_cols or [
        c for c in frame.columns if c not in (target, timestamp_column)
    ]
    X = frame[feature_cols]
    if task is None:
        many = frame[target].nunique() > 20
        task = (
            "regression"
            if (frame[target].dtype.kind == "f" and many) or (many and not model.has_proba)
            else "classification"
        )
    if task not in ("classification", "regression"):
        raise InvalidInput(f"unknown task {task!r}", hint="Use classification or regression.")
    scorer = _Scorer(model, task, y)
    metrics = scorer.metrics(X)
    report = EvaluationReport(uri, task, len(frame), metrics, data_fingerprint=_fingerprint(frame))
    if task == "classification":
        report.curves = curves(y, scorer.proba(X), scorer.classes, model.predict(X))
    for spec in parse_slices(slices, frame):
        mask = spec.mask(frame)
        rows = int(mask.sum())
        report.slices[spec.name] = {
            "rows": rows,
            "metrics": scorer.metrics(X[mask], y[mask]) if rows else {},
        }
    if sensitive and task == "classification":
        pred = model.predict(X)
        for column in sensitive:
            if column not in frame.columns:
                raise InvalidInput(f"sensitive column {column!r} is not in the evaluation data")
            report.fairness[column] = fairness(
                y, pred, frame[column].astype(str).to_numpy(), scorer.classes[-1]
            )
    base = metrics.get(scorer.primary, float("nan"))
    if robustness:
        report.robustness = run_robustness(
            X,
            lambda f: scorer.primary_on(f, y),
            base,
            lower_is_better=scorer.lower_is_better,
            seed=seed,
        )
    if tests:
        report.behaviour_tests = behaviour_tests(X, model.predict, scorer.score_values, list(tests))
    if analysis:
        sample = X.sample(min(len(X), 5000), random_state=seed)
        ys = y[X.index.get_indexer(sample.index)]
        importance = permutation_importance(
            sample,
            lambda f: scorer.primary_on(f, ys),
            scorer.primary_on(sample, ys),
            lower_is_better=scorer.lower_is_better,
            seed=seed,
        )
        top = [c for c in list(importance)[:3]]
        report.analysis = {
            "metric": scorer.primary,
            "permutation_importance": importance,
            "partial_dependence": partial_dependence(sample, scorer.score_values, top),
        }
    if leakage:
        train = None if train_data is None else read_table(train_data)
        leak_cols = feature_cols + (
            [timestamp_column]
            if timestamp_column
            and timestamp_column in frame.columns
            and timestamp_column not in feature_cols
            else []
        )
        report.leakage = find_leakage(
            frame[leak_cols],
            y,
            task=task,
            train_frame=None
            if train is None
            else train[[c for c in leak_cols if c in train.columns]],
            timestamp_column=timestamp_column,
        )
    if infra:
        report.infra = infra_check(resolved.path, resolved.manifest_digest, X, model.size_bytes)
    version = resolved.version
    need_store = registered or record
    db = workspace.store if need_store else None
    blobs = workspace.artifacts if (need_store or gates is None and version is not None) else None
    gate_spec = _gates_for(gates, version.gates_digest if version else None, blobs)
    if gate_spec is not None:
        report.gates_source = gate_spec.source
        ref_uri = reference
        if ref_uri is None and gate_spec.reference is not None:
            if gate_spec.reference.startswith("models:/"):
                ref_uri = gate_spec.reference
            elif registered:
                ref_uri = f"models:/{ModelUri.parse(uri).name}@{gate_spec.reference}"
            else:
                report.reference = {
                    "uri": None,
                    "metrics": None,
                    "note": f"alias {gate_spec.reference!r} needs a models:/ URI to compare with",
                }
        if ref_uri is not None:
            try:
                ref_model = load_model(
                    ref_uri, store=workspace.store, artifacts=workspace.artifacts
                )
                report.reference = {
                    "uri": ref_uri,
                    "metrics": _Scorer(ref_model, task, y).metrics(
                        frame[ref_model.signature.columns]
                        if ref_model.signature and ref_model.signature.columns
                        else X
                    ),
                }
            except NotFound:
                report.reference = {
                    "uri": ref_uri,
                    "metrics": None,
                    "note": f"no model at {ref_uri} yet",
                }
        report.gates = judge(gate_spec, report.to_dict())
    if (record if record is not None else registered) and db is not None and blobs is not None:
        _record(report, db, blobs, uri, version, gate_spec, actor, resolved.ref)
    return report


def _record(
    report: EvaluationReport,
    db: Store,
    blobs: ArtifactStore,
    uri: str,
    version: Any,
    gates: Gates | None,
    actor: str | None,
    source: ObjectRef | None = None,
) -> None:
    who = actor or current_workspace().actor.name
    gates_digest = blobs.put(gates.text.encode()) if gates is not None and gates.text else None
    report_digest = blobs.put(report.to_json().encode())
    summary = {k: v for k, v in report.metrics.items() if isinstance(v, float)}
    evaluation = db.add_evaluation(
        actor=who,
        model_uri=uri,
        model_name=None if version is None else version.model_name,
        version=None if version is None else version.number,
        data_fingerprint=report.data_fingerprint,
        passed=report.passed,
        report_digest=report_digest,
        gates_digest=gates_digest,
        summary=summary,
    )
    report.evaluation_id, report.report_digest = evaluation.id, report_digest
    subject = ObjectRef("model_version", version.id) if version is not None else source
    if subject is not None:  # a version, or the run whose model was evaluated (runs:/)
        db.add_edges([LineageEdge(subject, ObjectRef("evaluation", evaluation.id), "evaluated")])
