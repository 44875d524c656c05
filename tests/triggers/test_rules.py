"""Trigger rules: each kind fires on its condition; debounce, cool-down, budget, dry-run;
YAML errors point at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

import loopml
from loopml import registry, triggers
from loopml.entities import TriggerEventKind, TriggerKind
from loopml.errors import Conflict, InvalidTrigger
from tests.triggers import loop_helpers
from tests.triggers.conftest import ANA

H = "tests.triggers.loop_helpers"
MIN = 60_000


def _drift(name: str = "drift", **policy: object) -> None:
    triggers.add_trigger(
        name,
        "drift",
        "fraud",
        condition={"threshold": 0.5, "source": f"{H}:signal"},
        **policy,  # type: ignore[arg-type]
    )


def test_yaml_rules_parse_and_errors_name_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "triggers.yaml"
    good.write_text(
        "triggers:\n"
        "  - name: nightly\n"
        "    kind: schedule\n"
        "    model: fraud\n"
        "    condition: {cron: '0 2 * * *'}\n"
        "    budget_per_day: 1\n"
        "  - name: fresh-data\n"
        "    kind: new_data\n"
        "    model: fraud\n"
        "    condition: {dataset: tx@main, min_rows: 100}\n"
        "    cooldown_s: 3600\n"
        "    action: {train: 'pkg.mod:train', target: y}\n"
    )
    rules = triggers.load_rules(good)
    assert [(r.name, r.kind) for r in rules] == [
        ("nightly", TriggerKind.SCHEDULE),
        ("fresh-data", TriggerKind.NEW_DATA),
    ]
    assert rules[1].cooldown_s == 3600 and rules[0].budget_per_day == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "triggers:\n  - name: x\n    kind: schedule\n    model: m\n"
        "    condition:\n      cron: 'every day'\n"
    )
    with pytest.raises(InvalidTrigger, match=r"bad.yaml:6: invalid cron"):
        triggers.load_rules(bad)
    bad.write_text("name: x\nkind: drift\nmodel: m\ncondition: {threshold: 1}\ncooldown: 5\n")
    with pytest.raises(InvalidTrigger, match=r"bad.yaml:5: unknown trigger setting 'cooldown'"):
        triggers.load_rules(bad)
    bad.write_text("name: x\nkind: rainy\nmodel: m\n")
    with pytest.raises(InvalidTrigger, match=r"bad.yaml:2: unknown trigger kind"):
        triggers.load_rules(bad)
    bad.write_text("name: x\nkind: drift\nmodel: m\n")
    with pytest.raises(InvalidTrigger, match="needs condition.threshold"):
        triggers.load_rules(bad)


def test_debounce_then_fire_then_cooldown(loop_ws: loopml.Workspace) -> None:
    _drift(debounce_s=120, cooldown_s=600)
    loop_helpers.SIGNAL["value"] = 0.9
    t0 = 1_000 * MIN
    assert triggers.check("drift", at_ms=t0).verdict == "wait"
    assert triggers.check("drift", at_ms=t0 + MIN).verdict == "wait"
    fired = triggers.check("drift", at_ms=t0 + 2 * MIN)
    assert fired.verdict == "fired" and fired.chain_id
    cooling = triggers.check("drift", at_ms=t0 + 5 * MIN)
    assert cooling.verdict == "suppress" and "cool-down" in cooling.reason
    # one suppressed event per episode, not one per check
    assert triggers.check("drift", at_ms=t0 + 6 * MIN).event is None
    loop_helpers.SIGNAL["value"] = 0.1
    assert triggers.check("drift", at_ms=t0 + 7 * MIN).verdict == "idle"
    loop_helpers.SIGNAL["value"] = 0.9
    # the condition went away: debounce starts again
    assert triggers.check("drift", at_ms=t0 + 13 * MIN).verdict == "wait"
    assert triggers.check("drift", at_ms=t0 + 15 * MIN).verdict == "fired"
    kinds = [e.kind for e in triggers.history("drift")]
    assert kinds == [TriggerEventKind.FIRED, TriggerEventKind.SUPPRESSED, TriggerEventKind.FIRED]
    loop_helpers.SIGNAL["value"] = 0.0


def test_budget_caps_firings_per_day(loop_ws: loopml.Workspace) -> None:
    _drift("capped", budget_per_day=2)
    loop_helpers.SIGNAL["value"] = 0.9
    base = loopml.triggers._fire.now_ms()
    verdicts = [triggers.check("capped", at_ms=base + i).verdict for i in range(4)]
    assert verdicts == ["fired", "fired", "suppress", "suppress"]
    suppressed = triggers.history("capped")[-1]
    assert suppressed.kind is TriggerEventKind.SUPPRESSED and suppressed.status == "budget"
    loop_helpers.SIGNAL["value"] = 0.0


def test_dry_run_records_what_it_would_have_done(loop_ws: loopml.Workspace) -> None:
    triggers.add_trigger(
        "dry",
        "drift",
        "fraud",
        condition={"threshold": 0.5, "source": f"{H}:signal"},
        action={"train": f"{H}:train", "deployment": "fraud"},
        dry_run=True,
    )
    loop_helpers.SIGNAL["value"] = 0.9
    result = triggers.check("dry")
    assert result.verdict == "dry_run" and result.chain_id is None
    event = triggers.history("dry")[0]
    assert event.kind is TriggerEventKind.DRY_RUN
    assert event.detail["plan"]["would_run"] == f"{H}:train"
    assert triggers.pending_chains() == []
    loop_helpers.SIGNAL["value"] = 0.0


def test_schedule_fires_when_due(loop_ws: loopml.Workspace) -> None:
    triggers.add_trigger("hourly", "schedule", "fraud", condition={"cron": "0 * * * *"})
    t0 = 1_700_000_000_000 - (1_700_000_000_000 % (60 * MIN)) + MIN  # 1 min past an hour
    assert triggers.check("hourly", at_ms=t0).verdict == "idle"  # baseline: next hour
    assert triggers.check("hourly", at_ms=t0 + 30 * MIN).verdict == "idle"
    assert triggers.check("hourly", at_ms=t0 + 60 * MIN).verdict == "fired"
    assert triggers.check("hourly", at_ms=t0 + 61 * MIN).verdict == "idle"


def test_new_data_fires_on_a_new_version_with_enough_rows(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    from loopml import data

    triggers.add_trigger(
        "fresh", "new_data", "fraud", condition={"dataset": "tx@main", "min_rows": 300}
    )
    assert triggers.check("fresh").verdict == "idle"  # no dataset yet
    path = tmp_path / "tx.parquet"
    loop_helpers.frame(1, rows=400).to_parquet(path)
    data.commit("tx", path)
    assert triggers.check("fresh").verdict == "idle"  # baseline: v1
    loop_helpers.frame(2, rows=500).to_parquet(path)
    data.commit("tx", path)
    assert triggers.check("fresh").verdict == "idle"  # only 100 new rows
    loop_helpers.frame(3, rows=800).to_parquet(path)
    data.commit("tx", path)
    fired = triggers.check("fresh")
    assert fired.verdict == "fired" and fired.event is not None
    assert fired.event.detail["dataset"] == "tx@v3"
    assert triggers.check("fresh").verdict == "idle"  # consumed


def test_performance_fires_below_its_bound(
    loop_ws: loopml.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    triggers.add_trigger(
        "decay",
        "performance",
        "fraud",
        condition={"metric": "roc_auc", "min": 0.8, "source": f"{H}:signal"},
    )
    monkeypatch.setenv("LOOP_SIGNAL", "0.9")
    assert triggers.check("decay").verdict == "idle"
    monkeypatch.setenv("LOOP_SIGNAL", "0.6")
    fired = triggers.check("decay")
    assert fired.verdict == "fired" and fired.event is not None
    assert fired.event.detail["value"] == 0.6 and fired.event.detail["alert"] == "alert-1"


def test_upstream_model_change_fires(loop_ws: loopml.Workspace) -> None:
    from sklearn.dummy import DummyClassifier

    frame = loop_helpers.frame(0)
    for _ in range(2):
        registry.register_model(
            "features",
            DummyClassifier().fit(frame[["x1"]], frame["y"]),
            description=str(_),
            store=loop_ws.store,
            artifacts=loop_ws.artifacts,
            actor=ANA,
        )
    registry.set_alias("features", "champion", 1, store=loop_ws.store, actor=ANA)
    triggers.add_trigger("up", "upstream", "fraud", condition={"upstream": "features@champion"})
    assert triggers.check("up").verdict == "idle"
    registry.set_alias("features", "champion", 2, store=loop_ws.store, actor=ANA)
    assert triggers.check("up").verdict == "fired"
    assert triggers.check("up").verdict == "idle"


def test_drift_from_the_prediction_log_by_default(loop_ws: loopml.Workspace) -> None:
    triggers.add_trigger("drift-log", "drift", "fraud", condition={"threshold": 0.5})
    result = triggers.check("drift-log")
    assert result.verdict == "idle"  # nothing logged yet: no signal, no firing


def test_manual_triggers_fire_only_by_hand_and_names_are_unique(
    loop_ws: loopml.Workspace,
) -> None:
    triggers.add_trigger("hand", "manual", "fraud")
    assert triggers.check_all() == []
    assert triggers.fire("hand").verdict == "fired"
    with pytest.raises(Conflict):
        triggers.add_trigger("hand", "manual", "fraud")
    assert [t.name for t in triggers.list_triggers()] == ["hand"]
    triggers.remove_trigger("hand")
    assert triggers.list_triggers() == []
