"""Cache-key ingredients and materialisers: pure, so property-tested."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopml.errors import InvalidInput
from loopml.pipelines import _materialisers as mats
from loopml.pipelines._hashing import canonical, code_digest, environment, param_text
from tests.pipelines import steps as s

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=4), json_values, max_size=5))
def test_canonical_ignores_dict_order(value: dict) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical(value) == canonical(reordered)


@given(json_values)
def test_json_materialiser_round_trips(value: object) -> None:
    chosen = mats.choose(value)
    assert chosen.name == "json"
    assert chosen.load(chosen.save(value)) == value


@given(st.lists(st.floats(allow_nan=False), max_size=20))
def test_numpy_materialiser_round_trips_bytes_exactly(values: list[float]) -> None:
    array = np.array(values, dtype=np.float64)
    chosen = mats.choose(array)
    assert chosen.name == "numpy.npy"
    loaded = chosen.load(chosen.save(array))
    assert isinstance(loaded, np.ndarray) and loaded.tobytes() == array.tobytes()
    assert chosen.save(array) == chosen.save(array.copy()), "same array, same bytes"


def test_materialisers_by_type() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=[5, 6])
    assert mats.choose(frame).name == "pandas.parquet"
    pd.testing.assert_frame_equal(mats.choose(frame).load(mats.choose(frame).save(frame)), frame)
    assert mats.choose((1, 2)).name == "pickle", "a tuple would come back as a list from JSON"
    assert mats.choose({1: "a"}).name == "pickle", "int keys would come back as str"
    assert mats.choose(float("nan")).name == "pickle"
    assert mats.choose(np.array([object()], dtype=object)).name == "pickle"
    from sklearn.linear_model import LogisticRegression

    assert mats.choose(LogisticRegression()).name == "sklearn.pickle"
    import pyarrow as pa

    table = pa.table({"a": [1, 2]})
    chosen = mats.choose(table)
    assert chosen.name == "arrow.parquet" and chosen.load(chosen.save(table)).equals(table)
    with pytest.raises(InvalidInput):
        mats.by_name("nope")
    with pytest.raises(InvalidInput, match="built in"):
        mats.register_materialiser(mats.Json())


def test_code_digest_follows_project_helpers_only() -> None:
    assert code_digest(s.square.fn) == code_digest(s.square.fn)
    assert code_digest(s.square.fn) != code_digest(s.numbers.fn)
    assert len(code_digest(lambda x: x)) == 64


def test_params_and_environment() -> None:
    assert canonical(np.arange(3)) == canonical(np.arange(3))
    assert canonical(np.arange(3)) != canonical(np.arange(3, dtype=np.int32))
    assert canonical(0.1) == "0.1" and canonical((1, 2)) == [1, 2]
    assert len(param_text("x" * 1000)) == 500
    env = environment(("numpy", "surely-not-installed-pkg"))
    assert env["numpy"] == np.__version__ and env["surely-not-installed-pkg"] == "not installed"
