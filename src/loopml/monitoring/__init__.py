"""Monitoring: drift statistics with calibrated thresholds, live and estimated performance,
alerts, Prometheus rules and Grafana dashboards.

``drift(reference, current)`` compares a window (DataFrame, Arrow table, file or dataset
version) with a reference's stored profile, per column, and reports each statistic with its
effect size, a bootstrap interval, the threshold calibrated to the window's size and the
verdict after a Benjamini–Hochberg correction across features (see docs/monitoring.md).
The names load on first use (``import loopml.monitoring`` does not import pyarrow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.plugins import lazy_exports

if TYPE_CHECKING:
    from loopml.monitoring._detectors import ADWIN, DDM, PageHinkley, detect_concept_drift
    from loopml.monitoring._drift import drift
    from loopml.monitoring._html import monitor_report, render_html
    from loopml.monitoring._performance import (
        Calibration,
        PerformanceReport,
        WindowPerformance,
        estimate_performance,
        fit_calibration,
        performance,
    )
    from loopml.monitoring._report import DriftReport, FeatureDrift, TestResult
    from loopml.monitoring._spec import FeatureSpec, MonitorSpec, load_spec, parse_spec
    from loopml.monitoring._stream import (
        WindowValue,
        compute_windows,
        latest_windows,
        resolve_target,
        window_report,
        window_sketches,
        window_values,
    )
    from loopml.monitoring._windows import Windowing, parse_window

_LAZY = {
    "ADWIN": "loopml.monitoring._detectors:ADWIN",
    "Calibration": "loopml.monitoring._performance:Calibration",
    "DDM": "loopml.monitoring._detectors:DDM",
    "DriftReport": "loopml.monitoring._report:DriftReport",
    "FeatureDrift": "loopml.monitoring._report:FeatureDrift",
    "FeatureSpec": "loopml.monitoring._spec:FeatureSpec",
    "MonitorSpec": "loopml.monitoring._spec:MonitorSpec",
    "PageHinkley": "loopml.monitoring._detectors:PageHinkley",
    "PerformanceReport": "loopml.monitoring._performance:PerformanceReport",
    "TestResult": "loopml.monitoring._report:TestResult",
    "WindowPerformance": "loopml.monitoring._performance:WindowPerformance",
    "WindowValue": "loopml.monitoring._stream:WindowValue",
    "Windowing": "loopml.monitoring._windows:Windowing",
    "compute_windows": "loopml.monitoring._stream:compute_windows",
    "detect_concept_drift": "loopml.monitoring._detectors:detect_concept_drift",
    "drift": "loopml.monitoring._drift:drift",
    "estimate_performance": "loopml.monitoring._performance:estimate_performance",
    "fit_calibration": "loopml.monitoring._performance:fit_calibration",
    "latest_windows": "loopml.monitoring._stream:latest_windows",
    "load_spec": "loopml.monitoring._spec:load_spec",
    "monitor_report": "loopml.monitoring._html:monitor_report",
    "parse_spec": "loopml.monitoring._spec:parse_spec",
    "parse_window": "loopml.monitoring._windows:parse_window",
    "performance": "loopml.monitoring._performance:performance",
    "render_html": "loopml.monitoring._html:render_html",
    "resolve_target": "loopml.monitoring._stream:resolve_target",
    "window_report": "loopml.monitoring._stream:window_report",
    "window_sketches": "loopml.monitoring._stream:window_sketches",
    "window_values": "loopml.monitoring._stream:window_values",
}

__all__ = [
    "ADWIN",
    "DDM",
    "Calibration",
    "DriftReport",
    "FeatureDrift",
    "FeatureSpec",
    "MonitorSpec",
    "PageHinkley",
    "PerformanceReport",
    "TestResult",
    "WindowPerformance",
    "WindowValue",
    "Windowing",
    "compute_windows",
    "detect_concept_drift",
    "drift",
    "estimate_performance",
    "fit_calibration",
    "latest_windows",
    "load_spec",
    "monitor_report",
    "parse_spec",
    "parse_window",
    "performance",
    "render_html",
    "resolve_target",
    "window_report",
    "window_sketches",
    "window_values",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__, globals())
