"""Run Evidently's column drift tests on frames read as JSON from stdin (in its own venv).

Input: ``{"cases": [{"reference": {col: [...]}, "current": {col: [...]},
"tests": [[column, stattest], ...]}, ...]}``; output: one ``{column: {stattest: score}}``
per case, Evidently's ``drift_score`` (a distance, or a p-value for ks and chisquare).
"""

import json
import sys
import warnings

import pandas as pd
from evidently.metrics import ColumnDriftMetric
from evidently.report import Report

warnings.simplefilter("ignore")
out = []
for case in json.load(sys.stdin)["cases"]:
    metrics = [ColumnDriftMetric(column, stattest=test) for column, test in case["tests"]]
    report = Report(metrics=metrics)
    report.run(
        reference_data=pd.DataFrame(case["reference"]), current_data=pd.DataFrame(case["current"])
    )
    scores: dict = {}
    for (column, test), metric in zip(case["tests"], report.as_dict()["metrics"], strict=True):
        scores.setdefault(column, {})[test] = metric["result"]["drift_score"]
    out.append(scores)
print(json.dumps(out))
