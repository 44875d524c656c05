"""The closed-loop demo that ``loopml demo`` (and ``make demo``) runs on embedded defaults.

It grows with each capability; today it generates a month of synthetic card transactions,
stores them as an artifact, trains and scores a fraud model, and records the run with its
lineage (data -> run -> model).
"""

from loopml.demo._flow import DemoResult, run_demo

__all__ = ["DemoResult", "run_demo"]
