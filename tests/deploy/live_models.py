"""Models for the router's live tests (importable by the `loopml serve` processes)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from loopml.models import PythonModel


class ThresholdModel(PythonModel):
    """Predicts ``amount > threshold``; raises on rows with ``amount > fail_above``.

    ``fail_above`` set makes a canary that fails on a fraction of its inputs; ``delay_s``
    a slower one; while the file ``broken`` exists every call raises (a version whose
    warm-up fails).
    """

    def __init__(
        self,
        threshold: float = 0.0,
        fail_above: float | None = None,
        delay_s: float = 0.0,
        broken: str | None = None,
    ) -> None:
        self.threshold = threshold
        self.fail_above = fail_above
        self.delay_s = delay_s
        self.broken = broken

    def predict(self, data):  # type: ignore[no-untyped-def]
        amount = np.asarray(data["amount"], dtype="float64")
        if self.broken is not None and Path(self.broken).exists():
            raise RuntimeError("this version is broken")
        if self.fail_above is not None and (amount > self.fail_above).any():
            raise ValueError(f"amount over {self.fail_above}")
        if self.delay_s:
            time.sleep(self.delay_s)
        return (amount > self.threshold).astype("int64")
