"""Models whose predictions the tests choose (importable, so they pickle and load anywhere)."""

from __future__ import annotations

import numpy as np

from loopml.models import PythonModel


class Echo(PythonModel):
    """Predicts the ``pred`` column of its input."""

    def predict(self, data):
        return data["pred"].to_numpy()


class EchoProba(PythonModel):
    """Probability of the positive class is the ``p`` column; labels threshold it at 0.5."""

    def predict_proba(self, data):
        p = data["p"].to_numpy(dtype=float)
        return np.column_stack([1.0 - p, p])

    def predict(self, data):
        return (data["p"].to_numpy(dtype=float) > 0.5).astype(int)


class FlipNorth(PythonModel):
    """Scores ``x`` as the positive-class probability, except in region north, where it
    scores ``1 - x``: right everywhere but one slice."""

    def predict_proba(self, data):
        x = data["x"].to_numpy(dtype=float)
        p = np.clip(np.where(data["region"].to_numpy() == "north", 1.0 - x, x), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, data):
        return (self.predict_proba(data)[:, 1] > 0.5).astype(int)


class Constant(PythonModel):
    """Predicts 1 whatever it is given (missing values and new categories included)."""

    def predict(self, data):
        return np.ones(len(data), dtype=int)


class Linear(PythonModel):
    """Regression: ``2 * x + 1``, ignoring every other column."""

    def predict(self, data):
        return 2.0 * data["x"].to_numpy(dtype=float) + 1.0
