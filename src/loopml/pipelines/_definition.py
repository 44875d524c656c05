"""``@step`` and ``@pipeline``: user functions become immutable, typed definitions.

Calling a step inside a pipeline function does not run it: it records a node and returns
a placeholder for its output, so the whole graph is known (and checked) before anything
executes. Outside a pipeline, a step is an ordinary function call.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import types
import typing
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, cast, overload

from loopml.errors import InvalidInput, InvalidPipeline
from loopml.pipelines._graph import Graph, Input, Node, check_names

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

P = ParamSpec("P")
R = TypeVar("R")

_TRACE: ContextVar[_Tracer | None] = ContextVar("loopml_pipeline_trace", default=None)
_RESOURCE_KEYS = frozenset({"cpu", "memory", "gpu"})


def _where(fn: Callable[..., object]) -> str:
    code = getattr(fn, "__code__", None)
    if code is None:
        return f"<{getattr(fn, '__qualname__', fn)}>"
    return f"{code.co_filename}:{code.co_firstlineno}"


def _caller(depth: int = 2) -> str:
    frame = sys._getframe(depth)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def parse_memory(value: object) -> int:
    """Bytes from ``4096``, ``"512MiB"``, ``"4GiB"``, ``"2GB"``; InvalidInput otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    units = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
    units |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
    if isinstance(value, str):
        text = value.strip().lower()
        number = text.rstrip("abcdefghijklmnopqrstuvwxyz ")
        unit = text[len(number) :].strip()
        try:
            if unit in units and float(number) >= 0:
                return int(float(number) * units[unit])
        except ValueError:
            pass
    raise InvalidInput(
        f"invalid memory amount {value!r}",
        hint="Use bytes (an int) or a string such as '512MiB' or '4GiB'.",
    )


def _check_resources(resources: Mapping[str, object], where: str) -> tuple[tuple[str, float], ...]:
    checked: list[tuple[str, float]] = []
    for key, value in resources.items():
        if key not in _RESOURCE_KEYS:
            raise InvalidPipeline(
                f"{where}: unknown resource {key!r}", hint="Use cpu, memory and gpu."
            )
        amount = float(parse_memory(value)) if key == "memory" else value
        if not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount < 0:
            raise InvalidPipeline(f"{where}: resource {key!r} must be a non-negative number")
        checked.append((key, float(amount)))
    return tuple(sorted(checked))


def _tuple_arity(annotation: object) -> int | None:
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        if args and Ellipsis not in args and args != ((),):
            return len(args)
    return None


def _plain(annotation: object) -> type | None:
    """The annotation as a class when it is a plain class we can check, else None."""
    if isinstance(annotation, type) and annotation is not typing.Any:
        return annotation
    return None


@dataclass(frozen=True, eq=False)
class Step(Generic[P, R]):
    """A pipeline step: a function plus how to run it. Made by :func:`step`.

    Calling a step inside a ``@pipeline`` function adds it to the graph and returns a
    placeholder; anywhere else it simply calls the function.

    Attributes:
        fn: The user's function.
        name: Step name (default: the function's name).
        cache: Reuse outputs when code, parameters, inputs and environment are unchanged.
        retries: How many times a failing step is tried again.
        retry_delay: Seconds before the first retry; doubled for each further one.
        timeout: Seconds an attempt may run before it counts as failed (None: no limit).
        resources: ``(("cpu", 2.0), ("memory", bytes), ("gpu", 1.0))`` the step needs.
        requirements: Distribution names whose installed versions join the cache key.
    """

    fn: Callable[P, R]
    name: str
    cache: bool = True
    retries: int = 0
    retry_delay: float = 1.0
    timeout: float | None = None
    resources: tuple[tuple[str, float], ...] = ()
    requirements: tuple[str, ...] = ()
    signature: inspect.Signature = field(init=False, repr=False)
    hints: Mapping[str, object] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        where = _where(self.fn)
        check_names([self.name])
        if self.retries < 0 or self.retry_delay < 0:
            raise InvalidPipeline(f"{where}: retries and retry_delay must not be negative")
        if self.timeout is not None and self.timeout <= 0:
            raise InvalidPipeline(f"{where}: timeout must be positive (or None)")
        signature = inspect.signature(self.fn)
        for param in signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise InvalidPipeline(
                    f"{where}: step {self.name!r} takes *{param.name}; steps need named "
                    "parameters so inputs can be recorded and cached",
                )
        try:
            hints = typing.get_type_hints(self.fn)
        except Exception:  # unresolvable forward references: skip type checks
            hints = {}
        object.__setattr__(self, "signature", signature)
        object.__setattr__(self, "hints", hints)

    @property
    def where(self) -> str:
        """``file:line`` where the step function is defined."""
        return _where(self.fn)

    @property
    def resource_map(self) -> dict[str, float]:
        """The declared resources as a dict."""
        return dict(self.resources)

    def with_options(self, **changes: Any) -> Step[P, R]:
        """A copy with some options changed (``name``, ``cache``, ``retries``...)."""
        if "resources" in changes and isinstance(changes["resources"], dict):
            changes["resources"] = _check_resources(changes["resources"], self.where)
        return dataclasses.replace(self, **changes)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        tracer = _TRACE.get()
        if tracer is None:
            return self.fn(*args, **kwargs)
        return cast("R", tracer.add(self, args, kwargs, _caller()))


@dataclass(frozen=True)
class OutputRef:
    """Placeholder for a step's output while a pipeline function is being traced."""

    node: str
    index: int | None
    annotation: object = None

    def __bool__(self) -> bool:
        raise InvalidPipeline(
            f"the output of step {self.node!r} has no value while the pipeline is defined",
            hint="Pipeline functions only wire steps together; put logic inside a step.",
        )

    def __iter__(self) -> typing.Iterator[object]:
        raise InvalidPipeline(
            f"the output of step {self.node!r} cannot be unpacked",
            hint="Annotate the step's return as tuple[A, B] to give it several outputs.",
        )


class _Tracer:
    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.nodes: list[Node] = []
        self.names: dict[str, int] = {}

    def add(
        self, step: Step[Any, Any], args: tuple[object, ...], kwargs: dict[str, Any], where: str
    ) -> object:
        count = self.names.get(step.name, 0) + 1
        self.names[step.name] = count
        name = step.name if count == 1 else f"{step.name}_{count}"
        try:
            bound = step.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidPipeline(
                f"{where}: step {step.name!r} cannot be called like this: {exc}",
                hint=f"Its signature is {step.name}{step.signature} (defined at {step.where}).",
            ) from None
        bound.apply_defaults()
        inputs: list[Input] = []
        params: dict[str, object] = {}
        for param, value in bound.arguments.items():
            expected = _plain(step.hints.get(param))
            if isinstance(value, OutputRef):
                produced = _plain(value.annotation)
                if expected and produced and not issubclass(produced, expected):
                    raise InvalidPipeline(
                        f"{where}: input {param!r} of step {step.name!r} expects "
                        f"{expected.__qualname__}, but step {value.node!r} returns "
                        f"{produced.__qualname__}",
                        hint="Fix the annotation of one of the two steps, or convert in a step.",
                    )
                inputs.append(Input(param, value.node, value.index))
            elif _contains_ref(value):
                raise InvalidPipeline(
                    f"{where}: argument {param!r} of step {step.name!r} wraps a step output "
                    "in a container",
                    hint="Pass each step output as its own argument.",
                )
            else:
                if expected and not _accepts(expected, value):
                    raise InvalidPipeline(
                        f"{where}: parameter {param!r} of step {step.name!r} expects "
                        f"{expected.__qualname__}, got {type(value).__qualname__} {value!r}",
                    )
                params[param] = value
        annotation = step.hints.get("return")
        arity = _tuple_arity(annotation)
        self.nodes.append(
            Node(name, step, tuple(inputs), types.MappingProxyType(params), where, arity)
        )
        if arity is None:
            return OutputRef(name, None, annotation)
        parts = typing.get_args(annotation)
        return tuple(OutputRef(name, i, parts[i]) for i in range(arity))


def _accepts(expected: type, value: object) -> bool:
    if isinstance(value, expected):
        return True
    return expected is float and isinstance(value, int) and not isinstance(value, bool)


def _contains_ref(value: object) -> bool:
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_contains_ref(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_ref(v) for v in value.values())
    return isinstance(value, OutputRef)


@overload
def step(fn: Callable[P, R], /) -> Step[P, R]: ...


@overload
def step(
    *,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    retry_delay: float = 1.0,
    timeout: float | None = None,
    resources: Mapping[str, float | int | str] | None = None,
    requirements: tuple[str, ...] = (),
) -> Callable[[Callable[P, R]], Step[P, R]]: ...


def step(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    retry_delay: float = 1.0,
    timeout: float | None = None,
    resources: Mapping[str, float | int | str] | None = None,
    requirements: tuple[str, ...] = (),
) -> Step[P, R] | Callable[[Callable[P, R]], Step[P, R]]:
    """Make a function a pipeline step (usable bare, ``@step``, or with options).

    Args:
        fn: The function (when used as a bare decorator).
        name: Step name (default: the function's name).
        cache: Reuse outputs of an identical earlier run (code, params, inputs, env).
        retries: Further attempts after a failure.
        retry_delay: Seconds before the first retry, doubled for each further one.
        timeout: Seconds an attempt may run (None: unlimited).
        resources: ``{"cpu": 2, "memory": "4GiB", "gpu": 1}``; the local executor limits
            concurrency by cpu, Dask places the task on a worker offering them.
        requirements: Distribution names whose installed versions join the cache key.

    Returns:
        A :class:`Step`, callable with the function's own signature.

    Raises:
        InvalidPipeline: An option is out of range or the function takes ``*args``.

    Example:
        >>> @step(retries=2)
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> double(3)
        6
    """

    def wrap(func: Callable[P, R]) -> Step[P, R]:
        checked = _check_resources(resources or {}, _where(func))
        return Step(
            func,
            name or func.__name__,
            cache=cache,
            retries=retries,
            retry_delay=retry_delay,
            timeout=timeout,
            resources=checked,
            requirements=tuple(requirements),
        )

    return wrap if fn is None else wrap(fn)


@dataclass(frozen=True, eq=False)
class Pipeline(Generic[P]):
    """A pipeline: a function that wires steps together. Made by :func:`pipeline`.

    Calling it runs it with the default settings and returns a
    :class:`~loopml.pipelines.PipelineResult`; :meth:`run` takes parameters as a mapping
    plus run options (executor, cache, store).
    """

    fn: Callable[P, object]
    name: str
    target: str | None = None

    @property
    def where(self) -> str:
        """``file:line`` where the pipeline function is defined."""
        return _where(self.fn)

    def bind(self, params: Mapping[str, object] | None = None) -> dict[str, object]:
        """Check ``params`` against the function's signature and fill in defaults."""
        signature = inspect.signature(self.fn)
        given = dict(params or {})
        unknown = sorted(set(given) - set(signature.parameters))
        if unknown:
            raise InvalidPipeline(
                f"{self.where}: pipeline {self.name!r} has no parameter(s) {', '.join(unknown)}",
                hint=f"Its parameters: {', '.join(signature.parameters) or 'none'}.",
            )
        bound: dict[str, object] = {}
        for pname, param in signature.parameters.items():
            if pname in given:
                bound[pname] = given[pname]
            elif param.default is not inspect.Parameter.empty:
                bound[pname] = param.default
            else:
                raise InvalidPipeline(
                    f"{self.where}: pipeline {self.name!r} needs a value for parameter {pname!r}",
                    hint="Pass it in the call, in --config params.yaml or as -p key=value.",
                )
        return bound

    def graph(self, params: Mapping[str, object] | None = None) -> Graph:
        """Trace the pipeline function with ``params`` and return the checked graph.

        Raises:
            InvalidPipeline: Unknown or missing parameters, bad step calls, type
                mismatches between steps, repeated names or cycles (with file:line).
        """
        bound = self.bind(params)
        tracer = _Tracer(self.name)
        token = _TRACE.set(tracer)
        try:
            self.fn(**bound)  # type: ignore[arg-type,call-arg]
        finally:
            _TRACE.reset(token)
        if not tracer.nodes:
            raise InvalidPipeline(f"{self.where}: pipeline {self.name!r} calls no step")
        return Graph(self.name, tuple(tracer.nodes))

    def run(self, params: Mapping[str, object] | None = None, **options: Any) -> Any:
        """Run the pipeline; see :func:`loopml.pipelines.run_pipeline` for the options."""
        from loopml.pipelines._api import run_pipeline

        return run_pipeline(self, params, **options)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        bound = inspect.signature(self.fn).bind_partial(*args, **kwargs)
        return self.run(dict(bound.arguments))


@overload
def pipeline(fn: Callable[P, object], /) -> Pipeline[P]: ...


@overload
def pipeline(*, name: str | None = None) -> Callable[[Callable[P, object]], Pipeline[P]]: ...


def pipeline(
    fn: Callable[P, object] | None = None, /, *, name: str | None = None
) -> Pipeline[P] | Callable[[Callable[P, object]], Pipeline[P]]:
    """Make a function a pipeline; its body calls steps, passing outputs to inputs.

    Args:
        fn: The function (when used as a bare decorator).
        name: Pipeline name (default: the function's name).

    Returns:
        A :class:`Pipeline`; call it with the function's parameters to run it.

    Example:
        >>> @step
        ... def load() -> list[int]:
        ...     return [1, 2, 3]
        >>> @step
        ... def total(values: list[int]) -> int:
        ...     return sum(values)
        >>> @pipeline
        ... def tiny() -> None:
        ...     total(load())
        >>> [n.name for n in tiny.graph().nodes]
        ['load', 'total']
    """

    def wrap(func: Callable[P, object]) -> Pipeline[P]:
        pipe_name = name or func.__name__
        check_names([pipe_name])
        target = None
        module = getattr(func, "__module__", None)
        if module and module != "__main__" and "<locals>" not in func.__qualname__:
            target = f"{module}:{func.__qualname__}"
        return Pipeline(func, pipe_name, target)

    return wrap if fn is None else wrap(fn)
