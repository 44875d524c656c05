"""Exit codes per command group: 0 ok, 1 a check said no, 2 bad usage or input.

Every case runs against the seeded home in this process. A non-zero exit must come with a
message on stderr and never with a traceback; input errors (2) start with ``error:`` (a
loopml error) or Click's ``Usage:`` block (a usage error).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Seeded
from tests.fixtures.cli import Cli

EVAL = ["evaluate", "models:/fraud/1", "--data", "{folder}/data.csv", "--target", "is_fraud"]
PIPE = "tests.pipelines.steps"

ANA = {"LOOPML_USER": "ana"}  # the author of the seeded version and request

# (group, argv, exit code, text the output must contain[, extra environment])
CASES: list[tuple] = [
    ("data", ["data", "log", "tx"], 0, "second"),
    ("data", ["data", "validate", "tx@main", "--schema", "{tmp}/strict.yaml"], 1, "error(s)"),
    ("data", ["data", "commit", "more", "{folder}/absent.csv"], 2, "absent.csv"),
    ("data", ["data", "log", "no-such-dataset"], 2, "not found"),
    ("data", ["data", "commit", "x", "{folder}/new.csv", "--pii-policy", "shout"], 2, "warn"),
    ("runs", ["runs", "list"], 0, "lr-strong"),
    ("gc", ["gc", "--dry-run"], 0, "would free"),
    ("artifacts", ["artifacts", "generate-key"], 0, "="),
    (
        "artifacts",
        ["artifacts", "rotate-key", "--new-key-file", "{folder}/absent.key"],
        2,
        "absent",
    ),
    ("features", ["features", "plan", "{folder}/features.yaml"], 0, "customer_spend"),
    ("features", ["features", "plan", "{folder}/absent.yaml"], 2, "absent.yaml"),
    (
        "batch",
        ["batch", "models:/fraud/1", "-i", "tx@main", "-o", "{tmp}/s.parquet"],
        0,
        "scored 120 rows",
    ),
    (
        "batch",
        ["batch", "models:/fraud/1", "-i", "{tmp}/bad-batch.csv", "-o", "{tmp}/s.parquet"],
        2,
        "customer_age",
    ),
    ("serve", ["serve", "--help"], 0, "MODEL_URI"),
    ("server", ["server", "--help"], 0, "--no-auth"),
    ("server", ["server", "--no-auth", "--host", "0.0.0.0"], 2, "refusing to bind"),
    ("ui", ["ui", "--help"], 0, "--no-browser"),
    ("ui", ["ui", "--host", "0.0.0.0"], 2, "refusing to bind"),
    ("serve", ["serve", "{folder}/no-such-model"], 2, "no-such-model"),
    ("gc", ["gc", "--grace-minutes", "-1"], 2, "grace"),
    ("runs", ["runs", "show", "f" * 32], 2, "not found"),
    ("runs", ["runs", "list", "--filter", "metrics.auc >"], 2, "filter"),
    ("runs", ["runs", "list", "--limit", "0"], 2, "--limit"),
    ("models", ["models", "versions", "fraud"], 0, "champion"),
    ("models", ["models", "promote", "{request_id}"], 1, "no gated evaluation"),
    ("models", ["models", "approve", "{request_id}"], 2, "not the author", ANA),
    ("models", ["models", "request-promotion", "fraud", "prod"], 2, "expected NAME/NUMBER"),
    ("models", ["models", "alias", "fraud", "beta"], 2, "give a VERSION or --delete"),
    ("models", ["models", "show", "fraud/7"], 2, "not found"),
    ("models", ["models", "verify", "fraud/1"], 1, "not signed"),
    ("models", ["models", "sign", "fraud/1", "--key", "{tmp}/absent.pem"], 2, "absent.pem"),
    ("pipeline", ["pipeline", "show", "{pipeline_run}"], 0, "arithmetic"),
    (
        "pipeline",
        ["pipeline", "run", f"{PIPE}:retrying", "-p", "counter={tmp}/n", "-p", "fail_times=9"],
        1,
        "loopml pipeline resume",
    ),
    ("pipeline", ["pipeline", "run", "no_such_module:training"], 2, "cannot import module"),
    ("pipeline", ["pipeline", "run", f"{PIPE}:numbers"], 2, "not a pipeline"),
    ("pipeline", ["pipeline", "run", f"{PIPE}:arithmetic", "-p", "n"], 2, "key=value"),
    ("pipeline", ["pipeline", "show", "no-such-run"], 2, "not found"),
    ("pipeline", ["pipeline", "schedule", f"{PIPE}:arithmetic", "--cron", "61 * * *"], 2, "cron"),
    ("evaluate", [*EVAL, "--gates", "{folder}/gates.yaml", "--no-infra"], 0, "pass"),
    ("evaluate", [*EVAL, "--gates", "{folder}/strict.yaml", "--no-infra"], 1, "FAIL"),
    ("evaluate", [*EVAL, "--gates", "{folder}/typo.yaml", "--no-infra"], 2, "typo.yaml:2"),
    ("evaluate", [*EVAL[:-1], "no_such_column", "--no-infra"], 2, "no_such_column"),
    ("evaluate", ["evaluate", "models:/nobody/1", *EVAL[2:], "--no-infra"], 2, "nobody"),
    ("lineage", ["lineage", "show", "model_version:{version_id}"], 0, "produced"),
    ("predictions", ["predictions", "show", "seeded-pred-0"], 0, "seeded-pred-0"),
    ("predictions", ["predictions", "show", "no-such-prediction"], 2, "not found"),
    ("predictions", ["predictions", "export", "--output", "{tmp}/log.txt"], 2, ".parquet"),
    ("lineage", ["lineage", "show", "not-a-ref"], 2, "not-a-ref"),
    ("lineage", ["lineage", "show", "run:x", "--depth", "0"], 2, "--depth"),
    ("config", ["config", "show"], 0, "busy_timeout_s"),
    ("config", ["config", "show"], 2, "busy_timeout_s", {"LOOPML_BUSY_TIMEOUT_S": "soon"}),
    ("db", ["db", "status"], 0, "up to date"),
    ("db", ["db", "upgrade"], 0, "already at revision"),
    ("db", ["--home", "{tmp}/nowhere", "db", "status"], 2, "not found"),
    ("init", ["--home", "{tmp}/new-home", "init"], 0, "Initialised"),
    ("init", ["--home", "{tmp}/other", "init", "--template", "nonsense"], 2, "nonsense"),
    ("tune", ["tune", "{folder}/tune.yaml", "--n-trials", "1"], 0, "best value"),
    ("tune", ["tune", "{tmp}/bad-tune.yaml"], 2, "n_trials"),
    ("tune", ["tune", "{folder}/tune.yaml", "--executor", "ray"], 2, "unknown executor"),
    ("tune", ["tune", "{tmp}/absent.yaml"], 2, "absent.yaml"),
    ("agent", ["agent", "--once"], 0, "nothing due"),
    ("agent", ["agent", "--interval", "0"], 2, "--interval"),
    ("triggers", ["triggers", "list"], 0, "no triggers"),
    ("triggers", ["triggers", "show", "no-such-trigger"], 2, "not found"),
    ("triggers", ["triggers", "add", "{tmp}/absent.yaml"], 2, "absent.yaml"),
    ("readiness", ["readiness", "models:/fraud@champion"], 1, "FAIL"),
    ("readiness", ["readiness", "fraud/99"], 2, "99"),
    ("init", ["--home", "{tmp}/ci-home", "init", "--ci", "travis"], 2, "unknown CI system"),
    ("demo", ["demo", "--days", "1"], 2, "--days"),
    ("users", ["users", "list"], 0, "name"),
    ("users", ["users", "add", "bad name"], 2, "invalid account name"),
    ("tokens", ["tokens", "list"], 0, "token"),
    ("tokens", ["tokens", "create", "nobody"], 2, "not found"),
    ("roles", ["roles", "list"], 0, "models.approve"),
    ("roles", ["roles", "grant", "ana", "wizard"], 2, "unknown role"),
    ("audit", ["audit", "verify"], 0, "ok"),
    ("deploy", ["deploy", "list"], 0, "strategy"),
    ("deploy", ["deploy", "status", "no-such-deployment"], 2, "not found"),
    ("deploy", ["deploy", "run", "no-such-deployment", "--once"], 2, "not found"),
    ("deploy", ["deploy", "report", "no-such-deployment"], 2, "not found"),
    ("deploy", ["deploy", "create", "x", "--strategy", "rainbow"], 2, "unknown deployment"),
    ("audit", ["audit", "log", "--filter", "who=ana"], 2, "--filter"),
    ("monitor", ["monitor", "drift", "tx@first-cut", "{folder}/data.csv"], 0, "drifted: none"),
    ("monitor", ["monitor", "drift", "tx@first-cut", "{folder}/absent.csv"], 2, "absent.csv"),
    ("monitor", ["monitor", "rules", "fraud"], 0, "LoopmlHighErrorRatio"),
    ("monitor", ["monitor", "rules", "fraud", "--for", "soon"], 2, "Prometheus duration"),
    ("monitor", ["monitor", "dashboard", "fraud"], 0, "schemaVersion"),
    ("monitor", ["monitor", "alerts"], 0, "no alerts"),
    ("monitor", ["monitor", "alerts", "--state", "burning"], 2, "alert state"),
    ("monitor", ["monitor", "windows", "fraud"], 2, "training data version"),
    ("monitor", ["monitor", "windows", "fraud", "--window", "soon"], 2, "soon"),
    ("monitor", ["monitor", "performance", "fraud"], 0, "performance of fraud"),
    ("monitor", ["monitor", "performance", "nowhere"], 2, "no logged predictions"),
]


def _id(case: tuple) -> str:
    group, argv, code, text = case[:4]
    return f"{group}-{code}-{text}"


@pytest.fixture
def folder(tmp_path: Path, run_cli: Cli, seeded: Seeded) -> Path:
    strict = run_cli("--home", str(seeded.home), "data", "schema", "show", "tx@2")
    assert strict.returncode == 0, strict.stderr
    (tmp_path / "strict.yaml").write_text(strict.stdout)
    (tmp_path / "bad-batch.csv").write_text("amount,hour\n1.5,3\n")
    (tmp_path / "bad-tune.yaml").write_text(
        "objective: thin_objective.py:objective\nspace: {x: [1, 2]}\nn_trials: 0\n"
    )
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_exit_code(run_cli: Cli, seeded: Seeded, folder: Path, case) -> None:
    _, argv, code, text, *env = case
    values = {
        "tmp": str(folder),
        "folder": str(seeded.folder),
        "request_id": seeded.request_id,
        "pipeline_run": seeded.pipeline_run,
        "version_id": seeded.version_id,
    }
    args = [a.format(**values) for a in argv]
    home = [] if args[0] == "--home" else ["--home", str(seeded.home)]
    done = run_cli(*home, *args, cwd=seeded.folder, env=env[0] if env else None)
    output = done.stdout + done.stderr
    assert done.returncode == code, output
    assert text in " ".join(output.split()), output
    assert "Traceback" not in output
    if code == 2:
        assert done.stderr.startswith(("error: ", "Usage: ")), done.stderr


def test_every_group_has_a_case() -> None:
    from tests.cli.conftest import command_tree

    top = {path[0] for path, _ in command_tree() if len(path) == 1}
    assert top <= {group for group, *_ in CASES}
    codes = {(case[0], case[2]) for case in CASES}
    for group in ("data", "models", "pipeline", "evaluate"):  # where a check can say no
        assert (group, 1) in codes, group
    for group in top:
        # demo: tests/e2e/test_demo.py; readiness passing: tests/triggers/test_readiness.py
        assert (group, 0) in codes or group in ("demo", "readiness"), group
        assert (group, 2) in codes, group
