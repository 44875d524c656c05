"""`loopml monitor dashboard`: Grafana's dashboard JSON model, and every query parses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from loopml.monitoring import grafana_dashboard
from tests.fixtures.cli import Cli
from tests.monitoring.prom import promtool

#: The documented dashboard model (grafana.com/docs/grafana/latest/dashboards/build-dashboards/
#: view-dashboard-json-model/): required top-level fields and their JSON types.
TOP = {
    "id": (type(None), int),
    "uid": str,
    "title": str,
    "tags": list,
    "timezone": str,
    "editable": bool,
    "graphTooltip": int,
    "time": dict,
    "timepicker": dict,
    "templating": dict,
    "annotations": dict,
    "refresh": str,
    "schemaVersion": int,
    "version": int,
    "panels": list,
}
PANEL = {
    "id": int,
    "type": str,
    "title": str,
    "gridPos": dict,
    "datasource": dict,
    "targets": list,
    "fieldConfig": dict,
    "options": dict,
}
PANEL_TYPES = {"timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "text"}
VARIABLE_TYPES = {"query", "datasource", "custom", "constant", "interval", "textbox", "adhoc"}
#: Values Grafana would substitute, so a query can be checked outside Grafana.
SUBSTITUTE = {
    "${datasource}": "prom",
    "$deployment": "fraud",
    "$arm": ".*",
    "$instance": ".*",
    "$feature": ".*",
    "$__rate_interval": "1m",
}


def _types(obj: dict[str, Any], spec: dict[str, Any], where: str) -> list[str]:
    errors = [f"{where}: missing {k}" for k in spec if k not in obj]
    for key, kind in spec.items():
        if key in obj and not isinstance(obj[key], kind):
            errors.append(f"{where}.{key}: {type(obj[key]).__name__}, not {kind}")
    return errors


def model_errors(dash: dict[str, Any]) -> list[str]:
    """What in ``dash`` breaks Grafana's dashboard JSON model (empty: none)."""
    errors = _types(dash, TOP, "dashboard")
    if dash.get("schemaVersion", 0) < 36:
        errors.append("schemaVersion is older than Grafana 9 (36)")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", str(dash.get("uid"))):
        errors.append(f"uid {dash.get('uid')!r} is not 1-40 of [A-Za-z0-9_-]")
    if set(dash["time"]) != {"from", "to"}:
        errors.append("time must have from and to")
    ids = [p.get("id") for p in dash["panels"]]
    if len(set(ids)) != len(ids):
        errors.append(f"panel ids repeat: {ids}")
    cells: set[tuple[int, int]] = set()
    for i, panel in enumerate(dash["panels"]):
        where = f"panels[{i}]"
        errors += _types(panel, PANEL, where)
        if panel.get("type") not in PANEL_TYPES:
            errors.append(f"{where}.type {panel.get('type')!r}")
        pos = panel["gridPos"]
        errors += _types(pos, {"x": int, "y": int, "w": int, "h": int}, f"{where}.gridPos")
        if not (0 <= pos["x"] and pos["w"] > 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0):
            errors.append(f"{where}.gridPos {pos} is outside the 24-column grid")
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                if (x, y) in cells:
                    errors.append(f"{where} overlaps another panel at {(x, y)}")
                cells.add((x, y))
        refs = [t.get("refId") for t in panel["targets"]]
        if not refs or len(set(refs)) != len(refs):
            errors.append(f"{where}: targets need distinct refIds, got {refs}")
        for t in panel["targets"]:
            errors += _types(t, {"refId": str, "expr": str, "datasource": dict}, f"{where}.target")
        if "defaults" not in panel["fieldConfig"] or "overrides" not in panel["fieldConfig"]:
            errors.append(f"{where}.fieldConfig needs defaults and overrides")
    for i, var in enumerate(dash["templating"].get("list", [])):
        where = f"templating.list[{i}]"
        errors += _types(var, {"name": str, "type": str, "query": (str, dict)}, where)
        if var.get("type") not in VARIABLE_TYPES:
            errors.append(f"{where}.type {var.get('type')!r}")
    for i, ann in enumerate(dash["annotations"].get("list", [])):
        errors += _types(ann, {"name": str, "datasource": dict, "enable": bool}, f"ann[{i}]")
    return errors


def _exprs(dash: dict[str, Any]) -> list[str]:
    found = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    for var in dash["templating"]["list"]:
        if var["type"] == "query":
            inner = re.fullmatch(r"label_values\((.*), \w+\)", var["definition"])
            assert inner, var["definition"]
            found.append(inner.group(1))
    return found


def test_the_dashboard_fits_grafanas_model(run_cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "dash.json"
    done = run_cli("monitor", "dashboard", "fraud", "--output", str(out))
    assert done.returncode == 0, done.stderr
    dash = json.loads(out.read_text())
    assert model_errors(dash) == []
    assert dash["schemaVersion"] == 39 and dash["title"] == "loopml · fraud"
    names = [v["name"] for v in dash["templating"]["list"]]
    assert names == ["datasource", "deployment", "arm", "instance", "feature"]
    assert dash["templating"]["list"][1]["current"]["value"] == "fraud"
    titles = {p["title"] for p in dash["panels"]}
    assert {
        "Latency percentiles",
        "Throughput",
        "Errors by kind",
        "Drift per feature",
        "Realised vs estimated metrics",
        "Batch sizes",
    } <= titles


def test_the_checker_notices_a_broken_dashboard() -> None:
    dash = grafana_dashboard("fraud")
    del dash["uid"]
    dash["panels"][1]["gridPos"] = dict(dash["panels"][0]["gridPos"])
    dash["panels"][2]["targets"][0]["refId"] = 7
    errors = model_errors(dash)
    assert any("missing uid" in e for e in errors)
    assert any("overlaps" in e for e in errors)
    assert any("refId" in e for e in errors)


def test_every_query_parses_in_promtool(tmp_path: Path) -> None:
    dash = grafana_dashboard("fraud")
    exprs = _exprs(dash)
    assert len(exprs) >= 14
    rules = []
    for i, expr in enumerate(exprs):
        for var, value in SUBSTITUTE.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    (tmp_path / "queries.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]})
    )
    done = promtool("check", "rules", str(tmp_path / "queries.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout


def test_stdout_and_bad_names(run_cli: Cli) -> None:
    shown = run_cli("monitor", "dashboard", "churn")
    assert shown.returncode == 0 and json.loads(shown.stdout)["uid"].startswith("loopml-")
    bad = run_cli("monitor", "dashboard", "a b")
    assert bad.returncode == 2 and "deployment name" in bad.stderr
