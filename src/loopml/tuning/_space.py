"""Search spaces: plain dicts (or YAML) to Optuna distributions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Mapping

    from optuna.distributions import BaseDistribution

_HINT = (
    "Describe each parameter as {type: float|int, low: L, high: H[, log: true][, step: S]}, "
    "{type: categorical, choices: [...]}, a list (choices), or an optuna distribution."
)


def to_distributions(space: Mapping[str, Any]) -> dict[str, BaseDistribution]:
    """Turn a search space into Optuna distributions.

    Args:
        space: Parameter name -> spec: ``{"type": "float", "low": 0.001, "high": 10,
            "log": True}``, ``{"type": "int", "low": 1, "high": 9, "step": 2}``,
            ``{"type": "categorical", "choices": ["a", "b"]}``, a list (choices), or an
            ``optuna.distributions`` object.

    Returns:
        Name -> distribution, in the order given.

    Raises:
        InvalidInput: A spec is malformed; the message names the parameter.
    """
    from optuna import distributions as d

    if not isinstance(space, dict) or not space:
        raise InvalidInput("the search space must be a non-empty mapping", hint=_HINT)
    out: dict[str, BaseDistribution] = {}
    for name, spec in space.items():
        if isinstance(spec, d.BaseDistribution):
            out[name] = spec
            continue
        if isinstance(spec, list | tuple):
            spec = {"type": "categorical", "choices": list(spec)}
        if not isinstance(spec, dict):
            raise InvalidInput(f"search space parameter {name!r}: cannot read {spec!r}", hint=_HINT)
        kind = spec.get("type")
        try:
            if kind == "categorical":
                choices = spec["choices"]
                if not isinstance(choices, list) or not choices:
                    raise ValueError("choices must be a non-empty list")
                out[name] = d.CategoricalDistribution(choices)
            elif kind == "float":
                out[name] = d.FloatDistribution(
                    float(spec["low"]),
                    float(spec["high"]),
                    log=bool(spec.get("log", False)),
                    step=None if spec.get("step") is None else float(spec["step"]),
                )
            elif kind == "int":
                out[name] = d.IntDistribution(
                    int(spec["low"]),
                    int(spec["high"]),
                    log=bool(spec.get("log", False)),
                    step=int(spec.get("step", 1)),
                )
            else:
                raise ValueError(f"unknown type {kind!r} (use float, int or categorical)")
            unknown = set(spec) - {"type", "low", "high", "log", "step", "choices"}
            if unknown:
                raise ValueError(f"unknown key(s) {sorted(unknown)}")
        except (KeyError, ValueError, TypeError) as exc:
            missing = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise InvalidInput(f"search space parameter {name!r}: {missing}", hint=_HINT) from exc
    return out
