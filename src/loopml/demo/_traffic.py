"""The demo's live traffic: a drifting stream of transactions sent over HTTP, labels later.

:func:`make_stream` draws the days after training from the generator: a stable stretch,
then covariate shift (larger amounts, more mobile payments) and concept drift (a new
fraud pattern) from one moment on. :class:`Traffic` sends the stream, a few rows per
request, from a few client threads to whichever server ``url`` names now (the champion's
router, then a canary's), and posts each row's label to ``POST /feedback`` once
``label_delay`` more rows have been sent: chargebacks arrive after the payment.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pandas as pd

from loopml.datasets import (
    FEATURE_COLUMNS,
    TARGET_COLUMN,
    ConceptDrift,
    CovariateShift,
    generate_transactions,
)

CLIENTS = 4


def drift_scenario(
    onset: pd.Timestamp, *, strength: float, covariate: bool = True
) -> list[CovariateShift | ConceptDrift]:
    """The demo's drift from ``onset`` on: inflation and mobile payments (``covariate``),
    a new fraud pattern followed by a share ``strength`` of the fraud (0: none)."""
    out: list[CovariateShift | ConceptDrift] = []
    if covariate:
        out.append(CovariateShift(start=onset, amount_factor=1.7, device_weights={"mobile": 3.0}))
    if strength > 0:
        out.append(ConceptDrift(start=onset, strength=strength))
    return out


@dataclass(frozen=True)
class Stream:
    """Rows to send, in time order; rows from ``onset`` on are drifted."""

    frame: pd.DataFrame
    onset: int
    onset_time: pd.Timestamp


def make_stream(
    start: pd.Timestamp,
    *,
    stable_rows: int,
    drifted_rows: int,
    rows_per_day: int,
    seed: int,
    strength: float,
    covariate: bool = True,
) -> Stream:
    """``stable_rows`` of the days from ``start``, then ``drifted_rows`` of drifted days.

    The days are drawn at the training data's ``rows_per_day`` (the 24-hour activity
    features depend on it), so the stable stretch has the training distribution.
    """
    stable_days = max(1, -(-stable_rows // rows_per_day))
    onset = start + pd.Timedelta(days=stable_days)
    days = stable_days + max(1, -(-drifted_rows // rows_per_day))
    frame = generate_transactions(
        start=start.date(),
        days=days,
        rows_per_day=rows_per_day,
        seed=seed,
        drift=drift_scenario(onset, strength=strength, covariate=covariate),
    )
    # Each part is replayed in a random order: a window of a few hundred rows sent in a
    # few seconds stands for a sample of whole days, not of their first hour (in time
    # order every window would drift on ``hour`` and on the customers active then).
    before = frame[frame["timestamp"] < onset].sample(n=stable_rows, random_state=seed)
    after = frame[frame["timestamp"] >= onset].sample(frac=1.0, random_state=seed + 1)
    rows = pd.concat([before, after.iloc[:drifted_rows]], ignore_index=True)
    return Stream(rows, len(before), onset)


@dataclass
class Sent:
    """What the traffic did so far."""

    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    labelled: int = 0
    busy_s: float = 0.0  # wall time spent sending (the requests-per-second figure's base)


class Traffic:
    """Sends the stream to ``url`` and posts labels ``label_delay`` rows later."""

    def __init__(self, stream: Stream, *, batch: int, label_delay: int) -> None:
        self.stream = stream
        self.batch = max(1, batch)
        self.label_delay = label_delay
        self.url = ""
        self.cursor = 0  # rows sent
        self.labelled_upto = 0  # rows whose label was posted
        self.sent = Sent()
        self.started = time.perf_counter()
        self.ids: list[tuple[str, int] | None] = [None] * len(stream.frame)
        self._records = json.loads(
            stream.frame[list(FEATURE_COLUMNS)].to_json(orient="records", date_format="iso")
        )
        self._labels = stream.frame[TARGET_COLUMN].astype(int).tolist()
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        """Rows of the stream not sent yet."""
        return len(self._records) - self.cursor

    def _send_range(self, url: str, starts: list[int], end: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            for lo in starts:
                hi = min(lo + self.batch, end)
                began = time.perf_counter()
                reply = client.post(
                    "/invocations", json={"dataframe_records": self._records[lo:hi]}
                )
                took = (time.perf_counter() - began) * 1000
                with self._lock:
                    self.sent.requests += 1
                    self.sent.latencies_ms.append(took)
                    if reply.status_code != 200:
                        self.sent.errors += 1
                        continue
                pid = reply.headers["x-prediction-id"]
                for row in range(lo, hi):
                    self.ids[row] = (pid, row - lo)

    def send(self, rows: int) -> int:
        """Send the next ``rows`` rows (fewer at the stream's end); returns how many."""
        if not self.url:
            raise RuntimeError("the demo's traffic has no server to send to yet")
        end = min(self.cursor + rows, len(self._records))
        starts = list(range(self.cursor, end, self.batch))
        shares = [starts[k::CLIENTS] for k in range(CLIENTS)]
        began = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(lambda part: self._send_range(self.url, part, end), shares))
        self.sent.busy_s += time.perf_counter() - began
        sent = end - self.cursor
        self.cursor = end
        self.post_labels(upto=self.cursor - self.label_delay)
        return sent

    def post_labels(self, *, upto: int | None = None) -> int:
        """Post the labels of rows sent before ``upto`` (default: all sent) not posted yet."""
        end = self.cursor if upto is None else max(self.labelled_upto, min(upto, self.cursor))
        items = []
        for row in range(self.labelled_upto, end):
            got = self.ids[row]
            if got is not None:
                items.append({"prediction_id": got[0], "row": got[1], "label": self._labels[row]})
        if items:
            with httpx.Client(base_url=self.url, timeout=120) as client:
                client.post("/feedback", json=items).raise_for_status()
        self.labelled_upto = end
        self.sent.labelled += len(items)
        return len(items)
