"""Vectorised generator of synthetic card transactions with a known fraud rule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]  # pandas-stubs optional

from loopml.datasets import _catalog as cat
from loopml.datasets._drift import ConceptDrift, CovariateShift, device_probabilities, parse_time
from loopml.datasets._fraud import FRAUD_RULE, RULE_COLUMNS, FraudRule, rule_log_odds
from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from datetime import date

FEATURE_COLUMNS: tuple[str, ...] = (
    "amount",
    "merchant_category",
    "country",
    "hour",
    "device",
    "customer_age",
    "account_tenure_days",
    "txn_count_24h",
    "amount_sum_24h",
    "distance_from_home_km",
    "is_foreign",
    "card_present",
)
"""Columns a model may learn from (everything but ids, the timestamp and the label)."""

CATEGORICAL_COLUMNS: tuple[str, ...] = ("merchant_category", "country", "device")
"""The string-valued columns of ``FEATURE_COLUMNS``."""

TARGET_COLUMN = "is_fraud"
"""The label column: 1 for fraud, 0 otherwise."""

MAX_DAYS = 3660
MAX_ROWS_PER_DAY = 1_000_000
MAX_ROWS = 20_000_000

_SECONDS_PER_DAY = 86_400
_NEW_ACCOUNT_SHARE = 0.08  # share of transactions made by accounts opened < 90 days ago
_NEW_ACCOUNT_WINDOW_DAYS = 90
_DAILY_TXNS_PER_CARD = 1.0  # mean of the (heavy-tailed) 24 h activity of a card

Drift = CovariateShift | ConceptDrift
_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]


def _check_int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidInput(
            f"{name} must be an integer, got {value!r}",
            hint=f"Pass a whole number between {low} and {high}.",
            parameter=name,
            value=value,
        )
    if not low <= value <= high:
        raise InvalidInput(
            f"{name} must be between {low} and {high}, got {value}",
            hint=f"Pass a whole number between {low} and {high}.",
            parameter=name,
            value=value,
        )
    return int(value)


def _check_drift(drift: object) -> tuple[Drift, ...]:
    if isinstance(drift, CovariateShift | ConceptDrift):
        drift = (drift,)
    if isinstance(drift, str | bytes | dict) or not isinstance(drift, Sequence | set | frozenset):
        raise InvalidInput(
            f"drift must be a list of CovariateShift / ConceptDrift, got {drift!r}",
            hint='For example drift=[CovariateShift(start="2026-10-20", amount_factor=1.5)].',
            parameter="drift",
            value=drift,
        )
    items = tuple(drift)
    for item in items:
        if not isinstance(item, CovariateShift | ConceptDrift):
            raise InvalidInput(
                f"drift items must be CovariateShift or ConceptDrift, got {item!r}",
                hint='For example drift=[ConceptDrift(start="2026-10-20")].',
                parameter="drift",
                value=item,
            )
    return items


def _ns(stamp: str | date) -> int:
    """A drift start in ns since the epoch, clamped to the range datetime64[ns] can hold."""
    ts = pd.Timestamp(stamp)
    if ts < pd.Timestamp("1678-01-01"):
        return int(np.iinfo(np.int64).min)
    if ts > pd.Timestamp("2261-12-31"):
        return int(np.iinfo(np.int64).max)
    return int(ts.as_unit("ns").value)


def fraud_probability(
    frame: pd.DataFrame,
    *,
    rule: FraudRule = FRAUD_RULE,
    drift: Sequence[CovariateShift | ConceptDrift] = (),
) -> npt.NDArray[np.float64]:
    """The true probability of fraud of each row, as the generator used it to draw labels.

    Useful as the best score any model could reach (the Bayes-optimal ranking), or to
    check how far a model is from it.

    Args:
        frame: Transactions with at least the columns the rule reads (``amount``, ``hour``,
            ``is_foreign``, ``account_tenure_days``, ``txn_count_24h``,
            ``merchant_category``, ``card_present``) and ``timestamp`` when ``drift``
            holds a :class:`ConceptDrift`.
        rule: The fraud rule before any concept drift.
        drift: The same drift list given to :func:`generate_transactions`; only its
            :class:`ConceptDrift` items matter here (covariate shifts are already in the
            features).

    Returns:
        A float64 array of probabilities in (0, 1), one per row, in row order.

    Raises:
        InvalidInput: ``frame`` is not a DataFrame, lacks a column, or ``drift`` or
            ``rule`` is malformed.

    Example:
        >>> df = generate_transactions(start="2026-10-01", days=1, rows_per_day=100)
        >>> fraud_probability(df).shape
        (100,)
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(
            f"frame must be a pandas DataFrame, got {type(frame).__name__}",
            hint="Pass the DataFrame returned by generate_transactions.",
            parameter="frame",
        )
    if not isinstance(rule, FraudRule):
        raise InvalidInput(
            f"rule must be a FraudRule, got {type(rule).__name__}",
            hint="Use FRAUD_RULE or dataclasses.replace(FRAUD_RULE, ...).",
            parameter="rule",
        )
    concepts = [d for d in _check_drift(drift) if isinstance(d, ConceptDrift)]
    needed = set(RULE_COLUMNS) | ({"timestamp"} if concepts else set())
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise InvalidInput(
            f"frame lacks the columns {missing} that the fraud rule reads",
            hint=f"Required columns: {', '.join(sorted(needed))}.",
            parameter="frame",
            missing=missing,
        )
    probability = _sigmoid(rule_log_odds(rule, frame))
    if concepts:
        stamps = frame["timestamp"]
        if not isinstance(stamps.dtype, np.dtype) or stamps.dtype.kind != "M":
            raise InvalidInput(
                f"frame.timestamp must be timezone-naive datetime64, got {stamps.dtype}",
                hint="Convert with pd.to_datetime(...) and drop any timezone.",
                parameter="frame",
            )
        ts = stamps.to_numpy().astype("datetime64[ns]").view(np.int64)
        for concept in concepts:
            after = ts >= _ns(concept.start)
            new = _sigmoid(rule_log_odds(concept.rule, frame))
            mixed = (1.0 - concept.strength) * probability + concept.strength * new
            probability = np.where(after, mixed, probability)
    return probability


def _sigmoid(log_odds: _F64) -> _F64:
    out: _F64 = 1.0 / (1.0 + np.exp(-log_odds))
    return out


def generate_transactions(
    *,
    start: str | date = "2026-10-01",
    days: int = 30,
    rows_per_day: int = 2000,
    seed: int = 0,
    drift: Sequence[CovariateShift | ConceptDrift] = (),
    rule: FraudRule = FRAUD_RULE,
) -> pd.DataFrame:
    """Synthetic card transactions of a home-market bank, labelled by a known fraud rule.

    Rows are sorted by ``timestamp`` and spread over ``days`` calendar days from ``start``
    with weekly and hourly seasonality; about ``rows_per_day`` rows a day on average
    (``days * rows_per_day`` in all). The label ``is_fraud`` is a Bernoulli draw from
    :func:`fraud_probability`. Drift items change only rows with ``timestamp`` at or after
    their ``start``: with the same seed, earlier rows are identical to a run without drift.

    Args:
        start: First calendar day (a date or ``"YYYY-MM-DD"``, no time of day).
        days: Number of days to cover, 1 to 3660.
        rows_per_day: Mean number of transactions a day, 1 to 1,000,000 (at most
            20,000,000 rows in one call; generate longer periods window by window).
        seed: Non-negative integer; the same seed and arguments give an identical frame.
            Established customers (age, habits) are shared by all windows with the same
            seed and ``rows_per_day``.
        drift: :class:`CovariateShift` and :class:`ConceptDrift` items, applied in order.
        rule: Fraud rule before any concept drift (default ``FRAUD_RULE``).

    Returns:
        A DataFrame with the columns ``transaction_id``, ``timestamp``, ``customer_id``,
        then ``FEATURE_COLUMNS``, then ``TARGET_COLUMN`` (see docs/datasets.md).

    Raises:
        InvalidInput: An argument is of the wrong type or out of range.

    Example:
        >>> df = generate_transactions(start="2026-10-01", days=2, rows_per_day=500, seed=1)
        >>> len(df), sorted(df.columns[:3])
        (1000, ['customer_id', 'timestamp', 'transaction_id'])
    """
    stamp = parse_time(start, "start")
    if stamp != stamp.normalize():
        raise InvalidInput(
            f"start must be a calendar day without a time of day, got {start!r}",
            hint='Pass a date such as "2026-10-01" (or ts.date() for a datetime).',
            parameter="start",
            value=start,
        )
    if not 1900 <= stamp.year <= 2200:
        raise InvalidInput(
            f"start must lie between 1900 and 2200, got {start!r}",
            hint='Pass a date such as "2026-10-01".',
            parameter="start",
            value=start,
        )
    days = _check_int(days, "days", 1, MAX_DAYS)
    rows_per_day = _check_int(rows_per_day, "rows_per_day", 1, MAX_ROWS_PER_DAY)
    seed = _check_int(seed, "seed", 0, 2**63 - 1)
    if days * rows_per_day > MAX_ROWS:
        raise InvalidInput(
            f"days * rows_per_day = {days * rows_per_day:,} rows is more than the "
            f"{MAX_ROWS:,} one call may generate",
            hint="Generate the period in several windows (consecutive start dates).",
            parameter="rows_per_day",
            value=rows_per_day,
        )
    items = _check_drift(drift)
    if not isinstance(rule, FraudRule):
        raise InvalidInput(
            f"rule must be a FraudRule, got {type(rule).__name__}",
            hint="Use FRAUD_RULE or dataclasses.replace(FRAUD_RULE, ...).",
            parameter="rule",
        )
    frame = _features(stamp, days, rows_per_day, seed, items)
    probability = fraud_probability(frame, rule=rule, drift=items)
    window_rng = _rng(seed, 1, stamp.toordinal(), 1)
    frame[TARGET_COLUMN] = (window_rng.random(len(frame)) < probability).astype(np.int64)
    return frame


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _features(
    start: pd.Timestamp, days: int, rows_per_day: int, seed: int, drift: tuple[Drift, ...]
) -> pd.DataFrame:
    n = days * rows_per_day
    ordinal = start.toordinal()
    rng = _rng(seed, 1, ordinal, 0)

    # When: whole days by weekday weight, then a time of day by hourly weight, sorted.
    weekday = (start.weekday() + np.arange(days)) % 7
    day_weights = cat.WEEKDAY_WEIGHTS[weekday]
    per_day = rng.multinomial(n, day_weights / day_weights.sum())
    day = np.repeat(np.arange(days, dtype=np.int64), per_day)
    hour = rng.choice(24, size=n, p=cat.HOURLY_WEIGHTS / cat.HOURLY_WEIGHTS.sum())
    seconds = np.sort(day * _SECONDS_PER_DAY + hour * 3600 + rng.integers(0, 3600, size=n))
    hour = (seconds % _SECONDS_PER_DAY) // 3600
    ts_ns = np.int64(_ns(start)) + seconds * np.int64(1_000_000_000)
    first_of_day = np.cumsum(per_day) - per_day
    ymd = _yyyymmdd(np.datetime64(start.date(), "D") + np.arange(days))
    transaction_id = ymd[day] * 10_000_000 + (np.arange(n) - first_of_day[day] + 1)

    customer_id, age, tenure, activity, spend = _customers(
        rng, seed, np.datetime64(start.date(), "D"), day, days, rows_per_day
    )

    category = rng.choice(len(cat.MERCHANT_CATEGORIES), size=n, p=cat.CATEGORY_SHARE)
    amount = cat.CATEGORY_MEDIAN_AMOUNT[category] * np.exp(
        cat.CATEGORY_AMOUNT_SIGMA[category] * rng.standard_normal(n)
    )
    cash = category == cat.MERCHANT_CATEGORIES.index("cash_withdrawal")
    amount = np.where(cash, np.maximum(np.round(amount / 10) * 10, 10.0), amount)
    amount = np.maximum(amount, 0.5)

    is_foreign = rng.random(n) < cat.CATEGORY_FOREIGN_SHARE[category]
    foreign_names = np.array(list(cat.FOREIGN_COUNTRIES), dtype=object)
    foreign_share = np.array([v[0] for v in cat.FOREIGN_COUNTRIES.values()])
    foreign_km = np.array([v[1] for v in cat.FOREIGN_COUNTRIES.values()])
    destination = rng.choice(len(foreign_names), size=n, p=foreign_share)
    country = np.where(is_foreign, foreign_names[destination], cat.HOME_COUNTRY)
    local_km = np.clip(np.exp(np.log(6.0) + 1.1 * rng.standard_normal(n)), 0.1, 900.0)
    abroad_km = foreign_km[destination] * np.exp(0.25 * rng.standard_normal(n))
    distance = np.where(is_foreign, abroad_km, local_km)

    device_u = rng.random(n)
    txn_count = rng.poisson(_DAILY_TXNS_PER_CARD * activity)
    amount_sum = txn_count * spend * np.exp(0.35 * rng.standard_normal(n))

    # Covariate shifts, in order; each draws from its own stream so earlier rows keep theirs.
    device_factor = np.ones((n, len(cat.DEVICES)))
    for index, shift in enumerate(drift):
        if not isinstance(shift, CovariateShift):
            continue
        after = ts_ns >= _ns(shift.start)
        amount = np.where(after, amount * shift.amount_factor, amount)
        amount_sum = np.where(after, amount_sum * shift.amount_factor, amount_sum)
        if shift.device_weights is not None:
            factors = np.array([shift.device_weights.get(d, 1.0) for d in cat.DEVICES])
            device_factor[after] *= factors
        if shift.new_country is not None:
            shift_rng = _rng(seed, 2, ordinal, index)
            moved = after & (shift_rng.random(n) < shift.new_country_share)
            km = cat.country_distance_km(shift.new_country)
            country = np.where(moved, shift.new_country, country)
            is_foreign = is_foreign | moved
            distance = np.where(moved, km * np.exp(0.25 * shift_rng.standard_normal(n)), distance)
    device = _devices(category, device_factor, device_u)
    device_names = np.array(cat.DEVICES, dtype=object)
    card_present = np.isin(device, [cat.DEVICES.index(d) for d in cat.CARD_PRESENT_DEVICES])

    return pd.DataFrame(
        {
            "transaction_id": transaction_id,
            "timestamp": ts_ns.view("datetime64[ns]"),
            "customer_id": customer_id,
            "amount": np.round(amount, 2),
            "merchant_category": np.array(cat.MERCHANT_CATEGORIES, dtype=object)[category],
            "country": country.astype(object),
            "hour": hour.astype(np.int64),
            "device": device_names[device],
            "customer_age": age,
            "account_tenure_days": tenure,
            "txn_count_24h": txn_count.astype(np.int64),
            "amount_sum_24h": np.round(amount_sum, 2),
            "distance_from_home_km": np.round(distance, 1),
            "is_foreign": is_foreign,
            "card_present": card_present,
        }
    )


def _devices(category: _I64, factor: _F64, u: _F64) -> _I64:
    """Draw a device per row by inverse CDF over its category's (re-weighted) probabilities."""
    base = device_probabilities(None)[category]
    probs = base * factor
    totals = probs.sum(axis=1, keepdims=True)
    # Stacked shifts could zero every device of a category; those rows keep the base mix.
    probs = np.where(totals > 0, probs / np.where(totals > 0, totals, 1.0), base)
    cumulative = np.cumsum(probs, axis=1)
    device: _I64 = (u[:, None] >= cumulative[:, :-1]).sum(axis=1).astype(np.int64)
    return device


def _yyyymmdd(dates: npt.NDArray[np.datetime64]) -> _I64:
    months = dates.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    dom = (dates - months).astype(np.int64) + 1
    out: _I64 = year * 10_000 + month * 100 + dom
    return out


def _customers(
    rng: np.random.Generator,
    seed: int,
    first_day: np.datetime64,
    day: _I64,
    days: int,
    rows_per_day: int,
) -> tuple[_I64, _I64, _I64, _F64, _F64]:
    """Who made each transaction: id, age, account tenure, 24 h activity level and spend.

    Established cards come from a pool drawn from the seed alone, so windows share them;
    new cards open at a steady rate and stay "new" for 90 days, which keeps the share of
    young accounts stationary over any window.
    """
    n = len(day)
    pool = _rng(seed, 0)
    n_est = max(200, rows_per_day)
    est_activity = pool.gamma(0.6, 1 / 0.6, size=n_est)
    est_spend = np.exp(np.log(40.0) + 0.5 * pool.standard_normal(n_est))
    est_age = np.clip(np.round(pool.normal(44, 15, size=n_est)), 18, 90).astype(np.int64)
    est_tenure = (
        _NEW_ACCOUNT_WINDOW_DAYS + np.exp(np.log(1400.0) + 0.8 * pool.standard_normal(n_est))
    ).astype(np.int64)
    est_tenure = np.minimum(est_tenure, 20_000)

    # New accounts: `per_day` open each day from 90 days before the window to its end.
    window = _NEW_ACCOUNT_WINDOW_DAYS
    per_day = max(1, round(_NEW_ACCOUNT_SHARE * rows_per_day / window))
    n_new = per_day * (days + window)
    new_activity = rng.gamma(0.6, 1 / 0.6, size=n_new)
    new_spend = np.exp(np.log(35.0) + 0.5 * rng.standard_normal(n_new))
    new_age = np.clip(np.round(rng.normal(33, 12, size=n_new)), 18, 90).astype(np.int64)

    is_new = rng.random(n) < _NEW_ACCOUNT_SHARE
    est_index = rng.choice(n_est, size=n, p=est_activity / est_activity.sum())
    # A new card is picked among those opened in the 90 days up to the transaction's day.
    new_index = (day + 1) * per_day + (rng.random(n) * window * per_day).astype(np.int64)
    open_day = new_index // per_day - window
    # New cards' ids carry their opening date (YYYYMMDDnnn): apart from established ids.
    new_id = _yyyymmdd(first_day + open_day) * 1_000 + new_index % per_day

    customer_id = np.where(is_new, new_id, 1_000_000 + est_index).astype(np.int64)
    age = np.where(is_new, new_age[new_index], est_age[est_index])
    tenure = np.where(is_new, day - open_day, est_tenure[est_index] + day).astype(np.int64)
    activity = np.where(is_new, new_activity[new_index], est_activity[est_index])
    spend = np.where(is_new, new_spend[new_index], est_spend[est_index])
    return customer_id, age, tenure, activity, spend
