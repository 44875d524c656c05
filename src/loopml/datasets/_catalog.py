"""Fixed tables behind the synthetic transactions: categories, countries, devices, seasonality.

The numbers are plausible rather than measured: they give each column a realistic shape
(skewed amounts, daily rhythm, mostly domestic spending) and keep the generator stationary
when no drift is asked for.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

HOME_COUNTRY = "GB"
"""Country of the issuing bank and of every cardholder's home."""

DEVICES: tuple[str, ...] = ("atm", "desktop", "mobile", "pos")
"""Channels a transaction can come through; ``atm`` and ``pos`` mean the card was present."""

CARD_PRESENT_DEVICES: frozenset[str] = frozenset({"atm", "pos"})

# name: (share of transactions, median amount, log-sd of amount, share abroad,
#        device probabilities in DEVICES order: atm, desktop, mobile, pos)
_CATEGORY_TABLE: dict[str, tuple[float, float, float, float, tuple[float, float, float, float]]] = {
    "cash_withdrawal": (0.10, 70.0, 0.60, 0.04, (1.00, 0.00, 0.00, 0.00)),
    "electronics": (0.05, 160.0, 0.90, 0.06, (0.00, 0.30, 0.35, 0.35)),
    "entertainment": (0.07, 24.0, 0.70, 0.04, (0.00, 0.15, 0.40, 0.45)),
    "fuel": (0.08, 52.0, 0.35, 0.02, (0.00, 0.00, 0.03, 0.97)),
    "gambling": (0.03, 45.0, 1.00, 0.15, (0.00, 0.35, 0.60, 0.05)),
    "grocery": (0.22, 32.0, 0.65, 0.02, (0.00, 0.03, 0.07, 0.90)),
    "health": (0.05, 38.0, 0.70, 0.02, (0.00, 0.08, 0.12, 0.80)),
    "online_retail": (0.15, 42.0, 0.85, 0.12, (0.00, 0.38, 0.62, 0.00)),
    "restaurants": (0.15, 26.0, 0.55, 0.03, (0.00, 0.03, 0.12, 0.85)),
    "travel": (0.05, 290.0, 0.85, 0.35, (0.00, 0.40, 0.45, 0.15)),
    "utilities": (0.05, 85.0, 0.50, 0.00, (0.00, 0.60, 0.40, 0.00)),
}

MERCHANT_CATEGORIES: tuple[str, ...] = tuple(_CATEGORY_TABLE)
"""Merchant categories, sorted; the values of the ``merchant_category`` column."""

CATEGORY_SHARE: npt.NDArray[np.float64] = np.array([v[0] for v in _CATEGORY_TABLE.values()])
CATEGORY_MEDIAN_AMOUNT: npt.NDArray[np.float64] = np.array([v[1] for v in _CATEGORY_TABLE.values()])
CATEGORY_AMOUNT_SIGMA: npt.NDArray[np.float64] = np.array([v[2] for v in _CATEGORY_TABLE.values()])
CATEGORY_FOREIGN_SHARE: npt.NDArray[np.float64] = np.array([v[3] for v in _CATEGORY_TABLE.values()])
CATEGORY_DEVICE_PROBS: npt.NDArray[np.float64] = np.array([v[4] for v in _CATEGORY_TABLE.values()])

# Foreign destinations of home cardholders: (share of foreign transactions, distance in km).
FOREIGN_COUNTRIES: dict[str, tuple[float, float]] = {
    "DE": (0.14, 930.0),
    "ES": (0.20, 1260.0),
    "FR": (0.24, 340.0),
    "IE": (0.08, 460.0),
    "IT": (0.10, 1430.0),
    "NL": (0.08, 360.0),
    "PT": (0.04, 1590.0),
    "US": (0.12, 5570.0),
}

# Distances for countries a covariate shift may introduce; others get _DEFAULT_DISTANCE_KM.
_EXTRA_DISTANCES_KM: dict[str, float] = {
    "AE": 5470.0,
    "BR": 9290.0,
    "CN": 8150.0,
    "IN": 6700.0,
    "JP": 9560.0,
    "MX": 8920.0,
    "NG": 4990.0,
    "RU": 2500.0,
    "TR": 2500.0,
    "ZA": 9030.0,
}
_DEFAULT_DISTANCE_KM = 5000.0


def country_distance_km(country: str) -> float:
    """Typical distance in km from a home cardholder to a transaction made in ``country``."""
    if country in FOREIGN_COUNTRIES:
        return FOREIGN_COUNTRIES[country][1]
    return _EXTRA_DISTANCES_KM.get(country, _DEFAULT_DISTANCE_KM)


# Relative transaction volume per hour of day (0..23): quiet nights, lunch and evening peaks.
HOURLY_WEIGHTS: npt.NDArray[np.float64] = np.array(
    [
        *(1.4, 0.9, 0.6, 0.45, 0.45, 0.8, 1.2, 2.6, 4.2, 5.0, 5.6, 6.3),
        *(7.6, 7.3, 6.0, 5.8, 6.2, 7.0, 7.4, 6.8, 5.6, 4.4, 3.0, 1.9),
    ]
)

# Relative transaction volume per day of week, Monday first: busy Fridays, quiet Sundays.
WEEKDAY_WEIGHTS: npt.NDArray[np.float64] = np.array([0.94, 0.96, 0.98, 1.02, 1.12, 1.10, 0.88])
