"""Concept-drift detectors on a stream of errors (0/1 mistakes or absolute errors).

``ADWIN`` (Bifet and Gavaldà 2007: an exponential histogram of the window, cut where two
sub-windows' means differ by more than a Bernstein bound), ``DDM`` (Gama et al. 2004: the
error rate's running minimum of ``p + s``, drift when ``p + s`` exceeds it by three
standard deviations) and ``PageHinkley`` (a fading cumulative deviation from the running
mean). Each has ``update(x) -> bool`` for one value at a time, with river's defaults and
semantics (a detector resets itself after a drift), and ``detect(stream)`` that returns the
indices where drifts were signalled; for DDM and Page-Hinkley ``detect`` is vectorised
(numpy prefix sums between resets), so a million labels cost milliseconds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Iterable

Array = npt.NDArray[np.float64]


def _as_array(stream: Iterable[float] | Array) -> Array:
    return np.asarray(list(stream) if not isinstance(stream, np.ndarray) else stream, float)


class ADWIN:
    """ADaptive WINdowing: keeps the longest recent window whose mean is consistent.

    Args:
        delta: Confidence of each cut test (smaller: fewer false alarms, later detection).
        clock: Test for a cut every ``clock`` values.
        max_buckets: Buckets kept per size in the exponential histogram.
        min_window_length: Smallest sub-window a cut may leave on either side.
        grace_period: Values seen before the first test.
    """

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period
        self._reset()

    def _reset(self) -> None:
        # rows[i] holds buckets of 2**i values, oldest first: [total, variance] pairs
        self._rows: list[list[list[float]]] = [[]]
        self.width = 0
        self._total = 0.0
        self._variance = 0.0
        self._time = 0
        self.drift_detected = False

    @property
    def estimation(self) -> float:
        """Mean of the current window."""
        return self._total / self.width if self.width else 0.0

    @property
    def variance(self) -> float:
        """Variance of the current window."""
        return self._variance / self.width if self.width else 0.0

    def update(self, x: float) -> bool:
        """Add one value; True when a drift (a cut of the window) was detected.

        As in river, the value after a drift starts a fresh window.
        """
        if self.drift_detected:
            self._reset()
        value = float(x)
        self.width += 1
        if self.width > 1:
            mean = self._total / (self.width - 1)
            self._variance += (self.width - 1) * (value - mean) ** 2 / self.width
        self._total += value
        self._rows[0].append([value, 0.0])
        self._compress()
        self._time += 1
        self.drift_detected = False
        if self._time % self.clock == 0 and self.width > self.grace_period:
            self.drift_detected = self._detect()
        return self.drift_detected

    def _compress(self) -> None:
        i = 0
        while i < len(self._rows) and len(self._rows[i]) > self.max_buckets:
            (u1, v1), (u2, v2) = self._rows[i][0], self._rows[i][1]
            n = 2**i
            merged = [u1 + u2, v1 + v2 + n * n * (u1 / n - u2 / n) ** 2 / (2 * n)]
            del self._rows[i][:2]
            if i + 1 == len(self._rows):
                self._rows.append([])
            self._rows[i + 1].append(merged)
            i += 1

    def _delete_oldest(self) -> int:
        last = len(self._rows) - 1
        n1 = int(2**last)
        u, v = self._rows[last].pop(0)
        self.width -= n1
        self._total -= u
        if self.width > 0:
            mu = u / n1 - self._total / self.width
            self._variance -= v + n1 * self.width * mu * mu / (n1 + self.width)
        else:
            self._variance = 0.0
        while len(self._rows) > 1 and not self._rows[-1]:
            self._rows.pop()
        return n1

    def _cut(self, n0: int, n1: int, gap: float) -> bool:
        dd = math.log(2 * math.log(self.width) / self.delta)
        m = 1.0 / (n0 - self.min_window_length + 1) + 1.0 / (n1 - self.min_window_length + 1)
        epsilon = math.sqrt(2 * m * self.variance * dd) + 2.0 / 3.0 * dd * m
        return gap > epsilon

    def _detect(self) -> bool:
        change = False
        reduce = True
        while reduce:
            reduce = False
            n0, n1, u0, u1 = 0, self.width, 0.0, self._total
            done = False
            for i in range(len(self._rows) - 1, -1, -1):
                row = self._rows[i]
                for k, (u2, _v2) in enumerate(row):
                    n2 = 2**i
                    n0 += n2
                    n1 -= n2
                    u0 += u2
                    u1 -= u2
                    if i == 0 and k == len(row) - 1:
                        done = True
                        break
                    if n0 < self.min_window_length or n1 < self.min_window_length:
                        continue
                    if self._cut(n0, n1, abs(u0 / n0 - u1 / n1)):
                        reduce = change = True
                        if self.width > 0:
                            self._delete_oldest()
                        done = True
                        break
                if done:
                    break
        return change

    def detect(self, stream: Iterable[float] | Array) -> list[int]:
        """Feed a whole stream; the indices at which drifts were detected."""
        return [i for i, x in enumerate(_as_array(stream).tolist()) if self.update(x)]


class DDM:
    """Drift Detection Method on a 0/1 error stream.

    Args:
        warm_start: Values seen before warnings and drifts may be signalled.
        warning_threshold: Standard deviations above the minimum ``p + s`` for a warning.
        drift_threshold: Standard deviations above it for a drift.
    """

    def __init__(
        self, warm_start: int = 30, warning_threshold: float = 2.0, drift_threshold: float = 3.0
    ) -> None:
        self.warm_start = warm_start
        self.warning_threshold = warning_threshold
        self.drift_threshold = drift_threshold
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        self._sum = 0.0
        self._ps_min = math.inf
        self._p_min = math.inf
        self._s_min = math.inf
        self.drift_detected = False
        self.warning_detected = False

    def update(self, x: float) -> bool:
        """Add one error indicator; True when a drift was detected (then it resets)."""
        if self.drift_detected:
            self._reset()
        self._n += 1
        self._sum += float(x)
        p = self._sum / self._n
        s = math.sqrt(p * (1 - p) / self._n)
        if self._n > self.warm_start:
            if p + s <= self._ps_min:
                self._p_min, self._s_min, self._ps_min = p, s, p + s
            self.warning_detected = p + s > self._p_min + self.warning_threshold * self._s_min
            if p + s > self._p_min + self.drift_threshold * self._s_min:
                self.drift_detected = True
                self.warning_detected = False
        return self.drift_detected

    def detect(self, stream: Iterable[float] | Array) -> list[int]:
        """The drift indices over a whole stream, vectorised between resets.

        Starts from a fresh detector and leaves it reset; equal to calling
        :meth:`update` on every value.
        """
        values = _as_array(stream)
        out: list[int] = []
        start = 0
        while start < len(values):
            chunk = values[start:]
            n = np.arange(1, len(chunk) + 1, dtype=float)
            p = np.cumsum(chunk) / n
            s = np.sqrt(p * (1 - p) / n)
            ps = p + s
            live = n > self.warm_start
            if not live.any():
                break
            first = int(np.argmax(live))
            # the minimum of p + s so far, the latest index reaching it (ties: later wins)
            run = np.minimum.accumulate(ps[first:])
            idx = np.arange(first, len(chunk))
            at = np.where(ps[first:] <= run, idx, -1)
            arg = np.maximum.accumulate(at)
            fired = ps[first:] > p[arg] + self.drift_threshold * s[arg]
            if not fired.any():
                break
            hit = first + int(np.argmax(fired))
            out.append(start + hit)
            start += hit + 1
        self._reset()
        return out


class PageHinkley:
    """Page-Hinkley test for a change in the mean of a stream.

    Args:
        min_instances: Values seen before a drift may be signalled.
        delta: Magnitude of changes tolerated.
        threshold: Cumulative deviation that signals a drift (``lambda``).
        alpha: Fading factor of the cumulative sums.
        mode: ``up`` (increases), ``down`` (decreases) or ``both``.
    """

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: str = "both",
    ) -> None:
        if mode not in ("up", "down", "both"):
            raise ValueError(f"mode must be up, down or both, not {mode!r}")
        self.min_instances = min_instances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        self._mean = 0.0
        self._sum_up = 0.0
        self._sum_down = 0.0
        self._min_up = math.inf
        self._max_down = -1.0  # river starts the running maximum at -1
        self.drift_detected = False

    def update(self, x: float) -> bool:
        """Add one value; True when a drift was detected (then it resets)."""
        if self.drift_detected:
            self._reset()
        self._n += 1
        self._mean += (float(x) - self._mean) / self._n
        dev = float(x) - self._mean
        self._sum_up = self.alpha * self._sum_up + dev - self.delta
        self._sum_down = self.alpha * self._sum_down + dev + self.delta
        self._min_up = min(self._min_up, self._sum_up)
        self._max_down = max(self._max_down, self._sum_down)
        if self._n >= self.min_instances:
            up = self._sum_up - self._min_up > self.threshold
            down = self._max_down - self._sum_down > self.threshold
            fired = {"up": up, "down": down, "both": up or down}[self.mode]
            self.drift_detected = bool(fired)
        return self.drift_detected

    def detect(self, stream: Iterable[float] | Array) -> list[int]:
        """The drift indices over a whole stream, vectorised between resets."""
        from scipy.signal import lfilter

        values = _as_array(stream)
        out: list[int] = []
        start = 0
        while start < len(values):
            chunk = values[start:]
            n = np.arange(1, len(chunk) + 1, dtype=float)
            dev = chunk - np.cumsum(chunk) / n
            up = lfilter([1.0], [1.0, -self.alpha], dev - self.delta)
            down = lfilter([1.0], [1.0, -self.alpha], dev + self.delta)
            fire_up = up - np.minimum.accumulate(up) > self.threshold
            fire_down = np.maximum.accumulate(np.maximum(down, -1.0)) - down > self.threshold
            fired = {"up": fire_up, "down": fire_down, "both": fire_up | fire_down}[self.mode]
            fired &= n >= self.min_instances
            if not fired.any():
                break
            hit = int(np.argmax(fired))
            out.append(start + hit)
            start += hit + 1
        self._reset()
        return out


DETECTORS: dict[str, Any] = {"adwin": ADWIN, "ddm": DDM, "page_hinkley": PageHinkley}


def detect_concept_drift(
    errors: Iterable[float] | Array, method: str = "adwin", **params: Any
) -> list[int]:
    """Indices of the error stream where ``method`` (``adwin``, ``ddm`` or
    ``page_hinkley``) signals a drift; ``params`` go to the detector."""
    if method not in DETECTORS:
        raise ValueError(f"unknown detector {method!r}: use one of {', '.join(DETECTORS)}")
    result: list[int] = DETECTORS[method](**params).detect(errors)
    return result
