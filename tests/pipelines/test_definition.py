"""Definitions and graph checks: errors point at the user's file:line, before anything runs."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import loopml
from loopml.errors import InvalidInput, InvalidPipeline
from loopml.pipelines import Graph, Input, Node, step
from loopml.pipelines._definition import parse_memory
from tests.pipelines import steps as s

HERE = __file__


@loopml.step
def produce_int() -> int:
    return 1


@loopml.step
def consume_str(text: str) -> str:
    return text


@loopml.step
def two(value: int) -> tuple[int, str]:
    return value, str(value)


def test_step_keeps_signature_and_runs_plainly_outside_pipelines() -> None:
    assert inspect.signature(s.square.fn) == s.square.signature
    assert list(inspect.signature(s.frame.fn).parameters) == ["values", "label"]
    assert s.pair("a", "b") == ["a", "b"]
    assert s.arithmetic.name == "arithmetic"
    assert s.arithmetic.target == "tests.pipelines.steps:arithmetic"


def test_graph_order_edges_and_params() -> None:
    graph = s.arithmetic.graph({"n": 4})
    assert graph.order() == ["numbers", "frame", "square", "summary"]
    summary = graph.node("summary")
    assert summary.upstream == ("frame", "square")
    assert graph.node("frame").params == {"label": "x"}
    assert graph.node("numbers").params == {"n": 4}
    assert graph.descendants("numbers") == {"frame", "square", "summary"}
    described = graph.to_json()
    assert [st["name"] for st in described["steps"]] == ["numbers", "frame", "square", "summary"]
    assert described["steps"][3]["upstream"] == ["frame", "square"]


def test_repeated_step_gets_a_suffix_and_tuple_outputs_split() -> None:
    @loopml.pipeline
    def twice() -> None:
        number, text = two(produce_int())
        consume_str(text)
        two(number)

    graph = twice.graph()
    assert [n.name for n in graph.nodes] == ["produce_int", "two", "consume_str", "two_2"]
    assert graph.node("consume_str").inputs == (Input("text", "two", 1),)
    assert graph.node("two").output_names == ("output_0", "output_1")


def test_unbound_input_points_at_the_call() -> None:
    @loopml.pipeline
    def missing() -> None:
        s.frame(s.numbers(3))  # no label

    with pytest.raises(InvalidPipeline) as info:
        missing.graph()
    assert f"{HERE}:" in info.value.message and "label" in info.value.message
    line = int(info.value.message.split(f"{HERE}:")[1].split(":")[0])
    assert "s.frame(s.numbers(3))" in Path(HERE).read_text().splitlines()[line - 1]


def test_type_mismatch_between_steps() -> None:
    @loopml.pipeline
    def mismatched() -> None:
        consume_str(produce_int())

    with pytest.raises(InvalidPipeline) as info:
        mismatched.graph()
    assert "expects str" in info.value.message and "returns int" in info.value.message
    assert HERE in info.value.message


def test_literal_of_wrong_type() -> None:
    @loopml.pipeline
    def wrong(n: object = "three") -> None:
        s.numbers(n)  # type: ignore[arg-type]

    with pytest.raises(InvalidPipeline, match="expects int"):
        wrong.graph()


def test_pipeline_parameters_are_checked() -> None:
    with pytest.raises(InvalidPipeline, match="no parameter"):
        s.arithmetic.graph({"m": 1})

    @loopml.pipeline
    def needs(n: int) -> None:
        s.numbers(n)

    with pytest.raises(InvalidPipeline, match="needs a value for parameter 'n'") as info:
        needs.graph()
    assert HERE in info.value.message


def test_outputs_have_no_value_while_defining() -> None:
    @loopml.pipeline
    def branching_on_output() -> None:
        if s.numbers(3):
            s.numbers(4)

    with pytest.raises(InvalidPipeline, match="no value while the pipeline is defined"):
        branching_on_output.graph()

    @loopml.pipeline
    def wrapped() -> None:
        s.pair([s.nap(0, "a")], "b")  # type: ignore[arg-type]

    with pytest.raises(InvalidPipeline, match="container"):
        wrapped.graph()

    @loopml.pipeline
    def empty() -> None:
        pass

    with pytest.raises(InvalidPipeline, match="calls no step"):
        empty.graph()


def test_cycles_duplicates_and_unknown_sources_are_refused() -> None:
    a = Node("a", s.square, (Input("values", "b"),), where="x.py:1")
    b = Node("b", s.square, (Input("values", "a"),), where="x.py:2")
    with pytest.raises(InvalidPipeline, match="cycle") as info:
        Graph("loop", (a, b))
    assert info.value.message.startswith("x.py:1")
    with pytest.raises(InvalidPipeline, match="used twice"):
        Graph("dup", (Node("a", s.numbers), Node("a", s.numbers)))
    with pytest.raises(InvalidPipeline, match="not a step"):
        Graph("orphan", (Node("a", s.square, (Input("values", "ghost"),)),))
    with pytest.raises(InvalidPipeline, match="no output"):
        Graph("idx", (Node("a", s.numbers), Node("b", s.square, (Input("values", "a", 3),))))


def test_bad_step_options() -> None:
    def varargs(*values: int) -> int:
        return sum(values)

    with pytest.raises(InvalidPipeline, match=r"\*values"):
        step(varargs)
    with pytest.raises(InvalidPipeline, match="retries"):
        step(retries=-1)(produce_int.fn)
    with pytest.raises(InvalidPipeline, match="timeout"):
        step(timeout=0)(produce_int.fn)
    with pytest.raises(InvalidPipeline, match="unknown resource"):
        step(resources={"tpu": 1})(produce_int.fn)
    with pytest.raises(InvalidPipeline, match="non-negative"):
        step(resources={"cpu": -1})(produce_int.fn)
    made = step(resources={"cpu": 2, "memory": "1GiB"})(produce_int.fn)
    assert made.resource_map == {"cpu": 2.0, "memory": float(2**30)}
    assert made.with_options(name="other").name == "other"


@pytest.mark.parametrize(
    ("text", "expected"), [(1024, 1024), ("2KiB", 2048), ("1.5GB", 1_500_000_000), ("7", 7)]
)
def test_parse_memory(text: object, expected: int) -> None:
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1", "1XB", None, True])
def test_parse_memory_rejects(text: object) -> None:
    with pytest.raises(InvalidInput):
        parse_memory(text)
