"""``loopml monitor``: drift of a window against a reference, Prometheus rules, Grafana
dashboards and stored alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopml.cli._helpers import console, print_json, workspace_for
from loopml.cli._text import clip, esc

app = typer.Typer(
    help="Monitor models and data: drift with calibrated thresholds.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command("drift")
def drift_cmd(
    ctx: typer.Context,
    reference: Annotated[
        str, typer.Argument(help="Dataset ref NAME@REF, a .parquet/.csv/.json file or models:/...")
    ],
    current: Annotated[str, typer.Argument(help="Dataset ref NAME@REF or a .parquet/.csv file.")],
    columns: Annotated[
        str | None, typer.Option("--columns", help="Comma-separated columns to test.")
    ] = None,
    spec: Annotated[Path | None, typer.Option("--spec", help="Monitor spec (YAML).")] = None,
    multivariate: Annotated[
        bool,
        typer.Option("--multivariate", help="Also run the domain classifier on all features."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Drift of CURRENT against REFERENCE per column; exit 1 when drift is found."""
    import os

    from loopml.monitoring import drift

    # two local files need no loopml home; refs and model URIs resolve in the workspace
    local = os.path.isfile(reference) and os.path.isfile(current)
    ws = None if local else workspace_for(ctx, read_only=True)
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    report = drift(
        reference, current, columns=names, spec=spec, multivariate=multivariate, workspace=ws
    )
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(report.table())
        verdict = ", ".join(report.drifted_columns) if report.drifted else "none"
        console.print(f"drifted: {verdict}")
    if report.drifted:
        raise typer.Exit(1)


def _write(text: str, output: Path | None, what: str) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    from loopml.errors import InvalidInput

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            f"cannot write {what} to {output} ({exc.strerror})",
            hint="Pass --output a path in a writable folder.",
        ) from None
    console.print(f"wrote {what} to {esc(output)}")


def _min_metrics(pairs: list[str] | None) -> dict[str, float]:
    from loopml.errors import InvalidInput

    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError(pair)
            out[name.strip()] = float(value)
        except ValueError:
            raise InvalidInput(
                f"--min-metric takes NAME=VALUE, got {pair!r}",
                hint="For example --min-metric accuracy=0.8.",
            ) from None
    return out


@app.command("rules")
def rules_cmd(
    deployment: Annotated[str, typer.Argument(help="Deployment name (the `deployment` label).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the rules here (default: stdout).")
    ] = None,
    range_: Annotated[
        str, typer.Option("--range", help="Rate window of the recording rules.")
    ] = "5m",
    max_error_ratio: Annotated[
        float, typer.Option("--max-error-ratio", help="Error ratio that fires an alert.")
    ] = 0.05,
    max_p99: Annotated[
        float, typer.Option("--max-p99", help="p99 latency (seconds) that fires an alert.")
    ] = 0.5,
    for_: Annotated[
        str, typer.Option("--for", help="How long a condition holds before it fires.")
    ] = "5m",
    min_metric: Annotated[
        list[str] | None,
        typer.Option("--min-metric", help="NAME=VALUE: alert when the metric is below VALUE."),
    ] = None,
    job: Annotated[
        str | None, typer.Option("--job", help="Scrape job of its servers (default: DEPLOYMENT).")
    ] = None,
) -> None:
    """Write Prometheus recording and alerting rules for DEPLOYMENT."""
    from loopml.monitoring import RuleOptions, rules_yaml

    options = RuleOptions(
        range=range_,
        max_error_ratio=max_error_ratio,
        max_p99_s=max_p99,
        for_=for_,
        min_metrics=_min_metrics(min_metric),
        job=job,
    )
    _write(rules_yaml(deployment, options), output, "Prometheus rules")


@app.command("dashboard")
def dashboard_cmd(
    deployment: Annotated[str, typer.Argument(help="Deployment name (the `deployment` label).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the dashboard here (default: stdout)."),
    ] = None,
) -> None:
    """Write a Grafana dashboard (JSON) for DEPLOYMENT."""
    from loopml.monitoring import dashboard_json

    _write(dashboard_json(deployment), output, "Grafana dashboard")


@app.command("alerts")
def alerts_cmd(
    ctx: typer.Context,
    state: Annotated[
        str | None, typer.Option("--state", help="Only alerts in this state: firing or resolved.")
    ] = None,
    deployment: Annotated[
        str | None, typer.Option("--deployment", help="Only this deployment's alerts.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the alerts as JSON.")] = False,
) -> None:
    """List stored alerts, newest first."""
    from datetime import UTC, datetime

    from rich.table import Table

    from loopml.monitoring import list_alerts

    ws = workspace_for(ctx, read_only=True)
    alerts = list_alerts(state=state, deployment=deployment, limit=limit, workspace=ws)
    if as_json:
        print_json([a.to_dict() for a in alerts])
        return
    if not alerts:
        console.print("no alerts")
        return

    def when(ms: int | None) -> str:
        if ms is None:
            return ""
        return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")

    table = Table(
        "fired", "state", "severity", "rule", "deployment", "subject", "value", "resolved"
    )
    for a in alerts:
        table.add_row(
            when(a.fired_at_ms),
            a.state.value,
            a.severity.value,
            clip(a.rule),
            clip(a.deployment),
            clip(a.subject),
            f"{a.value:.4g} ({'>' if a.value > a.bound else '<'} {a.bound:g})",
            when(a.resolved_at_ms),
        )
    console.print(table)


# -- windows, performance and reports (the "windows" engineer) ---------------------------


def _reference_arg(text: str | None) -> str | None:
    return text or None


@app.command("windows")
def windows_cmd(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Deployment or model name (deployment:NAME...).")],
    window: Annotated[
        str, typer.Option("--window", help="Window plan: 1000, 1000/250, 1h or 1h/15m.")
    ] = "1000",
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="Drift reference (default: the model's training data)."),
    ] = None,
    spec: Annotated[Path | None, typer.Option("--spec", help="Monitor spec (YAML).")] = None,
    recompute: Annotated[
        bool, typer.Option("--recompute", help="Recompute windows stored as complete.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="Windows to show, newest last.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the windows as JSON.")] = False,
) -> None:
    """Compute TARGET's monitor windows from its prediction log; exit 1 when the latest drifted."""
    from dataclasses import asdict

    from rich.table import Table

    from loopml.cli._text import esc
    from loopml.monitoring import compute_windows, latest_windows

    ws = workspace_for(ctx, read_only=True)
    compute_windows(
        target,
        window=window,
        reference=_reference_arg(reference),
        spec=spec,
        recompute=recompute,
        workspace=ws,
    )
    shown = list(reversed(latest_windows(target, window=window, limit=limit, workspace=ws)))
    if as_json:
        print_json({"target": target, "window": window, "windows": [asdict(w) for w in shown]})
    else:
        table = Table(title=f"monitor windows of {esc(target)} ({esc(window)})")
        for name in ("start", "rows", "complete", "labelled", "accuracy", "est.", "drifted"):
            table.add_column(name, justify="left" if name == "start" else "right")
        for w in shown:
            acc = w.realised.get("accuracy") or w.realised.get("mae")
            est = w.estimated.get("accuracy")
            columns = [k for k, v in w.drift.items() if isinstance(v, dict) and v.get("drifted")]
            table.add_row(
                _stamp(w.start_ms),
                str(w.rows),
                "yes" if w.complete else "no",
                str(w.labelled),
                "-" if acc is None else f"{acc:.4g}",
                "-" if est is None else f"{est:.4g}",
                esc(", ".join(columns)) or "none",
                style="red" if w.drifted else "",
            )
        console.print(table)
    if shown and shown[-1].drifted:
        raise typer.Exit(1)


def _stamp(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


@app.command("performance")
def performance_cmd(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Deployment or model name (deployment:NAME...).")],
    window: Annotated[
        str, typer.Option("--window", help="Window plan: 1000, 1000/250, 1h or 1h/15m.")
    ] = "1000",
    prediction: Annotated[
        str | None, typer.Option("--prediction", help="Prediction column (out.NAME).")
    ] = None,
    score: Annotated[
        str | None, typer.Option("--score", help="Positive-class probability column.")
    ] = None,
    calibrate_on: Annotated[
        Path | None,
        typer.Option("--calibrate-on", help="Parquet/CSV with the score column and label."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Realised metrics per window from feedback, and CBPE estimates where scores exist."""
    from rich.table import Table

    from loopml.cli._text import esc
    from loopml.errors import InvalidInput
    from loopml.monitoring import performance, resolve_target
    from loopml.serving import read_predictions

    ws = workspace_for(ctx, read_only=True)
    aim = resolve_target(target, ws)
    log = read_predictions(model=aim.model, deployment=aim.deployment, workspace=ws)
    if log.empty:
        raise InvalidInput(
            f"no logged predictions for {target!r}",
            hint="Serve the model with the prediction log on, or check the name.",
        )
    reference = None
    if calibrate_on is not None:
        import pandas as pd

        text = str(calibrate_on)
        reference = pd.read_parquet(text) if text.endswith(".parquet") else pd.read_csv(text)
    report = performance(
        log, window=window, prediction=prediction, score=score, reference=reference
    )
    if as_json:
        print_json({"target": target, **report.to_dict()})
        return
    keys = ["accuracy", "f1", "auc"] if report.task == "classification" else ["mae", "rmse"]
    table = Table(title=f"performance of {esc(target)} ({esc(report.window)})")
    for name in ("start", "rows", "labelled", "late", *keys, "est. accuracy"):
        table.add_column(name, justify="left" if name == "start" else "right")
    for w in report.windows:
        est = w.estimated.get("accuracy")
        values = [w.realised.get(k) for k in keys]
        table.add_row(
            _stamp(w.start_ms),
            str(w.rows),
            f"{w.labelled} ({w.labelled_fraction:.0%})",
            str(w.late_labels),
            *["-" if v is None else f"{v:.4g}" for v in values],
            "-" if est is None else f"{est:.4g}",
        )
    console.print(table)


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Deployment or model name (deployment:NAME...).")],
    window: Annotated[
        str, typer.Option("--window", help="Window plan: 1000, 1000/250, 1h or 1h/15m.")
    ] = "1000",
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="Drift reference (default: the model's training data)."),
    ] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Write the self-contained HTML page here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """A report of TARGET: distributions, drift over time, realised and estimated performance."""
    from loopml.errors import InvalidInput
    from loopml.monitoring import monitor_report, render_html

    if html_out is None and not as_json:
        raise InvalidInput(
            "monitor report needs --html FILE or --json",
            hint="For example: loopml monitor report web --html report.html",
        )
    ws = workspace_for(ctx, read_only=True)
    data = monitor_report(target, window=window, reference=_reference_arg(reference), workspace=ws)
    if html_out is not None:
        html_out.write_text(render_html(data), encoding="utf-8")
        if not as_json:
            console.print(f"wrote {html_out}", markup=False)
    if as_json:
        print_json(data)
