"""Champion comparison with real registered models, and the evaluation record it stores."""

from __future__ import annotations

import json

import pytest
from sklearn.linear_model import LogisticRegression

from loopml.errors import InvalidGates, InvalidInput
from loopml.evaluation import evaluate, load_gates, parse_gates
from loopml.ids import ObjectRef
from loopml.registry import Actor, delete_alias, register_model, set_alias, set_promotion_policy

ANA = Actor("ana", ("approver",))
QUICK = {"infra": False, "robustness": False, "analysis": False, "leakage": False}
NO_REGRESSION = """\
metrics:
  roc_auc: {min: 0.5}
no_regression:
  against: champion
  tolerance: {roc_auc: 0.01, log_loss: 0.5}
"""


@pytest.fixture
def home(store, artifacts, cancer, logistic, tmp_path):
    """Model ``bc``: v1 the full logistic regression, v2 one on two features."""
    X, y = cancer
    register_model("bc", logistic[1], store=store, artifacts=artifacts, actor=ANA)
    weak = LogisticRegression(max_iter=5000).fit(X[["a", "b"]], y)
    register_model(
        "bc", weak, input_example=X[["a", "b"]].head(), store=store, artifacts=artifacts, actor=ANA
    )
    return store, artifacts, X.assign(target=y)


def _evaluate(home, uri, text=NO_REGRESSION, **kw):
    store, artifacts, frame = home
    gates = kw.pop("gates", None) or parse_gates(text, "gates.yaml")
    return evaluate(
        uri, frame, "target", gates=gates, store=store, artifacts=artifacts, **QUICK, **kw
    )


def test_challenger_is_compared_with_the_real_champion(home):
    store, artifacts, frame = home
    set_alias("bc", "champion", 1, store=store, actor=ANA)
    champion = evaluate("models:/bc/1", frame, "target", store=store, artifacts=artifacts, **QUICK)
    report = _evaluate(home, "models:/bc/2")
    reference = report.results.reference
    assert reference is not None and reference.uri == "models:/bc@champion"
    assert reference.metrics == champion.metrics and reference.note is None
    rules = {g.rule.split()[0]: g for g in report.gates if "no worse" in g.rule}
    roc = rules["roc_auc"]
    drop = champion.metrics["roc_auc"] - report.metrics["roc_auc"]
    assert drop > 0.01 and roc.passed is False and roc.bound == champion.metrics["roc_auc"]
    assert roc.detail == f"reference {roc.bound:.4f}, regression {drop:.4f}"
    worse_loss = report.metrics["log_loss"] - champion.metrics["log_loss"]  # lower is better
    assert rules["log_loss"].passed is (worse_loss <= 0.5)
    assert report.passed is False
    same = _evaluate(home, "models:/bc/1")
    assert same.passed is True  # the champion does not regress from itself


def test_explicit_reference_wins_over_the_alias(home):
    store, _, _ = home
    set_alias("bc", "champion", 2, store=store, actor=ANA)
    report = _evaluate(home, "models:/bc/2", reference="models:/bc/1")
    assert report.results.reference.uri == "models:/bc/1"
    assert report.passed is False


def test_declared_alias_not_set_yet_lets_a_first_release_pass(home):
    store, _, _ = home
    set_promotion_policy("bc", "champion", store=store, actor=ANA)
    report = _evaluate(home, "models:/bc/1")
    assert report.results.reference.metrics is None
    assert report.results.reference.note == "no model at models:/bc@champion yet"
    regression_rules = [g for g in report.gates if "no worse" in g.rule]
    assert regression_rules and all(g.passed for g in regression_rules)
    assert {g.detail for g in regression_rules} == {"no model at models:/bc@champion yet"}


def test_alias_once_set_and_removed_still_counts_as_known(home):
    store, _, _ = home
    set_alias("bc", "champion", 1, store=store, actor=ANA)
    delete_alias("bc", "champion", store=store, actor=ANA)
    assert _evaluate(home, "models:/bc/2").results.reference.note is not None


def test_alias_the_model_never_had_is_an_error_at_its_line(home, tmp_path):
    store, artifacts, frame = home
    set_alias("bc", "champion", 1, store=store, actor=ANA)
    path = tmp_path / "gates.yaml"
    path.write_text(NO_REGRESSION.replace("champion", "champoin"))
    with pytest.raises(InvalidGates) as info:
        _evaluate(home, "models:/bc/2", gates=load_gates(path))
    message = info.value.message
    assert message.startswith(f"{path}:4: no_regression.against")
    assert "'champoin'" in message and "did you mean 'champion'" in message
    assert "Aliases of bc: champion" in (info.value.hint or "")
    assert info.value.exit_code == 2
    assert store.list_evaluations("bc") == []  # nothing recorded for an invalid gate file


@pytest.mark.parametrize(
    ("against", "needle"),
    [
        ("models:/nope@champion", "names model 'nope', which is not registered"),
        ("models:/bc/9", "names version 9 of 'bc', which does not exist"),
    ],
)
def test_reference_to_nothing_is_an_error(home, against, needle):
    with pytest.raises(InvalidGates, match=needle) as info:
        _evaluate(home, "models:/bc/2", NO_REGRESSION.replace("champion", against))
    assert info.value.message.startswith("gates.yaml:4:")


def test_explicit_reference_to_nothing_is_invalid_input(home):
    with pytest.raises(InvalidInput, match=r"^reference models:/bc@gold names alias 'gold'"):
        _evaluate(home, "models:/bc/2", reference="models:/bc@gold")


def test_alias_needs_a_registered_model_to_look_it_up_on(home, logistic):
    store, artifacts, frame = home
    with pytest.raises(InvalidGates, match="is not a registered model") as info:
        _evaluate(home, str(logistic[1]))
    assert "against: models:/NAME@champion" in (info.value.hint or "")
    set_alias("bc", "champion", 1, store=store, actor=ANA)
    full = NO_REGRESSION.replace("against: champion", "against: models:/bc@champion")
    report = _evaluate(home, str(logistic[1]), full)
    assert report.results.reference.metrics is not None and report.passed is True


def test_registered_evaluation_is_recorded_with_its_report(home):
    store, artifacts, frame = home
    set_alias("bc", "champion", 1, store=store, actor=ANA)
    report = _evaluate(home, "models:/bc/2", actor="ci")
    recorded = store.get_evaluation(report.evaluation_id)
    assert (recorded.model_name, recorded.version, recorded.created_by) == ("bc", 2, "ci")
    assert recorded.passed is False and recorded.data_fingerprint == report.data_fingerprint
    assert recorded.summary == report.metrics
    assert recorded.report_digest == report.report_digest
    stored = json.loads(artifacts.get(recorded.report_digest))
    assert stored == {**report.to_dict(), "evaluation_id": None}
    assert artifacts.get(recorded.gates_digest).decode() == NO_REGRESSION
    version = store.get_model_version("bc", 2)
    edges = store.downstream(ObjectRef("model_version", version.id), depth=1)
    assert [(n.edge.dst, n.edge.relation) for n in edges] == [
        (ObjectRef("evaluation", recorded.id), "evaluated")
    ]
    unrecorded = _evaluate(home, "models:/bc/2", record=False)
    assert unrecorded.evaluation_id is None and len(store.list_evaluations("bc")) == 1


def test_a_versions_own_gates_are_used_when_none_are_given(home, logistic, tmp_path):
    store, artifacts, frame = home
    path = tmp_path / "strict.yaml"
    path.write_text("metrics:\n  roc_auc: {min: 0.9999}\n")
    register_model("bc", logistic[1], gates=path, store=store, artifacts=artifacts, actor=ANA)
    report = evaluate("models:/bc/3", frame, "target", store=store, artifacts=artifacts, **QUICK)
    assert report.passed is False and report.gates_source.startswith("gates.yaml of the version")
    assert [g.rule for g in report.failures] == ["roc_auc min 0.9999"]
    plain = evaluate("models:/bc/1", frame, "target", store=store, artifacts=artifacts, **QUICK)
    assert plain.passed is None and plain.gates_source is None and plain.gates == ()
