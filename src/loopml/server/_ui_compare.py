"""Comparing runs: the params side by side, metric summaries, parallel coordinates.

The parallel-coordinates plot is computed here (one vertical axis per numeric param or
metric, one polyline per run) and drawn as SVG by the template; overlaid metric charts are
mounted by the page script, one uPlot chart per metric, when they scroll into view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from loopml.store import Store

MAX_RUNS = 20
PC_W = 900
PC_H = 300
_PAD = 40
#: Distinct colours (colour-blind friendly) for the runs, shared with the chart script.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


@dataclass(frozen=True)
class Axis:
    """One axis of the parallel-coordinates plot."""

    name: str
    x: float
    low: float
    high: float


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def parallel(
    runs: list[str], values: dict[str, dict[str, float | None]]
) -> tuple[list[Axis], list[tuple[str, str]]]:
    """Axes and one SVG polyline (``points``) per run from ``{axis: {run: value}}``."""
    names = [n for n, per in values.items() if sum(v is not None for v in per.values()) >= 1]
    if not names:
        return [], []
    step = (PC_W - 2 * _PAD) / max(1, len(names) - 1)
    axes = []
    for i, name in enumerate(names):
        present = [v for v in values[name].values() if v is not None]
        axes.append(
            Axis(name, _PAD + i * step if len(names) > 1 else PC_W / 2, min(present), max(present))
        )
    lines = []
    for run_id in runs:
        points = []
        for axis in axes:
            v = values[axis.name].get(run_id)
            if v is None:
                continue
            span = axis.high - axis.low
            frac = 0.5 if span == 0 else (v - axis.low) / span
            points.append(f"{axis.x:.1f},{PC_H - _PAD - frac * (PC_H - 2 * _PAD):.1f}")
        lines.append((run_id, " ".join(points)))
    return axes, lines


def comparison(store: Store, run_ids: list[str]) -> dict[str, Any]:
    """Everything the compare page shows for ``run_ids`` (2 to 20 runs)."""
    ids = list(dict.fromkeys(r for r in run_ids if r))
    if not ids:
        raise InvalidInput(
            "compare needs run ids", hint="Tick runs in the runs list, then press Compare."
        )
    if len(ids) > MAX_RUNS:
        raise InvalidInput(f"compare takes at most {MAX_RUNS} runs, got {len(ids)}")
    runs = [store.get_run(r) for r in ids]
    keys = sorted({k for run in runs for k in run.params})
    params = [(k, [run.params.get(k) for run in runs]) for k in keys]
    metrics: dict[str, dict[str, Any]] = {}
    for s in store.metric_summaries(ids):
        if not s.key.startswith("system/"):
            metrics.setdefault(s.key, {})[s.run_id] = s
    axes_values: dict[str, dict[str, float | None]] = {}
    for k, vals in params:
        nums = [_number(v) for v in vals]
        if any(n is not None for n in nums) and len({v for v in vals if v is not None}) > 1:
            axes_values[f"params.{k}"] = dict(zip(ids, nums, strict=True))
    for key in sorted(metrics)[:12]:
        axes_values[f"metrics.{key}"] = {
            r: (metrics[key][r].latest if r in metrics[key] else None) for r in ids
        }
    axes, lines = parallel(ids, axes_values)
    colours = {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(ids)}
    return {
        "runs": runs,
        "params": params,
        "metric_rows": [(k, [metrics[k].get(r) for r in ids]) for k in sorted(metrics)],
        "chart_keys": sorted(k for k in metrics if len(metrics[k]) >= 1),
        "axes": axes,
        "lines": lines,
        "colours": colours,
        "run_ids": ",".join(ids),
        "colour_list": ",".join(colours[r] for r in ids),
        "pc_w": PC_W,
        "pc_h": PC_H,
        "pc_pad": _PAD,
    }


__all__ = ["Axis", "comparison", "parallel"]
