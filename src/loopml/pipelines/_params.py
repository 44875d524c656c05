"""Pipeline parameters from a YAML file and ``-p key=value`` pairs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Mapping


def parse_params(pairs: list[str], config: Mapping[str, object] | None = None) -> dict[str, object]:
    """Merge ``config`` (from YAML) with ``key=value`` pairs (values parsed as YAML scalars).

    Raises:
        InvalidInput: A pair has no ``=``.
    """
    import yaml

    params = dict(config or {})
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"cannot parse parameter {pair!r}", hint="Write -p key=value.")
        params[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return params


def read_config(path: str) -> dict[str, object]:
    """Read pipeline parameters from a YAML file (a mapping at the top).

    Raises:
        InvalidInput: The file is missing, malformed or not a mapping.
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        raise InvalidInput(f"cannot read parameters file {path!r}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path}: malformed YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: parameters must be a mapping of name: value")
    return {str(k): v for k, v in data.items()}
