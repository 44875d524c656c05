"""Child process for durability tests: log N points (N<0: forever) to a fresh run."""

from __future__ import annotations

import sys

from loopml.config import load_settings
from loopml.tracking import TrackingClient


def main(home: str, count: int, name: str) -> None:
    client = TrackingClient.from_settings(
        load_settings(env={}, home=home), heartbeat_s=0.2, flush_interval_s=0.05
    )
    run = client.start_run(name)  # no `with`: a normal exit must still flush (atexit)
    sys.stdout.write(run.id + "\n")
    sys.stdout.flush()
    step = 0
    while count < 0 or step < count:
        run.log_metric("x", step * 2.0, step)
        step += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
