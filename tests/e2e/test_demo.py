"""``loopml demo`` end to end through the real CLI, in a temporary home."""

from __future__ import annotations

import json
from pathlib import Path

from loopml.artifacts import ArtifactStore
from loopml.store.sql import SqlStore
from tests.fixtures.cli import Cli


def test_demo_records_data_run_model_and_lineage(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    result = cli("--home", str(home), "demo", "--days", "10", "--rows-per-day", "1500", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rows"] == 15_000
    assert 0.005 < summary["fraud_rate"] < 0.05
    assert summary["roc_auc"] > 0.75

    blobs = ArtifactStore(str(home / "artifacts"))
    assert blobs.exists(summary["data_digest"]) and blobs.exists(summary["model_digest"])
    with SqlStore(f"sqlite:///{home / 'loopml.db'}") as store:
        run = store.get_run(summary["run_id"])
        assert run.status.value == "FINISHED"
        assert run.params["train_rows"] and run.tags["demo"] == "closed-loop"
        assert store.metric_history(run.id, "roc_auc")[0].value == summary["roc_auc"]

    lineage = json.loads(
        cli("--home", str(home), "lineage", "show", f"run:{run.id}", "--json").stdout
    )
    assert lineage["up"][0]["src"] == f"artifact:{summary['data_digest']}"
    assert lineage["down"][0]["dst"] == f"artifact:{summary['model_digest']}"

    human = cli("--home", str(home), "demo", "--days", "5", "--rows-per-day", "500")
    assert human.returncode == 0, human.stderr
    assert "held-out ROC-AUC" in human.stdout and "loopml lineage show run:" in human.stdout
