"""Drift scenarios: what changes in the transactions from a point in time on."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]  # pandas-stubs optional

from loopml.datasets._catalog import CATEGORY_DEVICE_PROBS, DEVICES, HOME_COUNTRY
from loopml.datasets._fraud import SHIFTED_FRAUD_RULE, FraudRule
from loopml.errors import InvalidInput

_COUNTRY_CODE = re.compile(r"[A-Z]{2}")


def parse_time(value: object, name: str) -> pd.Timestamp:
    """Turn a date, datetime or ISO string into a timezone-naive ``pd.Timestamp``."""
    if isinstance(value, bool) or not isinstance(value, str | date | np.datetime64):
        raise InvalidInput(
            f"{name} must be a date, a datetime or an ISO 8601 string, got {value!r}",
            hint='For example "2026-10-15" or "2026-10-15T12:00".',
            parameter=name,
            value=value,
        )
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            f"{name} is not a valid date or time: {value!r} ({exc})",
            hint='Use an ISO 8601 date or time such as "2026-10-15" or "2026-10-15T12:00".',
            parameter=name,
            value=value,
        ) from exc
    if pd.isna(stamp):
        raise InvalidInput(
            f"{name} must be a real date or time, got {value!r}",
            hint='Use an ISO 8601 date or time such as "2026-10-15".',
            parameter=name,
            value=value,
        )
    if stamp.tzinfo is not None:
        raise InvalidInput(
            f"{name} must be timezone-naive (local time of the home market), got {value!r}",
            hint="Drop the timezone, e.g. ts.tz_convert('Europe/London').tz_localize(None).",
            parameter=name,
            value=value,
        )
    return stamp


def _check_fraction(value: object, name: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(
            f"{name} must be a finite number, got {value!r}",
            hint=f"Pass a number between {low} and {high}.",
            parameter=name,
            value=value,
        )
    if not low <= value <= high:
        raise InvalidInput(
            f"{name} must be between {low} and {high}, got {value!r}",
            hint=f"Pass a number between {low} and {high}.",
            parameter=name,
            value=value,
        )
    return float(value)


@dataclass(frozen=True)
class CovariateShift:
    """A change in what transactions look like, applied to rows from ``start`` on.

    The fraud rule stays the same, so the fraud rate moves only as far as the features do
    (larger amounts and more foreign or card-not-present transactions mean more fraud).

    Args:
        start: First moment the shift applies to: rows with ``timestamp >= start`` change.
            A date, datetime or ISO string (timezone-naive); kept as a ``pandas.Timestamp``.
        amount_factor: Multiplies ``amount`` and ``amount_sum_24h`` (e.g. 1.5 for 50 %
            inflation); between 0.01 and 100.
        new_country: Two-letter country code (e.g. ``"BR"``) that takes over a share of the
            transactions, which become foreign; must not be the home country ``"GB"``.
        new_country_share: Fraction of rows from ``start`` on moved to ``new_country``;
            between 0 and 1, and above 0 exactly when ``new_country`` is given.
        device_weights: Multiplies the odds of each named device (``"atm"``, ``"desktop"``,
            ``"mobile"``, ``"pos"``) within every merchant category; devices not named keep
            weight 1. For example ``{"mobile": 3.0}`` triples the odds of mobile.

    Raises:
        InvalidInput: A parameter is out of range or of the wrong type.

    Example:
        >>> shift = CovariateShift(
        ...     start="2026-10-20", amount_factor=1.5, new_country="BR", new_country_share=0.1
        ... )
        >>> shift.start
        Timestamp('2026-10-20 00:00:00')
    """

    start: str | date
    amount_factor: float = 1.0
    new_country: str | None = None
    new_country_share: float = 0.0
    device_weights: Mapping[str, float] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", parse_time(self.start, "CovariateShift.start"))
        factor = _check_fraction(
            self.amount_factor, "CovariateShift.amount_factor", low=0.01, high=100.0
        )
        object.__setattr__(self, "amount_factor", factor)
        share = _check_fraction(
            self.new_country_share, "CovariateShift.new_country_share", low=0.0, high=1.0
        )
        object.__setattr__(self, "new_country_share", share)
        self._check_country(share)
        self._check_devices()

    def _check_country(self, share: float) -> None:
        country = self.new_country
        if country is None:
            if share > 0:
                raise InvalidInput(
                    f"CovariateShift.new_country_share is {share} but no new_country is given",
                    hint='Name the country too, e.g. new_country="BR", or leave the share at 0.',
                    parameter="new_country_share",
                    value=share,
                )
            return
        if not isinstance(country, str) or not _COUNTRY_CODE.fullmatch(country):
            raise InvalidInput(
                f"CovariateShift.new_country must be a two-letter upper-case country code, "
                f"got {country!r}",
                hint='Use an ISO 3166-1 alpha-2 code such as "BR".',
                parameter="new_country",
                value=country,
            )
        if country == HOME_COUNTRY:
            raise InvalidInput(
                f"CovariateShift.new_country must be a foreign country, got the home country "
                f"{country!r}",
                hint=f'Pick any code other than "{HOME_COUNTRY}", e.g. "BR".',
                parameter="new_country",
                value=country,
            )
        if share == 0:
            raise InvalidInput(
                f"CovariateShift.new_country is {country!r} but new_country_share is 0",
                hint="Give the fraction of transactions it should take, e.g. 0.1.",
                parameter="new_country_share",
                value=share,
            )

    def _check_devices(self) -> None:
        weights = self.device_weights
        if weights is None:
            return
        if not isinstance(weights, Mapping):
            raise InvalidInput(
                f"CovariateShift.device_weights must be a mapping of device to weight, "
                f"got {weights!r}",
                hint=f'For example {{"mobile": 3.0}}; devices: {", ".join(DEVICES)}.',
                parameter="device_weights",
                value=weights,
            )
        unknown = sorted(str(k) for k in weights if k not in DEVICES)
        if unknown:
            raise InvalidInput(
                f"CovariateShift.device_weights names unknown devices {unknown}",
                hint=f"Accepted devices: {', '.join(DEVICES)}.",
                parameter="device_weights",
                value=dict(weights),
            )
        clean = {
            str(k): _check_fraction(
                v, f"CovariateShift.device_weights[{k!r}]", low=0.0, high=1_000.0
            )
            for k, v in weights.items()
        }
        probs = device_probabilities(clean)
        if not np.all(probs.sum(axis=1) > 0):
            raise InvalidInput(
                f"CovariateShift.device_weights {clean} leaves some merchant category with no "
                f"possible device",
                hint='Keep at least "atm" for cash withdrawals and one other device above 0.',
                parameter="device_weights",
                value=clean,
            )
        object.__setattr__(self, "device_weights", clean)


def device_probabilities(weights: Mapping[str, float] | None) -> npt.NDArray[np.float64]:
    """Per-category device probabilities after multiplying each device's odds by its weight."""
    factors = np.array([1.0 if weights is None else weights.get(d, 1.0) for d in DEVICES])
    probs = CATEGORY_DEVICE_PROBS * factors
    totals = probs.sum(axis=1, keepdims=True)
    out: npt.NDArray[np.float64] = np.divide(
        probs, totals, out=np.zeros_like(probs), where=totals > 0
    )
    return out


@dataclass(frozen=True)
class ConceptDrift:
    """A change in what fraud looks like, applied to rows from ``start`` on.

    From ``start`` the probability of fraud becomes
    ``(1 - strength) * p_before + strength * p_rule``: a share ``strength`` of the fraud
    follows the new pattern. The features keep their distribution and the fraud rate stays
    near 2 %, but a model trained on earlier data loses accuracy (with the default rule its
    ROC-AUC falls from about 0.92 to about 0.77 at strength 0.25, 0.62 at 0.5 and 0.32 at 1).

    Args:
        start: First moment the drift applies to: rows with ``timestamp >= start`` change.
            A date, datetime or ISO string (timezone-naive); kept as a ``pandas.Timestamp``.
        rule: The fraud rule that takes over; by default ``SHIFTED_FRAUD_RULE`` (skimming:
            small, daytime, card-present purchases at cash machines and fuel pumps).
        strength: Share of fraud that follows ``rule``: 0 changes nothing, 1 replaces the
            earlier rule entirely.

    Raises:
        InvalidInput: A parameter is out of range or of the wrong type.

    Example:
        >>> ConceptDrift(start="2026-10-16", strength=0.8).strength
        0.8
    """

    start: str | date
    rule: FraudRule = SHIFTED_FRAUD_RULE
    strength: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", parse_time(self.start, "ConceptDrift.start"))
        if not isinstance(self.rule, FraudRule):
            raise InvalidInput(
                f"ConceptDrift.rule must be a FraudRule, got {type(self.rule).__name__}",
                hint="Build one with dataclasses.replace(SHIFTED_FRAUD_RULE, ...).",
                parameter="rule",
                value=self.rule,
            )
        strength = _check_fraction(self.strength, "ConceptDrift.strength", low=0.0, high=1.0)
        object.__setattr__(self, "strength", strength)
