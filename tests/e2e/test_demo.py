"""``loopml demo`` end to end through the real CLI, in a temporary home."""

from __future__ import annotations

import json
from pathlib import Path

from loopml.entities import RunStatus
from loopml.store.sql import SqlStore
from tests.fixtures.cli import Cli


def test_demo_runs_the_whole_lifecycle(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    result = cli(
        "--home", str(home), "demo", "--days", "12", "--rows-per-day", "1500", "--json", timeout=300
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rows"] == 18_000 and 0.005 < summary["fraud_rate"] < 0.05
    assert summary["dataset_version"] == "transactions@v1" and summary["validation_ok"]
    assert "unknown_category" in summary["drift_anomalies"]  # the drifted window's new country
    assert summary["roc_auc"] > 0.75
    assert summary["tune_trials"] == 4
    assert summary["gates_total"] >= 10
    assert summary["promoted"] == summary["gates_passed"]
    assert Path(summary["card_path"]).is_file() and Path(summary["report_path"]).is_file()
    assert summary["pipeline_steps"] == 6
    assert summary["pipeline_cached_on_rerun"] == 5  # all but register come from the cache
    assert summary["pipeline_candidate"] == "fraud@candidate"
    # served over real HTTP on loopback; every prediction logged and labelled by feedback
    assert summary["serve_url"].startswith("http://127.0.0.1:")
    assert summary["serve_requests"] == 400 and summary["serve_errors"] == 0
    assert summary["predictions_logged"] == 400 and summary["feedback_labelled"] == 400
    assert summary["live_accuracy"] > 0.9

    with SqlStore(f"sqlite:///{home / 'loopml.db'}") as store:
        run = store.get_run(summary["run_id"])
        assert run.status is RunStatus.FINISHED and run.tags["demo"] == "closed-loop"
        assert store.metric_history(run.id, "roc_auc")[0].value == summary["roc_auc"]
        assert store.metric_history(run.id, "system/cpu_percent")
        trials = [
            r for r in store.list_runs(limit=50) if r.parent_id == summary["tune_parent_run_id"]
        ]
        assert len(trials) == 4
        assert store.get_model_version("fraud", summary["model_version"]).run_id == run.id
        assert store.get_alias("fraud", "candidate").run_id is not None
        if summary["promoted"]:
            assert store.get_alias("fraud", "champion").number == summary["model_version"]
        # The template pipeline ran twice on the demo's own data: it added no data version,
        # and its second (cached) run registered nothing new.
        assert len(store.list_versions(store.get_dataset("transactions").id)) == 1
        assert [v.number for v in store.list_model_versions("fraud")] == [2, 1]

    lineage = json.loads(
        cli("--home", str(home), "lineage", "show", f"run:{run.id}", "--json").stdout
    )
    assert [e["relation"] for e in lineage["up"]] == ["trained_on"]
    assert lineage["up"][0]["src"].startswith("dataset_version:")
    assert any(e["dst"].startswith("model_version:") for e in lineage["down"])

    # Run twice on one home: the one genuine change is the demo's new training run.
    human = cli("--home", str(home), "demo", "--days", "12", "--rows-per-day", "1500", timeout=300)
    assert human.returncode == 0, human.stderr
    assert "held-out ROC-AUC" in human.stdout and "model card" in human.stdout
    with SqlStore(f"sqlite:///{home / 'loopml.db'}") as store:
        assert len(store.list_versions(store.get_dataset("transactions").id)) == 1
        assert [v.number for v in store.list_model_versions("fraud")] == [3, 2, 1]
        assert store.get_alias("fraud", "candidate").number == 2
