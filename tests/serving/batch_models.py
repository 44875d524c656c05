"""Models for the batch-scoring tests (importable by the subprocesses that load them)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from loopml.models import PythonModel


class GatedDoubler(PythonModel):
    """Predicts ``2 * x``; appends each call's first ``x`` to ``log``.

    While the file ``gate`` exists, calls after the first ``after`` ones in a process
    either block (``mode="block"``, for a SIGKILL mid-job) or raise (``mode="raise"``).
    """

    def __init__(self, log: str, gate: str, after: int, mode: str = "block") -> None:
        self.log = log
        self.gate = gate
        self.after = after
        self.mode = mode
        self.calls = 0

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "calls": 0}  # save_model's signature probe is no call

    def predict(self, data):  # type: ignore[no-untyped-def]
        x = np.asarray(data["x"], dtype="float64")
        self.calls += 1
        if self.calls > self.after and Path(self.gate).exists():
            if self.mode == "raise":
                raise RuntimeError("the gate is closed")
            with open(self.log, "a") as handle:
                handle.write(f"blocked {x[0]:g}\n")
            while True:
                time.sleep(60)
        with open(self.log, "a") as handle:
            handle.write(f"{x[0]:g}\n")
        return 2 * x
