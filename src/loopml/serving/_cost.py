"""A running fit of a model's predict time against batch rows: ``t = a + b * rows``.

Exponentially weighted least squares, so the fit follows the model as it warms up or as
the machine's load changes, with the weight of an observation halving every
``half_life`` batches. It is only a guide for the batcher's decisions (whom to shed,
which requests go first); nothing is ever waited on because of it.
"""

from __future__ import annotations

import math

# Batches seen before the fit is trusted to shed a request.
_MIN_SAMPLES = 3


class CostModel:
    """Exponentially weighted least-squares fit of ``seconds = a + b * rows``.

    Args:
        half_life: Batches after which an observation counts half.
    """

    def __init__(self, *, half_life: float = 64.0) -> None:
        self._decay = 0.5 ** (1.0 / half_life)
        self._w = 0.0
        self._x = 0.0
        self._y = 0.0
        self._xx = 0.0
        self._xy = 0.0
        self.samples = 0
        self.a = 0.0
        self.b = 0.0

    @property
    def ready(self) -> bool:
        """Whether enough batches were seen for the fit to decide anything."""
        return self.samples >= _MIN_SAMPLES

    def observe(self, rows: int, seconds: float) -> None:
        """Add one batch: ``rows`` rows took ``seconds`` to predict."""
        if rows <= 0 or not math.isfinite(seconds) or seconds < 0:
            return
        d = self._decay
        x = float(rows)
        self._w = self._w * d + 1.0
        self._x = self._x * d + x
        self._y = self._y * d + seconds
        self._xx = self._xx * d + x * x
        self._xy = self._xy * d + x * seconds
        self.samples += 1
        mean_x = self._x / self._w
        mean_y = self._y / self._w
        var_x = self._xx / self._w - mean_x * mean_x
        cov = self._xy / self._w - mean_x * mean_y
        # One batch size seen so far (a lone client): the slope is unknown, so all of the
        # time is taken as fixed cost; bigger batches are then predicted too cheap, which
        # errs towards admitting rather than shedding.
        b = cov / var_x if var_x > 1e-9 * max(1.0, mean_x * mean_x) else 0.0
        b = max(b, 0.0)
        a = mean_y - b * mean_x
        if a < 0.0:
            # A negative intercept is noise; refit through the origin.
            a = 0.0
            b = self._xy / self._xx if self._xx > 0 else 0.0
        self.a = a
        self.b = b

    def predict(self, rows: int) -> float:
        """Predicted seconds for one batch of ``rows`` rows (0 before any batch)."""
        return self.a + self.b * rows if rows > 0 else 0.0
