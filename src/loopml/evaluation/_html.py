"""The HTML report: tables plus inline SVG plots (ROC, PR, calibration, confusion matrix,
importance), with no plotting dependency."""

from __future__ import annotations

import html
from typing import Any

from jinja2 import Environment

_W, _H, _PAD = 320, 240, 32


def _line_plot(
    title: str, x: list[float], y: list[float], *, diagonal: bool, xl: str, yl: str
) -> str:
    def px(v: float) -> float:
        return _PAD + v * (_W - 2 * _PAD)

    def py(v: float) -> float:
        return _H - _PAD - v * (_H - 2 * _PAD)

    points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, y, strict=False))
    diag = (
        f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(1)}" y2="{py(1)}" stroke="#bbb" stroke-dasharray="4"/>'
        if diagonal
        else ""
    )
    return (
        f'<figure><figcaption>{html.escape(title)}</figcaption><svg width="{_W}" height="{_H}" '
        f'role="img" aria-label="{html.escape(title)}"><rect x="{_PAD}" y="{_PAD}" '
        f'width="{_W - 2 * _PAD}" height="{_H - 2 * _PAD}" fill="none" stroke="#888"/>{diag}'
        f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>'
        f'<text x="{_W / 2}" y="{_H - 6}" text-anchor="middle" font-size="11">{xl}</text>'
        f'<text x="10" y="{_H / 2}" font-size="11" transform="rotate(-90 10 {_H / 2})" '
        f'text-anchor="middle">{yl}</text></svg></figure>'
    )


def _confusion(labels: list[str], matrix: list[list[int]]) -> str:
    n = max(1, len(labels))
    cell = min(60, (_W - 2 * _PAD) // n)
    top = max(1, max((max(r) for r in matrix), default=1))
    rects = []
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            shade = int(255 - 200 * value / top)
            rects.append(
                f'<rect x="{_PAD + j * cell}" y="{_PAD + i * cell}" width="{cell}" height="{cell}" '
                f'fill="rgb({shade},{shade},255)" stroke="#fff"/><text x="{_PAD + j * cell + cell / 2}" '
                f'y="{_PAD + i * cell + cell / 2 + 4}" text-anchor="middle" font-size="11">{value}</text>'
            )
    size = 2 * _PAD + n * cell
    return (
        f"<figure><figcaption>Confusion matrix (rows: true {', '.join(map(html.escape, labels))}; "
        f'columns: predicted)</figcaption><svg width="{size}" height="{size}" role="img" '
        f'aria-label="confusion matrix">{"".join(rects)}</svg></figure>'
    )


def _bars(title: str, values: dict[str, float]) -> str:
    items = list(values.items())[:15]
    top = max((abs(v) for _, v in items), default=1.0) or 1.0
    rows = []
    for i, (name, value) in enumerate(items):
        width = 180 * max(0.0, value) / top
        rows.append(
            f'<text x="150" y="{20 + i * 18}" text-anchor="end" font-size="11">{html.escape(name)}</text>'
            f'<rect x="155" y="{10 + i * 18}" width="{width:.1f}" height="12" fill="#2ca02c"/>'
            f'<text x="{160 + width:.1f}" y="{20 + i * 18}" font-size="10">{value:.4f}</text>'
        )
    return (
        f'<figure><figcaption>{html.escape(title)}</figcaption><svg width="420" '
        f'height="{20 + 18 * len(items)}" role="img" aria-label="{html.escape(title)}">'
        f"{''.join(rows)}</svg></figure>"
    )


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evaluation of {{ r.model_uri }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.pass{color:#17803d;font-weight:600}.fail{color:#b42318;font-weight:600}
figure{display:inline-block;margin:0 1em 1em 0}figcaption{font-size:13px;font-weight:600}</style>
</head><body>
<h1>Evaluation of {{ r.model_uri }}</h1>
<p>Task: {{ r.task }} &middot; rows: {{ r.rows }}{% if r.passed is not none %} &middot; gates:
<span class="{{ 'pass' if r.passed else 'fail' }}">{{ 'PASSED' if r.passed else 'FAILED' }}</span>{% endif %}</p>
{% if r.gates %}<h2>Gates</h2><table><tr><th>rule</th><th>measured</th><th>bound</th><th>result</th><th>detail</th></tr>
{% for g in r.gates %}<tr><td>{{ g.rule }}</td><td>{{ fmt(g.measured) }}</td><td>{{ fmt(g.bound) }}</td>
<td class="{{ 'pass' if g.passed else 'fail' }}">{{ 'pass' if g.passed else 'FAIL' }}</td><td>{{ g.detail }}</td></tr>{% endfor %}</table>{% endif %}
<h2>Metrics</h2><table>{% for k, v in r.metrics.items() %}<tr><th>{{ k }}</th><td>{{ fmt(v) }}</td>
{% if r.reference and r.reference.metrics %}<td>reference {{ fmt(r.reference.metrics.get(k)) }}</td>{% endif %}</tr>{% endfor %}</table>
<div>{{ plots|safe }}</div>
{% if r.slices %}<h2>Slices</h2><table><tr><th>slice</th><th>rows</th>{% for k in metric_names %}<th>{{ k }}</th>{% endfor %}</tr>
{% for name, s in r.slices.items() %}<tr><td>{{ name }}</td><td>{{ s.rows }}</td>{% for k in metric_names %}<td>{{ fmt(s.metrics.get(k)) }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}
{% if r.fairness %}<h2>Fairness</h2>{% for col, f in r.fairness.items() %}<h3>{{ col }}</h3>
<p>demographic parity difference {{ fmt(f.demographic_parity_difference) }}, ratio {{ fmt(f.demographic_parity_ratio) }},
equalised odds difference {{ fmt(f.equalized_odds_difference) }}</p>
<table><tr><th>group</th><th>count</th><th>selection rate</th><th>TPR</th><th>FPR</th><th>accuracy</th></tr>
{% for g, v in f.groups.items() %}<tr><td>{{ g }}</td><td>{{ v.count|int }}</td><td>{{ fmt(v.selection_rate) }}</td><td>{{ fmt(v.tpr) }}</td><td>{{ fmt(v.fpr) }}</td><td>{{ fmt(v.accuracy) }}</td></tr>{% endfor %}</table>{% endfor %}{% endif %}
{% if r.robustness %}<h2>Robustness</h2><table><tr><th>perturbation</th><th>metric</th><th>drop</th><th>error</th></tr>
{% for k, v in r.robustness.items() %}<tr><td>{{ k }}</td><td>{{ fmt(v.metric) }}</td><td>{{ fmt(v.drop) }}</td><td>{{ v.error or '' }}</td></tr>{% endfor %}</table>{% endif %}
{% if r.infra %}<h2>Infrastructure</h2><table>{% for k, v in r.infra.items() %}<tr><th>{{ k }}</th><td>{{ fmt(v) }}</td></tr>{% endfor %}</table>{% endif %}
{% if r.leakage is not none %}<h2>Leakage</h2>{% if r.leakage %}<ul>{% for f in r.leakage %}<li>{{ f.detail }}</li>{% endfor %}</ul>{% else %}<p>No findings.</p>{% endif %}{% endif %}
</body></html>
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e6 else f"{value:.3g}"
    return html.escape(str(value))


def render_html(report: dict[str, Any]) -> str:
    """Render an evaluation report (the dict of ``EvaluationReport.to_dict``) as HTML."""
    curves = report.get("curves") or {}
    plots = []
    if "roc" in curves:
        plots.append(
            _line_plot(
                "ROC curve",
                curves["roc"]["x"],
                curves["roc"]["y"],
                diagonal=True,
                xl="false positive rate",
                yl="true positive rate",
            )
        )
    if "pr" in curves:
        plots.append(
            _line_plot(
                "Precision-recall curve",
                curves["pr"]["x"],
                curves["pr"]["y"],
                diagonal=False,
                xl="recall",
                yl="precision",
            )
        )
    if "calibration" in curves:
        plots.append(
            _line_plot(
                "Calibration",
                curves["calibration"]["x"],
                curves["calibration"]["y"],
                diagonal=True,
                xl="mean predicted",
                yl="fraction positive",
            )
        )
    if "confusion_matrix" in curves:
        plots.append(_confusion(curves["labels"], curves["confusion_matrix"]))
    importance = (report.get("analysis") or {}).get("permutation_importance")
    if importance:
        plots.append(_bars("Permutation importance (metric drop)", importance))
    env = Environment(autoescape=True)
    template = env.from_string(_TEMPLATE)
    metric_names = list(report.get("metrics", {}))
    return template.render(r=report, plots="".join(plots), fmt=_fmt, metric_names=metric_names)
