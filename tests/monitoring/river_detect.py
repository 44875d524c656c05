"""Run river's detectors on streams read as JSON from stdin (in river's own venv)."""

import json
import sys

from river import drift
from river.drift import binary

KINDS = {"adwin": drift.ADWIN, "ddm": binary.DDM, "page_hinkley": drift.PageHinkley}

out = {}
for name, stream in json.load(sys.stdin).items():
    detector = KINDS[name.split(":")[0]]()
    hits = []
    for i, x in enumerate(stream):
        detector.update(x)
        if detector.drift_detected:
            hits.append(i)
    out[name] = hits
print(json.dumps(out))
