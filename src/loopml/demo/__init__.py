"""The closed-loop demo that ``loopml demo`` (and ``make demo``) runs on embedded defaults.

A month of synthetic card transactions is versioned and validated; a fraud model is trained
and tuned in tracked runs, gated, registered and promoted; then the loop runs live: the
champion served by a deployment's router, a drifting stream with late labels, monitor
windows and alerts, the drift trigger's chain (data check, retrain on the newest version,
gates, canary, approval, promotion), the recovery measured from the labels, the lineage of
the new champion back to the alert, the readiness checklist and an HTML report.
:func:`run_demo` runs it; ``quick=True`` is the small size the tests use.
"""

from loopml.demo._flow import QUICK, QUICK_LOOP, DemoResult, run_demo
from loopml.demo._loop import LoopConfig

__all__ = ["QUICK", "QUICK_LOOP", "DemoResult", "LoopConfig", "run_demo"]
