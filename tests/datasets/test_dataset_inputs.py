"""Bad arguments to the transactions generator give InvalidInput with a useful message."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import pytest

from loopml.datasets import (
    FRAUD_RULE,
    ConceptDrift,
    CovariateShift,
    fraud_probability,
    generate_transactions,
)
from loopml.errors import InvalidInput


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"days": 0}, r"days must be between 1 and 3660, got 0"),
        ({"days": 2.5}, r"days must be an integer, got 2\.5"),
        ({"days": True}, r"days must be an integer"),
        ({"rows_per_day": -5}, r"rows_per_day must be between 1 and 1000000, got -5"),
        ({"rows_per_day": "100"}, r"rows_per_day must be an integer, got '100'"),
        ({"seed": -1}, r"seed must be between 0 and"),
        ({"seed": None}, r"seed must be an integer, got None"),
        ({"start": "not-a-date"}, r"start is not a valid date or time: 'not-a-date'"),
        ({"start": "2026-10-01T12:30"}, r"start must be a calendar day without a time of day"),
        ({"start": 20261001}, r"start must be a date, a datetime or an ISO 8601 string"),
        ({"start": "1066-10-14"}, r"start must lie between 1900 and 2200"),
        (
            {"start": datetime(2026, 10, 1, tzinfo=UTC)},
            r"start must be timezone-naive",
        ),
        ({"days": 3000, "rows_per_day": 10_000}, r"30,000,000 rows is more than the 20,000,000"),
        ({"drift": "covariate"}, r"drift must be a list of CovariateShift / ConceptDrift"),
        ({"drift": [1]}, r"drift items must be CovariateShift or ConceptDrift, got 1"),
        ({"rule": "default"}, r"rule must be a FraudRule, got str"),
    ],
)
def test_generate_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInput, match=match) as info:
        generate_transactions(**kwargs)  # type: ignore[arg-type]
    assert info.value.hint
    assert isinstance(info.value, ValueError)


def test_a_single_drift_item_is_accepted_without_a_list() -> None:
    shift = CovariateShift(start="2026-10-02", amount_factor=2.0)
    one = generate_transactions(days=2, rows_per_day=100, drift=shift)  # type: ignore[arg-type]
    listed = generate_transactions(days=2, rows_per_day=100, drift=[shift])
    pd.testing.assert_frame_equal(one, listed)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"start": "soon"}, r"CovariateShift\.start is not a valid date or time"),
        ({"amount_factor": 0}, r"amount_factor must be between 0\.01 and 100\.0, got 0"),
        ({"amount_factor": math.nan}, r"amount_factor must be a finite number, got nan"),
        ({"new_country_share": 0.1}, r"new_country_share is 0\.1 but no new_country is given"),
        ({"new_country": "BR"}, r"new_country is 'BR' but new_country_share is 0"),
        (
            {"new_country": "Brazil", "new_country_share": 0.1},
            r"two-letter upper-case country code, got 'Brazil'",
        ),
        ({"new_country": "GB", "new_country_share": 0.1}, r"got the home country 'GB'"),
        ({"new_country": "BR", "new_country_share": 1.5}, r"between 0\.0 and 1\.0, got 1\.5"),
        ({"device_weights": {"tablet": 2.0}}, r"unknown devices \['tablet'\]"),
        ({"device_weights": {"mobile": -1.0}}, r"device_weights\['mobile'\] must be between"),
        ({"device_weights": {"atm": 0.0}}, r"leaves some merchant category with no"),
        ({"device_weights": [("mobile", 2.0)]}, r"device_weights must be a mapping"),
    ],
)
def test_covariate_shift_rejects_bad_parameters(kwargs: dict[str, object], match: str) -> None:
    params: dict[str, object] = {"start": "2026-10-16", **kwargs}
    with pytest.raises(InvalidInput, match=match):
        CovariateShift(**params)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strength": 1.5}, r"ConceptDrift\.strength must be between 0\.0 and 1\.0, got 1\.5"),
        ({"strength": "full"}, r"ConceptDrift\.strength must be a finite number"),
        ({"rule": {"night": 2.0}}, r"ConceptDrift\.rule must be a FraudRule, got dict"),
        ({"start": None}, r"ConceptDrift\.start must be a date"),
    ],
)
def test_concept_drift_rejects_bad_parameters(kwargs: dict[str, object], match: str) -> None:
    params: dict[str, object] = {"start": "2026-10-16", **kwargs}
    with pytest.raises(InvalidInput, match=match):
        ConceptDrift(**params)  # type: ignore[arg-type]


def test_fraud_rule_rejects_bad_weights_and_categories() -> None:
    with pytest.raises(InvalidInput, match=r"FraudRule\.night must be finite, got inf"):
        replace(FRAUD_RULE, night=math.inf)
    with pytest.raises(InvalidInput, match=r"FraudRule\.amount must be a number, got '1'"):
        replace(FRAUD_RULE, amount="1")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"unknown categories \['casino'\]") as info:
        replace(FRAUD_RULE, risky_categories=("gambling", "casino"))
    assert "grocery" in str(info.value.hint)
    with pytest.raises(InvalidInput, match=r"must be a tuple of category names, got 'gambling'"):
        replace(FRAUD_RULE, risky_categories="gambling")  # type: ignore[arg-type]


def test_fraud_probability_names_missing_columns() -> None:
    frame = generate_transactions(days=1, rows_per_day=50)
    with pytest.raises(InvalidInput, match=r"frame lacks the columns \['amount', 'hour'\]"):
        fraud_probability(frame.drop(columns=["amount", "hour"]))
    with pytest.raises(InvalidInput, match=r"lacks the columns \['timestamp'\]"):
        fraud_probability(
            frame.drop(columns=["timestamp"]), drift=[ConceptDrift(start="2026-10-01")]
        )
    with pytest.raises(InvalidInput, match=r"frame must be a pandas DataFrame, got dict"):
        fraud_probability({"amount": [1.0]})  # type: ignore[arg-type]
    aware = frame.assign(timestamp=frame["timestamp"].dt.tz_localize("UTC"))
    with pytest.raises(InvalidInput, match=r"timestamp must be timezone-naive datetime64"):
        fraud_probability(aware, drift=[ConceptDrift(start="2026-10-01")])
