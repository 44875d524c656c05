"""Signatures inferred from examples, how loaded models check input, and input examples.

What a loaded model does with the input it is given: it selects the signature's columns in
the signature's order (extra columns are ignored), names the columns of a plain array of
the right width, turns a dict of columns or a list of records into a table, and refuses
missing columns or a wrong width with a message naming what it takes. Values are passed to
the model as given; only the stored input example is cast back to the signature's dtypes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from loopml.errors import InvalidInput
from loopml.models import (
    ColumnSpec,
    PythonModel,
    Signature,
    infer_signature,
    load_model,
    save_model,
)


class Echo(PythonModel):
    """Describes what reached it: ``name:dtype`` per column of a table, else the array."""

    def predict(self, data: object) -> np.ndarray:
        if isinstance(data, pd.DataFrame):
            return np.array([f"{c}:{data[c].dtype}" for c in data.columns])
        return np.asarray(data)


class RowSum(PythonModel):
    def predict(self, data: pd.DataFrame) -> np.ndarray:
        return np.asarray(data, dtype=float).sum(axis=1)


def test_inferred_dtypes_cover_every_signature_type() -> None:
    frame = pd.DataFrame(
        {
            "i8": np.array([1, 2], dtype="int8"),
            "i16": np.array([1, 2], dtype="int16"),
            "i32": np.array([1, 2], dtype="int32"),
            "i64": np.array([1, 2], dtype="int64"),
            "u8": np.array([1, 2], dtype="uint8"),
            "u64": np.array([1, 2], dtype="uint64"),
            "f16": np.array([1, 2], dtype="float16"),
            "f32": np.array([1, 2], dtype="float32"),
            "f64": [0.5, 1.5],
            "flag": [True, False],
            "text": ["a", "b"],
            "arrow_text": pd.array(["a", "b"], dtype="string"),
            "category": pd.Categorical(["x", "y"]),
            "when": pd.to_datetime(["2026-01-01", "2026-01-02"]),
            "when_utc": pd.to_datetime(["2026-01-01", "2026-01-02"]).tz_localize("UTC"),
            "mixed": [1, "one"],
        }
    )
    sig = infer_signature(frame)
    assert sig.columns == list(frame.columns)  # the example's column order
    assert [c.dtype for c in sig.inputs] == [
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint64",
        "float16",
        "float32",
        "float64",
        "bool",
        "string",
        "string",
        "string",
        "datetime",
        "datetime",
        "object",
    ]
    assert all(c.shape is None for c in sig.inputs)
    assert sig.outputs is None


def test_tensor_series_and_record_examples() -> None:
    cube = infer_signature(np.zeros((4, 3, 2), dtype="float32"), np.zeros(4, dtype="int64"))
    assert cube.inputs == (ColumnSpec("float32", shape=(-1, 3, 2)),)
    assert cube.outputs == (ColumnSpec("int64", shape=(-1,)),)
    assert cube.columns == []  # tensors have no column names
    assert infer_signature([[1.0, 2.0]]).inputs[0] == ColumnSpec("float64", shape=(-1, 2))
    named = infer_signature(pd.Series([1.5], name="amount"))
    assert named.inputs == (ColumnSpec("float64", name="amount"),)
    assert infer_signature(pd.Series([1, 2])).inputs == (ColumnSpec("int64"),)
    records = infer_signature([{"b": 1, "a": "x"}, {"b": 2, "a": "y"}])
    assert [(c.name, c.dtype) for c in records.inputs] == [("b", "int64"), ("a", "string")]
    columns = infer_signature({"z": [1.0], "y": [True]})
    assert [(c.name, c.dtype) for c in columns.inputs] == [("z", "float64"), ("y", "bool")]


def test_unusable_examples_are_refused_with_what_is_accepted() -> None:
    with pytest.raises(InvalidInput, match="has no columns") as empty:
        infer_signature(pd.DataFrame())
    assert empty.value.hint == "Pass a non-empty table."
    with pytest.raises(InvalidInput, match="of type set") as odd:
        infer_signature({1, 2})
    assert "DataFrame" in (odd.value.hint or "") and "records" in (odd.value.hint or "")
    with pytest.raises(InvalidInput, match="output example of type object"):
        infer_signature(pd.DataFrame({"a": [1]}), object())


def test_signature_dict_form_round_trips_and_is_checked() -> None:
    sig = Signature(
        inputs=(ColumnSpec("float64", "amount"), ColumnSpec("string", "country")),
        outputs=(ColumnSpec("int64", shape=(-1,)),),
    )
    assert Signature.from_dict(sig.to_dict()) == sig
    assert sig.to_dict()["inputs"][1] == {"dtype": "string", "name": "country"}
    assert Signature.from_dict(sig.to_dict()).digest == sig.digest
    swapped = Signature(inputs=tuple(reversed(sig.inputs)), outputs=sig.outputs)
    assert swapped.digest != sig.digest  # column order is part of the contract
    with pytest.raises(InvalidInput, match="unknown signature dtype 'flaot'") as bad:
        Signature.from_dict({"inputs": [{"name": "x", "dtype": "flaot"}]})
    assert "float64" in (bad.value.hint or "") and "datetime" in (bad.value.hint or "")
    for malformed in ({}, {"inputs": "x"}, []):
        with pytest.raises(InvalidInput, match="needs an 'inputs' list"):
            Signature.from_dict(malformed)  # type: ignore[arg-type]


@pytest.fixture
def regression(tmp_path: Path) -> tuple[LinearRegression, pd.DataFrame, Path]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"amount": rng.normal(size=50), "hour": rng.integers(0, 24, 50), "age": rng.normal(size=50)}
    )
    model = LinearRegression().fit(X, X["amount"] * 3 - X["hour"])
    saved = save_model(model, tmp_path / "reg", input_example=X.head())
    return model, X, saved.path


def test_save_infers_inputs_and_outputs_from_the_example(regression) -> None:
    _, X, path = regression
    sig = load_model(path).signature
    assert sig is not None
    assert [(c.name, c.dtype) for c in sig.inputs] == [
        ("amount", "float64"),
        ("hour", "int64"),
        ("age", "float64"),
    ]
    assert sig.outputs == (ColumnSpec("float64", shape=(-1,)),)  # from predict(example)


def test_an_explicit_signature_is_kept_as_given(tmp_path: Path) -> None:
    given = Signature(inputs=(ColumnSpec("float32", "b"), ColumnSpec("float32", "a")))
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [10.0, 20.0]})
    saved = save_model(RowSum(), tmp_path / "m", signature=given, input_example=frame)
    loaded = load_model(saved.path)
    assert loaded.signature == given and saved.signature == given
    echoed = load_model(save_model(Echo(), tmp_path / "e", signature=given).path)
    assert echoed.predict(frame).tolist() == ["b:float64", "a:float64"]  # signature order


def test_columns_are_selected_and_reordered_by_the_signature(regression) -> None:
    model, X, path = regression
    loaded = load_model(path)
    expected = model.predict(X)
    np.testing.assert_allclose(loaded.predict(X[["age", "amount", "hour"]]), expected)
    np.testing.assert_allclose(loaded.predict(X.assign(extra="ignored")), expected)
    np.testing.assert_allclose(loaded.predict(X.to_dict(orient="list")), expected)
    np.testing.assert_allclose(loaded.predict(X.to_dict(orient="records")), expected)
    # a plain 2-D array of the right width is taken in the signature's column order
    np.testing.assert_allclose(loaded.predict(X.to_numpy()), expected)
    np.testing.assert_allclose(loaded.predict(X.to_numpy().tolist()), expected)


def test_missing_columns_and_wrong_shapes_name_what_the_model_takes(regression) -> None:
    _, X, path = regression
    loaded = load_model(path)
    with pytest.raises(InvalidInput) as missing:
        loaded.predict(X[["hour"]])
    assert missing.value.message == (
        "input is missing column(s) amount, age required by the model's signature"
    )
    assert missing.value.hint == "The model takes: amount, hour, age."
    assert missing.value.fields["missing"] == ["amount", "age"]
    with pytest.raises(
        InvalidInput, match=r"input of shape \(50, 2\) does not match the 3"
    ) as wide:
        loaded.predict(X.to_numpy()[:, :2])
    assert wide.value.hint == "Pass a DataFrame with columns: amount, hour, age."
    with pytest.raises(InvalidInput, match=r"shape \(50,\)"):
        loaded.predict(X["amount"].to_numpy())
    with pytest.raises(InvalidInput, match="missing column"):
        loaded.predict_proba(X[["hour"]])  # the same check runs before predict_proba


def test_values_reach_the_model_as_given(tmp_path: Path) -> None:
    frame = pd.DataFrame({"amount": [1.5, 2.5], "hour": [1, 2]})
    loaded = load_model(save_model(Echo(), tmp_path / "m", input_example=frame).path)
    ints = loaded.predict(pd.DataFrame({"hour": [3, 4], "amount": [7, 8]}))
    # selected and ordered, never cast: an int column for a float64 signature stays int
    assert ints.tolist() == ["amount:int64", "hour:int64"]
    from_array = loaded.predict(np.array([[1.0, 2.0]]))
    assert from_array.tolist() == ["amount:float64", "hour:float64"]
    tensor = load_model(save_model(Echo(), tmp_path / "t", input_example=np.zeros((2, 3))).path)
    raw = np.arange(7.0).reshape(1, 7)
    # a tensor signature has no columns to enforce: any shape goes through unchanged
    np.testing.assert_array_equal(tensor.predict(raw), raw)


def test_input_examples_round_trip_with_their_dtypes(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "small": np.array([1, -2, 3], dtype="int8"),
            "count": np.array([1, 2, 2**40], dtype="int64"),
            "ratio": np.array([0.5, 0.25, 1e-7], dtype="float32"),
            "flag": [True, False, True],
            "country": ["DE", "é", "NL"],
            "when": pd.to_datetime(
                ["2026-01-01T00:00:00", "2026-01-02T03:04:05", "2026-01-03T00:00:00"]
            ),
            "timestamp": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]).tz_localize(
                "UTC"
            ),
        }
    )
    loaded = load_model(save_model(Echo(), tmp_path / "m", input_example=frame).path)
    example = loaded.input_example()
    pd.testing.assert_frame_equal(example, frame, check_dtype=False)
    for column in ("small", "count", "ratio", "flag"):
        assert example[column].dtype == frame[column].dtype, column
    assert str(example["timestamp"].dt.tz) == "UTC"  # time-zone aware columns stay aware
    assert example["when"].dt.tz is None
    assert (loaded.path / "input_example.json").is_file()
    assert loaded.manifest.files["input_example.json"].role == "example"


def test_long_examples_keep_twenty_rows_and_arrays_keep_their_dtype(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": np.arange(100, dtype="float64")})
    assert (
        len(
            load_model(save_model(Echo(), tmp_path / "f", input_example=frame).path).input_example()
        )
        == 20
    )
    array = np.arange(90, dtype="int32").reshape(30, 3)
    back = load_model(save_model(Echo(), tmp_path / "a", input_example=array).path).input_example()
    assert back.dtype == np.int32 and back.shape == (20, 3)
    np.testing.assert_array_equal(back, array[:20])
    records = [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    again = load_model(save_model(Echo(), tmp_path / "r", input_example=records).path)
    pd.testing.assert_frame_equal(again.input_example(), pd.DataFrame(records), check_dtype=False)
