"""Synthetic card transactions with a known fraud rule and controllable drift.

``generate_transactions`` makes a realistic, seeded table of card payments labelled by a
documented logistic rule (``FRAUD_RULE``), so that models can be trained, gated, served and
monitored on data whose truth is known. ``CovariateShift`` and ``ConceptDrift`` change the
data from a chosen moment on, which is what the closed-loop demo detects and repairs.
See docs/datasets.md.
"""

from __future__ import annotations

from loopml.datasets._catalog import DEVICES, HOME_COUNTRY, MERCHANT_CATEGORIES
from loopml.datasets._drift import ConceptDrift, CovariateShift
from loopml.datasets._fraud import FRAUD_RULE, SHIFTED_FRAUD_RULE, FraudRule
from loopml.datasets._transactions import (
    CATEGORICAL_COLUMNS,
    FEATURE_COLUMNS,
    TARGET_COLUMN,
    fraud_probability,
    generate_transactions,
)

__all__ = [
    "CATEGORICAL_COLUMNS",
    "DEVICES",
    "FEATURE_COLUMNS",
    "FRAUD_RULE",
    "HOME_COUNTRY",
    "MERCHANT_CATEGORIES",
    "SHIFTED_FRAUD_RULE",
    "TARGET_COLUMN",
    "ConceptDrift",
    "CovariateShift",
    "FraudRule",
    "fraud_probability",
    "generate_transactions",
]
