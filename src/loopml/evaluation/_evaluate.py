"""``evaluate``: measure a model on data with checks, judge it by gates, record the result."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

from loopml import plugins
from loopml.evaluation._context import (
    EvaluationContext,
    check_target,
    fingerprint,
    read_table,
)
from loopml.evaluation._gates import Gates, load_gates, parse_gates
from loopml.evaluation._judge import judge
from loopml.evaluation._reference import reference_check
from loopml.evaluation._report import EvaluationReport
from loopml.evaluation._results import CheckResults
from loopml.ids import ObjectRef
from loopml.lineage import ObjectKind, Relation, link
from loopml.models import load_model, resolve
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loopml.artifacts import ArtifactStore
    from loopml.evaluation._checks import Check
    from loopml.evaluation._robustness import DirectionalTest, InvarianceTest
    from loopml.evaluation._slices import SliceLike
    from loopml.store import Store


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

    Each kind of result comes from one check (``plugins.BUILTIN["checks"]``); the flags and
    arguments below choose which run and with what.

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
        InvalidEvaluationData: The data is unreadable or empty, lacks the target or a
            column of the model's signature, or holds text where the model needs numbers.
        InvalidGates: The gate file is malformed or lacks a required field, or
            ``no_regression.against`` names a model, version or alias that does not exist
            (the message names file:line).
        InvalidInput: Another argument is not acceptable (a slice, the task).
        NotFound: The model URI names nothing.
    """

    frame = read_table(data)
    check_target(frame, target, source=data)
    uri = os.fspath(model_uri)
    registered = uri.startswith("models:/")
    workspace = current_workspace().derive(store=store, artifacts=artifacts)
    resolved = resolve(uri, workspace)
    model = load_model(resolved.path, expected_digest=resolved.manifest_digest)
    inputs = EvaluationContext.of(
        model,
        frame,
        target,
        task=task,
        timestamp_column=timestamp_column,
        uri=uri,
        manifest_digest=resolved.manifest_digest,
        workspace=workspace,
        source=data,
    )
    version = resolved.version
    need_store = registered or record
    db = workspace.store if need_store else None
    blobs = workspace.artifacts if (need_store or gates is None and version is not None) else None
    gate_spec = _gates_for(gates, version.gates_digest if version else None, blobs)
    checks = _plan(
        slices=slices,
        sensitive=sensitive,
        robustness=robustness,
        tests=tests,
        infra=infra,
        analysis=analysis,
        leakage=leakage,
        train_data=train_data,
        seed=seed,
    )
    if gate_spec is not None:
        check = reference_check(reference, gate_spec, uri, registered=registered)
        checks[1:1] = [] if check is None else [check]  # after metrics: a bad alias fails early
    results = CheckResults(**{check.name: check.run(inputs) for check in checks})
    report = EvaluationReport(uri, inputs.task, len(frame), fingerprint(frame), results)
    if gate_spec is not None:
        report = dataclasses.replace(
            report, gates=tuple(judge(gate_spec, report)), gates_source=gate_spec.source
        )
    if (record if record is not None else registered) and db is not None and blobs is not None:
        report = _record(report, db, blobs, uri, version, gate_spec, actor, resolved.ref)
    return report


def _plan(
    *,
    slices: Sequence[SliceLike] | None,
    sensitive: Sequence[str] | None,
    robustness: bool,
    tests: Sequence[InvarianceTest | DirectionalTest],
    infra: bool,
    analysis: bool,
    leakage: bool,
    train_data: Any,
    seed: int,
) -> list[Check[Any]]:
    """The checks to run, by their names in ``plugins.BUILTIN["checks"]``, metrics first."""
    wanted: list[tuple[str, dict[str, Any]]] = [("metrics", {}), ("curves", {})]
    if slices:
        wanted.append(("slices", {"slices": slices}))
    if sensitive:
        wanted.append(("fairness", {"sensitive": sensitive}))
    if robustness:
        wanted.append(("robustness", {"seed": seed}))
    if tests:
        wanted.append(("behaviour_tests", {"tests": tests}))
    if analysis:
        wanted.append(("analysis", {"seed": seed}))
    if leakage:
        wanted.append(("leakage", {"train_data": train_data}))
    if infra:
        wanted.append(("infra", {}))
    return [plugins.load("checks", name)(**params) for name, params in wanted]


def _record(
    report: EvaluationReport,
    db: Store,
    blobs: ArtifactStore,
    uri: str,
    version: Any,
    gates: Gates | None,
    actor: str | None,
    source: ObjectRef | None = None,
) -> EvaluationReport:
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
    subject = ObjectRef("model_version", version.id) if version is not None else source
    if subject is not None:  # a version, or the run whose model was evaluated (runs:/)
        link(subject, ObjectRef(ObjectKind.EVALUATION, evaluation.id), Relation.EVALUATED, store=db)
    return dataclasses.replace(report, evaluation_id=evaluation.id, report_digest=report_digest)
