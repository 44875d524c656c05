"""Settings: one frozen object, built once and passed explicitly.

Sources, highest precedence first: explicit arguments to :func:`load_settings`,
``LOOPML_*`` environment variables, ``loopml.toml`` in the working directory,
``[tool.loopml]`` in ``pyproject.toml`` there, then defaults. Nothing here runs at import
time; every value remembers where it came from (``loopml config show``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loopml.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

ENV_PREFIX = "LOOPML_"
TOML_FILE = "loopml.toml"
PYPROJECT_FILE = "pyproject.toml"

Source = Literal["argument", "environment", "loopml.toml", "pyproject.toml", "default"]


class _Values(BaseModel):
    """The validated values; field docs double as `loopml config show` help."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path = Field(description="Folder holding the embedded database and artifacts.")
    db_url: str | None = Field(
        None, description="SQLAlchemy URL of the metadata store (default: SQLite in home)."
    )
    artifact_url: str | None = Field(
        None, description="fsspec URL of the artifact store (default: home/artifacts)."
    )
    busy_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="How long a write waits on a locked SQLite database."
    )
    auto_migrate: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Upgrade the schema on open: 'auto' does it for embedded SQLite only.",
    )
    user: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        description="Acting user recorded on registry changes (default: the OS login name).",
    )
    roles: str = Field(
        "approver",
        description="Comma-separated roles of the acting user (until governance adds RBAC).",
    )
    executor: str = Field(
        "local", min_length=1, description="Pipeline executor: 'local' or 'dask' (or a plugin)."
    )
    dask_address: str | None = Field(
        None, description="Dask scheduler address (default: start a local cluster on 127.0.0.1)."
    )
    price_cpu_hour: float = Field(
        0.05, ge=0, description="Price of one CPU-hour, for pipeline cost estimates."
    )
    price_gpu_hour: float = Field(
        2.5, ge=0, description="Price of one GPU-hour, for pipeline cost estimates."
    )


FIELDS: tuple[str, ...] = tuple(_Values.model_fields)


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
        return self.db_url.startswith("sqlite")

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
        }
        return [
            (name, "" if value is None else str(value), self.sources.get(name, "default"))
            for name, value in values.items()
        ]


def _read_toml(path: Path, table: tuple[str, ...]) -> dict[str, Any]:
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

    try:
        values = _Values.model_validate(chosen)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])} = {err.get('input')!r} "
            f"from {sources.get(str(err['loc'][0]), 'default')}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(
            f"invalid setting: {problems}",
            hint="Fix the value in the source named (argument, LOOPML_* variable or file).",
        ) from exc

    return Settings(
        home=Path(values.home),
        db_url_value=values.db_url,
        artifact_url_value=values.artifact_url,
        busy_timeout_s=values.busy_timeout_s,
        auto_migrate=values.auto_migrate,
        user_value=values.user,
        roles_value=values.roles,
        executor=values.executor,
        dask_address=values.dask_address,
        price_cpu_hour=values.price_cpu_hour,
        price_gpu_hour=values.price_gpu_hour,
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
    try:
        values = _Values.model_validate(dict(spec))
    except ValidationError as exc:
        raise ConfigError(f"invalid settings spec: {exc.errors()[0]['msg']}") from exc
    return Settings(
        home=Path(values.home),
        db_url_value=values.db_url,
        artifact_url_value=values.artifact_url,
        busy_timeout_s=values.busy_timeout_s,
        auto_migrate=values.auto_migrate,
        user_value=values.user,
        roles_value=values.roles,
        executor=values.executor,
        dask_address=values.dask_address,
        price_cpu_hour=values.price_cpu_hour,
        price_gpu_hour=values.price_gpu_hour,
        sources=dict.fromkeys(spec, "argument"),
    )
