"""The run filter language: what parses, what is refused, and where the error points."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopml.entities import BoolOp, Comparison, Not, OrderBy
from loopml.errors import InvalidInput
from loopml.tracking import parse_filter, parse_order_by


def test_the_issue_example() -> None:
    cond = parse_filter("metrics.auc > 0.9 and params.model = 'rf' and tags.team = 'risk'")
    assert cond == BoolOp(
        "and",
        (
            Comparison("metrics", "auc", ">", 0.9),
            Comparison("params", "model", "=", "rf"),
            Comparison("tags", "team", "=", "risk"),
        ),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("   ", None),
        ("status = 'finished'", Comparison("attributes", "status", "=", "FINISHED")),
        ("attributes.name like 'base%'", Comparison("attributes", "name", "like", "base%")),
        ("metrics.`val loss` <= -1e-3", Comparison("metrics", "val loss", "<=", -0.001)),
        ("metrics.val/loss != inf", Comparison("metrics", "val/loss", "!=", math.inf)),
        ("params.C in (1, '2')", Comparison("params", "C", "in", (1.0, "2"))),
        ("tags.x is not null", Comparison("tags", "x", "!=", None)),
        ("params.x IS NULL", Comparison("params", "x", "=", None)),
        ("params.a <> 'it''s'", Comparison("params", "a", "!=", "it's")),
        ("not tags.t = 'a'", Not(Comparison("tags", "t", "=", "a"))),
        ("created_at_ms >= 5", Comparison("attributes", "created_at_ms", ">=", 5.0)),
        ("metrics.ünï = 1", Comparison("metrics", "ünï", "=", 1.0)),
    ],
)
def test_parses(text: str, expected: object) -> None:
    assert parse_filter(text) == expected


def test_precedence_and_parentheses() -> None:
    a, b, c = (Comparison("metrics", k, ">", 1.0) for k in "abc")
    assert parse_filter("metrics.a > 1 or metrics.b > 1 and metrics.c > 1") == BoolOp(
        "or", (a, BoolOp("and", (b, c)))
    )
    assert parse_filter("(metrics.a > 1 or metrics.b > 1) and metrics.c > 1") == BoolOp(
        "and", (BoolOp("or", (a, b)), c)
    )


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("metrics.auc >", 14, "expected a value"),
        ("metrics.auc > 'high'", 13, "compares with a number"),
        ("metrics.auc > 0.9 params.C = 1", 19, "expected and/or"),
        ("bogus = 1", 1, "unknown name 'bogus'"),
        ("status = 'asleep'", 8, "unknown status"),
        ("metrics.auc ~ 3", 13, "unexpected character"),
        ("(metrics.a > 1", 15, "expected ')'"),
        ("params.C in (1, 2", 18, "')' or ','"),
        ("name like 3", 6, "compares with a quoted string"),
        ("metrics. > 1", 9, "expected a key"),
        ("and", 1, "expected a name"),
    ],
)
def test_malformed_filters_point_at_the_bad_token(text: str, column: int, words: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_filter(text)
    err = info.value
    assert f"column {column}" in err.message and words in err.message
    assert err.fields["position"] == column - 1
    caret_line = (err.hint or "").splitlines()[1]
    assert caret_line.index("^") - 2 == column - 1  # two spaces of indent before the filter


def test_order_by() -> None:
    assert parse_order_by("metrics.auc desc, params.C, name ASC") == (
        OrderBy("metrics", "auc", True),
        OrderBy("params", "C", False),
        OrderBy("attributes", "name", False),
    )
    assert parse_order_by(None) == ()
    for bad in ("metrics.auc sideways", "bogus desc"):
        with pytest.raises(InvalidInput):
            parse_order_by(bad)


@given(st.text(max_size=60))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        parse_filter(text)
    except InvalidInput as exc:
        assert "malformed run filter" in exc.message


@given(
    st.sampled_from(["metrics", "params", "tags"]),
    st.text(
        alphabet=st.characters(blacklist_characters="`", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=20,
    ),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
def test_quoted_keys_round_trip(scope: str, key: str, value: float) -> None:
    cond = parse_filter(f"{scope}.`{key}` >= {value!r}")
    assert cond == Comparison(scope, key, ">=", float(repr(value)))  # type: ignore[arg-type]
