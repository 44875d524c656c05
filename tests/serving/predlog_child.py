"""A process that logs predictions until it is killed (driven by tests/serving/test_predlog.py).

Usage: python predlog_child.py HOME COUNT_FILE. Logs 200 records ``a-N``, prints ``A``,
waits for a line on stdin, then logs ``b-N`` records until stopped. On SIGTERM it closes
the log (nothing lost) and writes how many records it appended to COUNT_FILE.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

import loopml
from loopml.serving import PredictionLog, PredictionRecord


def record(pid: str) -> PredictionRecord:
    return PredictionRecord(
        pid,
        int(time.time() * 1000),
        "fraud",
        None,
        None,
        None,
        {"x": np.array([1.0, 2.0])},
        {"predict": np.array([0, 1])},
        0.5,
    )


def main() -> None:
    home, count_file = sys.argv[1], Path(sys.argv[2])

    stopping = threading.Event()
    # Stop between appends, as a server's graceful shutdown does: raising from the handler
    # could land after an append but before the count, and the count would be one short.
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    ws = loopml.Workspace.open(home=home)
    log = PredictionLog(ws, flush_interval_s=0.2, segment_max_age_s=3600)
    log.start()
    appended = 0
    try:
        for n in range(200):
            log.append(record(f"a-{n}"))
            appended += 1
        print("A", flush=True)
        sys.stdin.readline()
        n = 0
        while not stopping.is_set():
            log.append(record(f"b-{n}"))
            appended += 1
            n += 1
            if n % 50 == 0:
                time.sleep(0.001)
    finally:
        log.close()
        count_file.write_text(str(appended))


if __name__ == "__main__":
    main()
