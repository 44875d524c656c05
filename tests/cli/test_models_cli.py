"""`loopml evaluate` and `loopml models` through the real command line."""

from __future__ import annotations

import json

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from loopml.models import save_model


def test_evaluate_register_promote_card_package(cli, tmp_path):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X.columns = [c.replace(" ", "_") for c in X.columns]
    save_model(LogisticRegression(max_iter=5000).fit(X, y), tmp_path / "m", input_example=X.head())
    X.assign(target=y).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "gates.yaml").write_text("metrics:\n  roc_auc: {min: 0.9}\n")
    (tmp_path / "strict.yaml").write_text("metrics:\n  roc_auc: {min: 0.9999}\n")
    (tmp_path / "typo.yaml").write_text("metrics:\n  roc_acu: {min: 0.9}\n")
    ana = {"LOOPML_USER": "ana"}
    ben = {"LOOPML_USER": "ben"}
    base = ["evaluate", "m", "--data", "data.csv", "--target", "target", "--no-infra"]
    ok = cli(*base, "--gates", "gates.yaml", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["passed"] is True
    bad = cli(*base, "--gates", "strict.yaml")
    assert bad.returncode == 1 and "FAIL" in bad.stdout and "roc_auc min 0.9999" in bad.stdout
    typo = cli(*base, "--gates", "typo.yaml")
    assert typo.returncode == 2 and "typo.yaml:2" in typo.stderr and "roc_auc" in typo.stderr

    assert cli("models", "register", "bc", "m", "--gates", "gates.yaml", env=ana).returncode == 0
    assert cli("models", "policy", "bc", "champion", env=ana).returncode == 0
    request = json.loads(
        cli("models", "request-promotion", "bc/1", "champion", "--json", env=ana).stdout
    )
    refused = cli("models", "promote", request["id"], env=ana)
    assert refused.returncode == 1 and "approval" in refused.stderr and "gated" in refused.stderr
    own = cli("models", "approve", request["id"], env=ana)
    assert own.returncode == 2 and "not the author" in own.stderr
    assert cli("models", "approve", request["id"], "-m", "fine", env=ben).returncode == 0
    no_gates = cli("models", "promote", request["id"], env=ana)
    assert no_gates.returncode == 1 and "gated evaluation" in no_gates.stderr
    assert (
        cli(
            "evaluate",
            "models:/bc/1",
            "--data",
            "data.csv",
            "--target",
            "target",
            "--no-infra",
            env=ana,
        ).returncode
        == 0
    )
    assert cli("models", "promote", request["id"], env=ana).returncode == 0
    history = json.loads(cli("models", "history", "bc", "champion", "--json").stdout)
    assert [(h["from_version"], h["to_version"], h["actor"]) for h in history] == [(None, 1, "ana")]
    card = cli("models", "card", "bc@champion")
    assert card.returncode == 0 and card.stdout.strip().endswith(".md")
    assert cli("models", "package", "bc@champion", "--out", "bundle").returncode == 0
    assert (tmp_path / "bundle" / "k8s" / "deployment.yaml").is_file()
    listed = json.loads(cli("models", "versions", "bc", "--json").stdout)
    assert listed[0]["aliases"] == ["champion"]
    assert cli("models", "show", "nope").returncode == 2
