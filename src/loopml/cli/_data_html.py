"""HTML reports: the profile (one section per column with an inline SVG histogram or bar
chart) and the validation report."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopml.data import ValidationReport

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
section{border-top:1px solid #ddd;padding:1em 0}table{border-collapse:collapse}
td{padding:2px 10px;font-size:.9em}.k{color:#666}"""


def _bars(counts: list[float], labels: list[str], width: int = 420, height: int = 120) -> str:
    if not counts:
        return ""
    top = max(counts) or 1
    step = width / len(counts)
    bars = "".join(
        f'<rect x="{i * step:.1f}" y="{height - h:.1f}" width="{max(step - 1, 1):.1f}" '
        f'height="{h:.1f}" fill="#4c78a8"><title>{html.escape(label)}: {c:g}</title></rect>'
        for i, (c, label) in enumerate(zip(counts, labels, strict=True))
        for h in [c / top * height]
    )
    return f'<svg width="{width}" height="{height}" role="img">{bars}</svg>'


def render_html(title: str, profile: dict[str, Any]) -> str:
    """A self-contained HTML page for a ``loopml.profile/1`` profile."""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
        f"<p>{profile['rows']:,} rows, {len(profile['columns'])} columns</p>",
    ]
    for name, col in profile["columns"].items():
        keys = ("type", "kind", "count", "nulls", "distinct", "min", "max", "mean", "std")
        rows = "".join(
            f"<tr><td class='k'>{k}</td><td>{html.escape(str(col.get(k)))}</td></tr>"
            for k in keys
            if k in col
        )
        chart = ""
        if "histogram" in col:
            edges = col["histogram"]["edges"]
            labels = [f"{edges[i]:.4g} - {edges[i + 1]:.4g}" for i in range(len(edges) - 1)]
            chart = _bars(col["histogram"]["counts"], labels)
        elif col.get("top"):
            chart = _bars([t["count"] for t in col["top"]], [str(t["value"]) for t in col["top"]])
        parts.append(f"<section><h2>{html.escape(name)}</h2><table>{rows}</table>{chart}</section>")
    parts.append("</body></html>")
    return "".join(parts)


def render_validation_html(report: ValidationReport) -> str:
    """A self-contained HTML page for a validation report: one row per anomaly, with the
    origin of the rule it breaks (inferred, user or builtin)."""
    title = f"validation of {report.target}"
    errors = report.errors_by_origin()
    verdict = (
        "valid"
        if report.ok
        else f"{len(report.errors)} error(s): "
        + ", ".join(f"{n} against {origin} rules" for origin, n in errors.items() if n)
    )
    head = "".join(
        f"<th>{h}</th>" for h in ("severity", "kind", "column", "rule", "rows", "message")
    )
    rows = "".join(
        f"<tr class='{a.severity}'><td>{a.severity}</td><td>{html.escape(a.kind)}</td>"
        f"<td>{html.escape(a.column or '')}</td><td class='origin'>{a.origin}</td>"
        f"<td>{a.count}</td><td>{html.escape(a.message)}</td></tr>"
        for a in report.anomalies
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}.error td:first-child{{color:#b00}}th{{text-align:left}}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>"
        f"<p>{report.rows:,} rows: {html.escape(verdict)}</p>"
        f"<table><tr>{head}</tr>{rows}</table></body></html>"
    )
