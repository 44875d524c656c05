"""The monitoring report: one self-contained HTML page (inline SVG, no script, no CDN)
and the same content as JSON.

Sections: per-feature distributions of the reference against the latest window, the drift
effect size of each feature over the windows (drifted windows marked), and realised against
estimated performance over time.
"""

from __future__ import annotations

import html
import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.monitoring import _numeric as num

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loopml.entities import MonitorWindow
    from loopml.monitoring._sketch import ColumnSketch
    from loopml.workspace import Workspace

W, H, PAD = 560, 220, 40
COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d")


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _frame(title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img" aria-label="{_esc(title)}">',
        f'<text x="{PAD}" y="16" font-size="13" font-weight="bold">{_esc(title)}</text>',
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 10}" y2="{H - PAD}" stroke="#999"/>',
        f'<line x1="{PAD}" y1="30" x2="{PAD}" y2="{H - PAD}" stroke="#999"/>',
    ]


def bars_svg(title: str, labels: Sequence[str], series: dict[str, Sequence[float]]) -> str:
    """Grouped bars: one group per label, one bar per series (shares, 0..max)."""
    parts = _frame(title)
    top = max([max(v, default=0.0) for v in series.values()] + [1e-12])
    n = max(len(labels), 1)
    group = (W - PAD - 20) / n
    bar = group * 0.8 / max(len(series), 1)
    for s, (name, values) in enumerate(series.items()):
        color = COLORS[s % len(COLORS)]
        for i, value in enumerate(values):
            height = (H - PAD - 30) * value / top
            x = PAD + 5 + i * group + s * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{H - PAD - height:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{color}"><title>{_esc(name)} '
                f"{_esc(labels[i])}: {value:.4f}</title></rect>"
            )
        parts.append(
            f'<text x="{W - 150}" y="{20 + 14 * s}" font-size="11" fill="{color}">'
            f"&#9632; {_esc(name)}</text>"
        )
    step = max(1, n // 8)
    for i in range(0, n, step):
        x = PAD + 5 + i * group
        parts.append(
            f'<text x="{x:.1f}" y="{H - PAD + 14}" font-size="9">{_esc(labels[i])[:12]}</text>'
        )
    parts.append(f'<text x="4" y="34" font-size="9">{top:.3g}</text></svg>')
    return "\n".join(parts)


def lines_svg(
    title: str,
    xs: Sequence[float],
    series: dict[str, Sequence[float | None]],
    marks: dict[str, Sequence[bool]] | None = None,
    floor: float | None = None,
) -> str:
    """Lines over ``xs`` (None values are gaps); ``marks`` draws red dots where True;
    ``floor`` keeps that value on the axis (0 for effect sizes, so noise looks small)."""
    parts = _frame(title)
    values = [v for vs in series.values() for v in vs if v is not None and math.isfinite(v)]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if floor is not None:
        lo = min(lo, floor)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    span = (x1 - x0) or 1.0

    def px(x: float) -> float:
        return PAD + 5 + (W - PAD - 25) * (x - x0) / span

    def py(y: float) -> float:
        return H - PAD - (H - PAD - 30) * (y - lo) / (hi - lo)

    for s, (name, ys) in enumerate(series.items()):
        color = COLORS[s % len(COLORS)]
        path: list[str] = []
        for x, y in zip(xs, ys, strict=True):
            if y is None or not math.isfinite(y):
                path.append("")
                continue
            path.append(f"{px(x):.1f},{py(y):.1f}")
        runs = " ".join(path).split("  ")
        for run in runs:
            if run.strip():
                parts.append(
                    f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                    f'points="{run.strip()}"/>'
                )
        for x, y, hit in zip(xs, ys, (marks or {}).get(name, [False] * len(ys)), strict=True):
            if y is not None and math.isfinite(y):
                fill = "#d62728" if hit else color
                radius = 4 if hit else 2.5
                parts.append(
                    f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="{radius}" fill="{fill}">'
                    f"<title>{_esc(name)}: {y:.4g}</title></circle>"
                )
        parts.append(
            f'<text x="{W - 150}" y="{20 + 14 * s}" font-size="11" fill="{color}">'
            f"&#9632; {_esc(name)}</text>"
        )
    parts.append(f'<text x="4" y="34" font-size="9">{hi:.3g}</text>')
    parts.append(f'<text x="4" y="{H - PAD}" font-size="9">{lo:.3g}</text></svg>')
    return "\n".join(parts)


def _distribution(
    entry: dict[str, Any], sketch: ColumnSketch
) -> tuple[list[str], list[float], list[float]]:
    """Labels and reference/current shares of one column (numeric: 20 equal-mass groups)."""
    if sketch.kind == "numeric":
        ref = num.reference_of(entry)
        if ref is None or len(sketch.counts) != ref.counts.size:
            return [], [], []
        starts = num.group_starts(ref, 20)
        r = num.grouped(ref.counts, starts)
        c = num.grouped(np.asarray(sketch.counts, float), starts)
        edges = [float(ref.knots[max(int(i) - 1, 0)]) for i in starts]
        labels = [f"{e:.3g}" for e in edges]
        return labels, (r / max(r.sum(), 1)).tolist(), (c / max(c.sum(), 1)).tolist()
    freq = entry.get("frequencies") or {}
    keys = list(freq.get("values") or [t["value"] for t in entry.get("top") or []])
    counts = list(freq.get("counts") or [t["count"] for t in entry.get("top") or []])
    ref_total = max(sum(counts), 1)
    cur_total = max(sum(sketch.categories.values()), 1)
    extra = [k for k in sketch.categories if k not in keys]
    labels = [str(k) for k in [*keys, *extra]][:30]
    ref_shares = [c / ref_total for c in counts] + [0.0] * len(extra)
    cur = [sketch.categories.get(k, 0) / cur_total for k in [*keys, *extra]]
    return labels, ref_shares[:30], cur[:30]


def report_data(
    target: str,
    windows: list[MonitorWindow],
    profile: dict[str, Any],
    sketches: dict[str, ColumnSketch],
) -> dict[str, Any]:
    """The report as plain data (format ``loopml.monitor-report/1``)."""
    latest = windows[-1] if windows else None
    columns = sorted({c for w in windows for c in w.drift if not c.startswith("__")})
    drift_over_time = {
        c: [
            {
                "start_ms": w.start_ms,
                "effect": _headline(w.drift.get(c, {})),
                "drifted": bool(w.drift.get(c, {}).get("drifted")),
            }
            for w in windows
        ]
        for c in columns
    }
    perf = [
        {
            "start_ms": w.start_ms,
            "realised": w.realised.get("accuracy", w.realised.get("mae")),
            "estimated": w.estimated.get("accuracy"),
            "labelled": w.labelled,
            "rows": w.rows,
        }
        for w in windows
    ]
    dists = {}
    for name, sketch in sketches.items():
        labels, ref, cur = _distribution((profile.get("columns") or {}).get(name, {}), sketch)
        if labels:
            dists[name] = {"labels": labels, "reference": ref, "current": cur}
    return {
        "format": "loopml.monitor-report/1",
        "target": target,
        "window": None if latest is None else latest.plan,
        "windows": len(windows),
        "latest": None
        if latest is None
        else {
            "start_ms": latest.start_ms,
            "end_ms": latest.end_ms,
            "rows": latest.rows,
            "drifted": latest.drifted,
            "drifted_columns": [
                c for c, v in latest.drift.items() if isinstance(v, dict) and v.get("drifted")
            ],
            "realised": latest.realised,
            "estimated": latest.estimated,
        },
        "distributions": dists,
        "drift_over_time": drift_over_time,
        "performance_over_time": perf,
    }


def _headline(item: dict[str, Any]) -> float | None:
    effects = item.get("effects") or {}
    for test in ("ks", "chi_square", "psi", "jensen_shannon"):
        if effects.get(test) is not None:
            return float(effects[test])
    return None


def render_html(data: dict[str, Any]) -> str:
    """The report page: self-contained HTML with inline SVG plots."""
    latest = data.get("latest") or {}
    body = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>loopml monitor report: {_esc(data['target'])}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
        "h2{margin-top:28px}.drift{color:#d62728;font-weight:bold}.ok{color:#2a7}"
        "figure{display:inline-block;margin:8px}</style></head><body>",
        f"<h1>Monitor report: {_esc(data['target'])}</h1>",
        f"<p>{data['windows']} windows of plan <code>{_esc(data.get('window'))}</code>.</p>",
    ]
    if latest:
        verdict = (
            f'<span class="drift">drift in {_esc(", ".join(latest["drifted_columns"]))}</span>'
            if latest["drifted"]
            else '<span class="ok">no drift</span>'
        )
        body.append(f"<p>Latest window: {latest['rows']} rows, {verdict}.</p>")
    body.append("<h2>Distributions: reference against the latest window</h2>")
    for name, dist in data["distributions"].items():
        svg = bars_svg(
            name, dist["labels"], {"reference": dist["reference"], "current": dist["current"]}
        )
        body.append(f"<figure>{svg}</figure>")
    body.append("<h2>Drift over time (effect size; red: drifted)</h2>")
    for name, points in data["drift_over_time"].items():
        xs = [p["start_ms"] / 1000 for p in points]
        svg = lines_svg(
            name,
            xs,
            {"effect": [p["effect"] for p in points]},
            {"effect": [p["drifted"] for p in points]},
            floor=0.0,
        )
        body.append(f"<figure>{svg}</figure>")
    perf = data["performance_over_time"]
    if any(p["realised"] is not None or p["estimated"] is not None for p in perf):
        body.append("<h2>Performance over time: realised against estimated</h2>")
        xs = [p["start_ms"] / 1000 for p in perf]
        svg = lines_svg(
            "accuracy",
            xs,
            {
                "realised": [p["realised"] for p in perf],
                "estimated": [p["estimated"] for p in perf],
            },
        )
        body.append(f"<figure>{svg}</figure>")
    body.append(
        f'<script type="application/json" id="data">{_esc(json.dumps(data, default=str))}'
        "</script></body></html>"
    )
    return "\n".join(body)


def monitor_report(
    target: str,
    *,
    window: str = "1000",
    reference: Any = None,
    limit: int = 50,
    workspace: Workspace | None = None,
) -> dict[str, Any]:
    """Compute the latest windows of ``target`` and gather the report's data.

    Returns the ``loopml.monitor-report/1`` dict; :func:`render_html` draws it.
    """
    from loopml.monitoring._drift import resolve_reference
    from loopml.monitoring._stream import compute_windows, latest_windows, window_sketches
    from loopml.workspace import current_workspace

    ws = workspace if workspace is not None else current_workspace()
    compute_windows(target, window=window, reference=reference, workspace=ws)
    windows = list(reversed(latest_windows(target, window=window, limit=limit, workspace=ws)))
    if not windows:
        return report_data(target, [], {}, {})
    if reference is None and windows[-1].version is not None:
        reference = f"models:/{windows[-1].model}/{windows[-1].version}"
    profile = resolve_reference(reference, ws)[0] if reference is not None else {}
    return report_data(target, windows, profile, window_sketches(windows[-1], ws))
