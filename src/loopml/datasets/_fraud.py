"""The known fraud rule: a logistic score over a handful of transaction features."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from loopml.datasets._catalog import MERCHANT_CATEGORIES
from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy.typing as npt
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]  # stubs optional

AMOUNT_REFERENCE = 100.0
NIGHT_END_HOUR = 6
NEW_ACCOUNT_DAYS = 30
HIGH_VELOCITY_COUNT = 8

RULE_COLUMNS: tuple[str, ...] = (
    "account_tenure_days",
    "amount",
    "card_present",
    "hour",
    "is_foreign",
    "merchant_category",
    "txn_count_24h",
)


@dataclass(frozen=True)
class FraudRule:
    """Weights of the logistic score that decides how likely a transaction is fraud.

    The log-odds of fraud of one transaction are ``intercept`` plus

    - ``amount * ln(amount / 100)``
    - ``night * [hour < 6]``
    - ``foreign * [is_foreign]``
    - ``new_account * [account_tenure_days < 30]``
    - ``velocity * [txn_count_24h >= 8]``
    - ``risky_category * [merchant_category in risky_categories]``
    - ``card_not_present * [not card_present]``

    where ``[...]`` is 1 when the condition holds and 0 otherwise. The label is then a
    Bernoulli draw with probability ``1 / (1 + exp(-log_odds))``.

    Args:
        intercept: Log-odds of a 100-unit, daytime, domestic, card-present purchase at a
            non-risky merchant by an established, quiet account.
        amount: Weight per unit of ``ln(amount / 100)``; negative favours small amounts.
        night: Weight of a transaction between 00:00 and 05:59.
        foreign: Weight of a transaction outside the home country.
        new_account: Weight of an account younger than 30 days.
        velocity: Weight of 8 or more transactions by the same card in the past 24 hours.
        risky_category: Weight of a merchant category listed in ``risky_categories``.
        card_not_present: Weight of a card-not-present (mobile or desktop) transaction.
        risky_categories: Merchant categories that carry the ``risky_category`` weight; each
            must be one of ``MERCHANT_CATEGORIES``.

    Raises:
        InvalidInput: A weight is not a finite number, or a category is unknown.

    Example:
        >>> from dataclasses import replace
        >>> from loopml.datasets import FRAUD_RULE
        >>> replace(FRAUD_RULE, night=0.0).night
        0.0
    """

    intercept: float
    amount: float
    night: float
    foreign: float
    new_account: float
    velocity: float
    risky_category: float
    card_not_present: float
    risky_categories: tuple[str, ...]

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name == "risky_categories":
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput(
                    f"FraudRule.{f.name} must be a number, got {value!r}",
                    hint="Pass a finite float weight (log-odds units).",
                    parameter=f.name,
                    value=value,
                )
            if not math.isfinite(value):
                raise InvalidInput(
                    f"FraudRule.{f.name} must be finite, got {value!r}",
                    hint="Pass a finite float weight (log-odds units).",
                    parameter=f.name,
                    value=value,
                )
            object.__setattr__(self, f.name, float(value))
        cats = self.risky_categories
        if isinstance(cats, str) or not isinstance(cats, tuple | list | frozenset | set):
            raise InvalidInput(
                f"FraudRule.risky_categories must be a tuple of category names, got {cats!r}",
                hint=f"Accepted names: {', '.join(MERCHANT_CATEGORIES)}.",
                parameter="risky_categories",
                value=cats,
            )
        unknown = sorted(str(c) for c in cats if c not in MERCHANT_CATEGORIES)
        if unknown:
            raise InvalidInput(
                f"FraudRule.risky_categories has unknown categories {unknown}",
                hint=f"Accepted names: {', '.join(MERCHANT_CATEGORIES)}.",
                parameter="risky_categories",
                value=cats,
            )
        object.__setattr__(self, "risky_categories", tuple(sorted(set(cats))))

    def to_dict(self) -> dict[str, float | list[str]]:
        """Return the rule as plain JSON-ready values (for run params, lineage and model cards)."""
        out: dict[str, float | list[str]] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name != "risky_categories"
        }
        out["risky_categories"] = list(self.risky_categories)
        return out


FRAUD_RULE = FraudRule(
    intercept=-6.11,
    amount=1.2,
    night=2.5,
    foreign=2.0,
    new_account=2.2,
    velocity=2.0,
    risky_category=1.3,
    card_not_present=1.1,
    risky_categories=("electronics", "gambling", "online_retail"),
)
"""The rule the generator uses unless told otherwise: big, night-time, foreign,
card-not-present purchases at risky merchants by new or busy accounts (about 2 % fraud)."""

SHIFTED_FRAUD_RULE = FraudRule(
    intercept=-6.67,
    amount=-1.5,
    night=-1.0,
    foreign=0.0,
    new_account=0.5,
    velocity=2.0,
    risky_category=3.0,
    card_not_present=-2.0,
    risky_categories=("cash_withdrawal", "fuel"),
)
"""The rule a :class:`ConceptDrift` moves to by default: cloned (skimmed) cards used in
person at cash machines and fuel pumps, for small amounts, in the daytime, with busy cards
still suspect (about 2 % fraud)."""


def rule_log_odds(rule: FraudRule, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Log-odds of fraud of every row of ``frame`` under ``rule`` (columns already checked)."""
    columns: Mapping[str, npt.NDArray[np.generic]] = {
        name: frame[name].to_numpy() for name in RULE_COLUMNS if name != "merchant_category"
    }
    amount = columns["amount"].astype(np.float64)
    log_odds = np.full(len(frame), rule.intercept)
    log_odds += rule.amount * np.log(np.maximum(amount, 0.01) / AMOUNT_REFERENCE)
    log_odds += rule.night * (columns["hour"].astype(np.int64) < NIGHT_END_HOUR)
    log_odds += rule.foreign * columns["is_foreign"].astype(bool)
    log_odds += rule.new_account * (
        columns["account_tenure_days"].astype(np.int64) < NEW_ACCOUNT_DAYS
    )
    log_odds += rule.velocity * (columns["txn_count_24h"].astype(np.int64) >= HIGH_VELOCITY_COUNT)
    risky = frame["merchant_category"].isin(rule.risky_categories).to_numpy(dtype=bool)
    log_odds += rule.risky_category * risky
    log_odds += rule.card_not_present * ~columns["card_present"].astype(bool)
    return log_odds
