"""Settings: one frozen object, built once and passed explicitly.

Sources, highest precedence first: explicit arguments to :func:`load_settings`,
``LOOPML_*`` environment variables, ``loopml.toml`` in the working directory,
``[tool.loopml]`` in ``pyproject.toml`` there, then defaults. Nothing here runs at import
time; every value remembers where it came from (``loopml config show``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from loopml.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

ENV_PREFIX = "LOOPML_"
TOML_FILE = "loopml.toml"
PYPROJECT_FILE = "pyproject.toml"

Source = Literal["argument", "environment", "loopml.toml", "pyproject.toml", "default"]


@dataclass(frozen=True)
class _Field:
    """One setting's type and bounds; ``help`` doubles as `loopml config show` help."""

    kind: type
    default: Any
    help: str
    optional: bool = False
    choices: tuple[str, ...] = ()
    above: float | None = None  # exclusive lower bound
    at_least: float | None = None
    at_most: float | None = None
    min_length: int = 0
    max_length: int | None = None


# Validated by hand rather than by a pydantic model: this module is on the path of every
# command and of the first `start_run`, where pydantic's import cost 60-160 ms.
_FIELDS: dict[str, _Field] = {
    "home": _Field(Path, None, "Folder holding the embedded database and artifacts."),
    "db_url": _Field(
        str, None, "SQLAlchemy URL of the metadata store (default: SQLite in home).", True
    ),
    "artifact_url": _Field(
        str, None, "fsspec URL of the artifact store (default: home/artifacts).", True
    ),
    "busy_timeout_s": _Field(
        float, 30.0, "How long a write waits on a locked SQLite database.", above=0, at_most=3600
    ),
    "auto_migrate": _Field(
        str,
        "auto",
        "Upgrade the schema on open: 'auto' does it for embedded SQLite only.",
        choices=("auto", "always", "never"),
    ),
    "user": _Field(
        str,
        None,
        "Acting user recorded on registry changes (default: the OS login name).",
        True,
        min_length=1,
        max_length=255,
    ),
    "roles": _Field(
        str, "approver", "Comma-separated roles of the acting user (until governance adds RBAC)."
    ),
    "executor": _Field(
        str, "local", "Pipeline executor: 'local' or 'dask' (or a plugin).", min_length=1
    ),
    "dask_address": _Field(
        str, None, "Dask scheduler address (default: start a local cluster on 127.0.0.1).", True
    ),
    "price_cpu_hour": _Field(
        float, 0.05, "Price of one CPU-hour, for pipeline cost estimates.", at_least=0
    ),
    "price_gpu_hour": _Field(
        float, 2.5, "Price of one GPU-hour, for pipeline cost estimates.", at_least=0
    ),
    "server_url": _Field(
        str, None, "URL of a loopml server: the metadata store is then its REST API.", True
    ),
    "token": _Field(str, None, "API token sent to the loopml server (shown masked).", True),
}

FIELDS: tuple[str, ...] = tuple(_FIELDS)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("must be a number") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def _check(spec: _Field, value: Any) -> Any:
    """The value converted to the field's type; ValueError with the rule it broke."""
    if value is None and spec.optional:
        return None
    if spec.kind is Path:
        if not isinstance(value, (str, os.PathLike)):
            raise ValueError("must be a path")
        return Path(value)
    if spec.kind is float:
        number = _number(value)
        if spec.above is not None and not number > spec.above:
            raise ValueError(f"must be greater than {spec.above:g}")
        if spec.at_least is not None and number < spec.at_least:
            raise ValueError(f"must be at least {spec.at_least:g}")
        if spec.at_most is not None and number > spec.at_most:
            raise ValueError(f"must be at most {spec.at_most:g}")
        return number
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if spec.choices and value not in spec.choices:
        raise ValueError(f"must be one of {', '.join(repr(c) for c in spec.choices)}")
    if len(value) < spec.min_length:
        raise ValueError("must not be empty")
    if spec.max_length is not None and len(value) > spec.max_length:
        raise ValueError(f"must be at most {spec.max_length} characters")
    return value


def _validate(chosen: Mapping[str, Any], sources: Mapping[str, Source]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    problems = []
    for name, spec in _FIELDS.items():
        try:
            values[name] = _check(spec, chosen[name]) if name in chosen else spec.default
        except ValueError as exc:
            problems.append(f"{name} = {chosen[name]!r} from {sources.get(name, 'default')}: {exc}")
    if problems:
        raise ConfigError(
            f"invalid setting: {'; '.join(problems)}",
            hint="Fix the value in the source named (argument, LOOPML_* variable or file).",
        )
    return values


@dataclass(frozen=True)
class Settings:
    """Resolved loopml settings.

    Build with :func:`load_settings`; the derived properties fill in defaults that depend
    on ``home``.
    """

    home: Path
    db_url_value: str | None = None
    artifact_url_value: str | None = None
    busy_timeout_s: float = 30.0
    auto_migrate: str = "auto"
    user_value: str | None = None
    roles_value: str = "approver"
    executor: str = "local"
    dask_address: str | None = None
    price_cpu_hour: float = 0.05
    price_gpu_hour: float = 2.5
    server_url: str | None = None
    token: str | None = None
    sources: Mapping[str, Source] = field(default_factory=dict, compare=False)

    @property
    def db_url(self) -> str:
        """The metadata store URL; SQLite file ``home/loopml.db`` unless configured."""
        return self.db_url_value or f"sqlite:///{self.home / 'loopml.db'}"

    @property
    def artifact_url(self) -> str:
        """The artifact store URL; ``home/artifacts`` unless configured."""
        return self.artifact_url_value or str(self.home / "artifacts")

    @property
    def is_embedded(self) -> bool:
        """True when the metadata store is SQLite (nothing to run, migrated on open)."""
        return self.server_url is None and self.db_url.startswith("sqlite")

    @property
    def user(self) -> str:
        """The acting user: the configured one, else the OS login name."""
        if self.user_value:
            return self.user_value
        import getpass

        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"

    @property
    def roles(self) -> tuple[str, ...]:
        """The acting user's roles, parsed from the comma-separated setting."""
        return tuple(r.strip() for r in self.roles_value.split(",") if r.strip())

    def to_spec(self) -> dict[str, Any]:
        """The configured values as plain JSON-able data (see :func:`settings_from_spec`)."""
        return {
            "home": str(self.home),
            "db_url": self.db_url_value,
            "artifact_url": self.artifact_url_value,
            "busy_timeout_s": self.busy_timeout_s,
            "auto_migrate": self.auto_migrate,
            "user": self.user_value,
            "roles": self.roles_value,
            "executor": self.executor,
            "dask_address": self.dask_address,
            "price_cpu_hour": self.price_cpu_hour,
            "price_gpu_hour": self.price_gpu_hour,
            "server_url": self.server_url,
            "token": self.token,
        }

    def describe(self) -> list[tuple[str, str, Source]]:
        """Return ``(name, value, source)`` for every setting, derived values included."""
        values: dict[str, object] = {
            "home": self.home,
            "db_url": self.db_url,
            "artifact_url": self.artifact_url,
            "busy_timeout_s": self.busy_timeout_s,
            "auto_migrate": self.auto_migrate,
            "user": self.user,
            "roles": ",".join(self.roles),
            "executor": self.executor,
            "dask_address": self.dask_address,
            "price_cpu_hour": self.price_cpu_hour,
            "price_gpu_hour": self.price_gpu_hour,
            "server_url": self.server_url,
            "token": None if self.token is None else "****",
        }
        return [
            (name, "" if value is None else str(value), self.sources.get(name, "default"))
            for name, value in values.items()
        ]


def _read_toml(path: Path, table: tuple[str, ...]) -> dict[str, Any]:
    import tomllib  # ~10 ms, paid only where a config file exists

    try:
        with path.open("rb") as handle:
            data: Any = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: malformed TOML ({exc})",
            hint="Fix the syntax at the line and column shown, or delete the file.",
            path=str(path),
        ) from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})", path=str(path)) from exc
    for key in table:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: [{'.'.join(table)}] must be a table", path=str(path))
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        where = f"[{'.'.join(table)}] in {path}" if table else str(path)
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(unknown)}",
            hint=f"Accepted settings: {', '.join(FIELDS)}.",
            path=str(path),
        )
    return {k: _resolve_path(k, v, path.parent) for k, v in data.items()}


def _resolve_path(key: str, value: Any, base: Path) -> Any:
    if key == "home" and isinstance(value, str):
        return str((base / Path(value).expanduser()).resolve())
    return value


def load_settings(
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the Settings from arguments, environment, config files and defaults.

    Args:
        cwd: Working directory to look for ``loopml.toml``/``pyproject.toml`` and to put
            the default home in (default: the process's working directory).
        env: Environment mapping (default: ``os.environ``).
        **overrides: Explicit values, highest precedence; ``None`` values are ignored.

    Returns:
        The frozen settings, each value tagged with its source.

    Raises:
        ConfigError: A file is malformed, a key unknown, or a value of the wrong type.

    Example:
        >>> s = load_settings(cwd="/tmp", env={}, home="/tmp/h")
        >>> str(s.home), s.sources["home"]
        ('/tmp/h', 'argument')
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    environ = os.environ if env is None else env
    unknown = sorted(set(overrides) - set(FIELDS))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}", hint=f"Use {FIELDS}.")

    layers: list[tuple[Source, dict[str, Any]]] = [
        ("argument", {k: v for k, v in overrides.items() if v is not None}),
        (
            "environment",
            {
                name: environ[ENV_PREFIX + name.upper()]
                for name in FIELDS
                if environ.get(ENV_PREFIX + name.upper(), "") != ""
            },
        ),
    ]
    if (base / TOML_FILE).is_file():
        layers.append(("loopml.toml", _read_toml(base / TOML_FILE, ())))
    if (base / PYPROJECT_FILE).is_file():
        layers.append(("pyproject.toml", _read_toml(base / PYPROJECT_FILE, ("tool", "loopml"))))

    chosen: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    for source, values in reversed(layers):
        for key, value in values.items():
            chosen[key] = value
            sources[key] = source
    chosen.setdefault("home", base / ".loopml")
    if "home" in chosen and sources.get("home") in ("argument", "environment"):
        chosen["home"] = (base / Path(str(chosen["home"])).expanduser()).resolve()

    return _settings(_validate(chosen, sources), sources)


def _settings(values: Mapping[str, Any], sources: Mapping[str, Source]) -> Settings:
    return Settings(
        home=values["home"],
        db_url_value=values["db_url"],
        artifact_url_value=values["artifact_url"],
        busy_timeout_s=values["busy_timeout_s"],
        auto_migrate=values["auto_migrate"],
        user_value=values["user"],
        roles_value=values["roles"],
        executor=values["executor"],
        dask_address=values["dask_address"],
        price_cpu_hour=values["price_cpu_hour"],
        price_gpu_hour=values["price_gpu_hour"],
        server_url=values["server_url"],
        token=values["token"],
        sources=sources,
    )


def settings_from_spec(spec: Mapping[str, Any]) -> Settings:
    """Rebuild the Settings :meth:`Settings.to_spec` wrote, reading no file or variable.

    Raises:
        ConfigError: A key is unknown or a value invalid.
    """
    unknown = sorted(set(spec) - set(FIELDS))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}", hint=f"Use {FIELDS}.")
    if "home" not in spec:
        raise ConfigError("invalid settings spec: home is missing")
    sources: dict[str, Source] = dict.fromkeys(spec, "argument")
    return _settings(_validate(spec, sources), sources)
