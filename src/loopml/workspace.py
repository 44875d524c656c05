"""The Workspace: what every capability works in.

A :class:`Workspace` holds the settings, the metadata store, the artifact store, the acting
user and the cache folder of one loopml home. Capabilities take one explicitly or use the
current one (:func:`current_workspace`, a ContextVar); nothing below the CLI rebuilds it
from the working directory. Its serialisable form (:meth:`Workspace.spec`, and pickling)
is what pipeline workers, Dask tasks, tuning trials and subprocesses receive, so they open
the same workspace they were started from.

Only :func:`current_workspace` falls back to the process's environment and working
directory, for a script that never chose a workspace (``loopml.start_run()`` at top level);
that default is opened once per distinct settings and reused.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from loopml.config import Settings, load_settings, settings_from_spec
from loopml.entities import Actor
from loopml.errors import ConfigError, HomeNotFound

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from loopml.artifacts import ArtifactStore
    from loopml.store import Store

T = TypeVar("T")

__all__ = [
    "Workspace",
    "current_workspace",
    "resolve_actor",
    "resolve_artifacts",
    "resolve_store",
    "use_store",
    "use_workspace",
    "workspace_for_spec",
]


class Workspace:
    """Settings, metadata store, artifact store, actor and cache folder of one home.

    The stores open lazily on first use, so building a workspace costs nothing until a
    capability needs it. Pass ``store``/``artifacts``/``actor`` to use objects you already
    hold instead of the ones the settings name.

    Args:
        settings: Where everything lives (see :func:`loopml.load_settings`).
        store: A metadata store to use instead of opening the one the settings name.
        artifacts: An artifact store to use instead of the settings' one.
        actor: Who acts (default: the settings' ``user`` and ``roles``).
        cache_dir: Folder for derived files (default: ``home/cache``).
        create: False refuses to create an embedded home that does not exist yet (for
            read-only commands): opening the store then raises :class:`HomeNotFound`.

    Example:
        >>> import loopml, tempfile
        >>> ws = loopml.Workspace.open(home=tempfile.mkdtemp())
        >>> with loopml.use_workspace(ws):
        ...     pass
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        artifacts: ArtifactStore | None = None,
        actor: Actor | None = None,
        cache_dir: Path | None = None,
        create: bool = True,
    ) -> None:
        self.settings = settings
        self.create = create
        self._cache_dir = cache_dir
        self._store = store
        self._owns_store = store is None
        self._artifacts = artifacts
        self._owns_artifacts = artifacts is None
        self._actor = actor
        self._services: dict[str, object] = {}
        self._lock = threading.RLock()

    @classmethod
    def open(
        cls,
        home: str | Path | None = None,
        *,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        create: bool = True,
        **overrides: Any,
    ) -> Workspace:
        """A workspace for ``home`` (default: from ``LOOPML_HOME``, config files, ``./.loopml``).

        Args:
            home: The loopml home folder.
            cwd: Folder to read ``loopml.toml``/``pyproject.toml`` from.
            env: Environment mapping (default: ``os.environ``).
            create: False for read-only use (see the class).
            **overrides: Further settings, highest precedence.

        Raises:
            ConfigError: A setting is malformed, or ``home`` is empty.
        """
        if home is not None and str(home).strip() == "":
            raise ConfigError(
                "the home folder is empty ('')",
                hint="Pass a folder with --home PATH (or LOOPML_HOME), or leave it unset "
                "for ./.loopml.",
            )
        settings = load_settings(cwd, env, home=home, **overrides)
        return cls(settings, create=create)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Workspace:
        """Rebuild a workspace from :meth:`spec` (in a worker, task or subprocess)."""
        settings = settings_from_spec(spec["settings"])
        actor = spec.get("actor")
        return cls(
            settings,
            actor=None if actor is None else Actor(actor["name"], tuple(actor["roles"])),
        )

    def spec(self) -> dict[str, Any]:
        """The small JSON-able form workers receive: settings values and the actor."""
        return {
            "settings": self.settings.to_spec(),
            "actor": {"name": self.actor.name, "roles": list(self.actor.roles)},
        }

    def __reduce__(self) -> tuple[Callable[..., Workspace], tuple[dict[str, Any]]]:
        # Pickles (multiprocessing, Dask, cloudpickle) carry the spec, never open handles;
        # a worker unpickling many tasks of one workspace opens its stores once.
        return (workspace_for_spec, (self.spec(),))

    def __repr__(self) -> str:
        return f"Workspace(home={str(self.home)!r}, db_url={self.settings.db_url!r})"

    @property
    def home(self) -> Path:
        """The home folder."""
        return self.settings.home

    @property
    def cache_dir(self) -> Path:
        """Folder for derived, re-creatable files (materialised models, stat caches)."""
        return self._cache_dir if self._cache_dir is not None else self.settings.home / "cache"

    @property
    def actor(self) -> Actor:
        """Who acts: the given actor, else the settings' ``user`` and ``roles``."""
        if self._actor is None:
            self._actor = Actor(self.settings.user, self.settings.roles)
        return self._actor

    @property
    def store(self) -> Store:
        """The metadata store (opened, and for an embedded home migrated, on first use).

        Raises:
            HomeNotFound: ``create=False`` and the embedded home has no database yet.
        """
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._check_exists()
                    from loopml.store import open_store

                    self._store = open_store(self.settings)
        return self._store

    @property
    def artifacts(self) -> ArtifactStore:
        """The artifact store (opened on first use)."""
        if self._artifacts is None:
            with self._lock:
                if self._artifacts is None:
                    self._check_exists()
                    from loopml.artifacts import open_artifact_store

                    self._artifacts = open_artifact_store(self.settings)
        return self._artifacts

    def derive(
        self,
        *,
        store: Store | None = None,
        artifacts: ArtifactStore | None = None,
        actor: Actor | None = None,
        cache_dir: Path | None = None,
    ) -> Workspace:
        """A workspace like this one with some parts replaced (the rest shared, not reopened)."""
        return Workspace(
            self.settings,
            store=store if store is not None else self._store,
            artifacts=artifacts if artifacts is not None else self._artifacts,
            actor=actor if actor is not None else self._actor,
            cache_dir=cache_dir if cache_dir is not None else self._cache_dir,
            create=self.create,
        )

    def exists(self) -> bool:
        """True when the home holds a store (always True for a shared database)."""
        if not self.settings.is_embedded:
            return True
        _, _, path = self.settings.db_url.partition(":///")
        path = path.partition("?")[0]
        return path in ("", ":memory:") or Path(path).is_file()

    def _check_exists(self) -> None:
        if not self.create and not self.exists():
            raise HomeNotFound(str(self.settings.home))

    def service(self, key: str, factory: Callable[[Workspace], T]) -> T:
        """The object ``factory`` builds for this workspace, built once and then reused.

        Capabilities keep their long-lived helpers here (the tracking client and its
        writer, the data repo) instead of in module-level caches.
        """
        with self._lock:
            if key not in self._services:
                self._services[key] = factory(self)
            return self._services[key]  # type: ignore[return-value]

    def close(self) -> None:
        """Close what this workspace opened (services first, then the stores)."""
        with self._lock:
            for service in reversed(list(self._services.values())):
                close = getattr(service, "close", None)
                if callable(close):
                    close()
            self._services.clear()
            if self._store is not None and self._owns_store:
                self._store.close()
                self._store = None
            if self._artifacts is not None and self._owns_artifacts:
                close = getattr(self._artifacts, "close", None)  # a remote one holds HTTP
                if callable(close):
                    close()
                self._artifacts = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_current: ContextVar[Workspace | None] = ContextVar("loopml_workspace", default=None)
# Opened workspaces, per process (a forked child must not reuse its parent's connections).
_opened: dict[tuple[int, str], Workspace] = {}
_opened_lock = threading.Lock()


def workspace_for_spec(spec: Mapping[str, Any]) -> Workspace:
    """The workspace :meth:`Workspace.spec` describes, opened once per process and reused."""
    key = (os.getpid(), json.dumps(spec, sort_keys=True, default=str))
    with _opened_lock:
        if key not in _opened:
            _opened[key] = Workspace.from_spec(spec)
        return _opened[key]


@contextmanager
def use_workspace(workspace: Workspace) -> Iterator[Workspace]:
    """Make ``workspace`` the current one in this context (thread, task, ``with`` block)."""
    token = _current.set(workspace)
    try:
        yield workspace
    finally:
        _current.reset(token)


def current_workspace() -> Workspace:
    """The workspace set by :func:`use_workspace`, else the process's default one.

    The default is built from ``LOOPML_*`` variables and the working directory's config
    files, once per distinct settings, and reused for the life of the process.
    """
    workspace = _current.get()
    if workspace is not None:
        return workspace
    settings = load_settings()
    return workspace_for_spec({"settings": settings.to_spec(), "actor": None})


@contextmanager
def use_store(store: Store) -> Iterator[Store]:
    """Run SDK calls without an explicit store on ``store``, in this context.

    The rest of the workspace (artifacts, actor, cache) stays the current one's.
    """
    with use_workspace(current_workspace().derive(store=store)):
        yield store


def resolve_store(store: Store | None = None) -> Store:
    """``store``, or the current workspace's."""
    return store if store is not None else current_workspace().store


def resolve_artifacts(artifacts: ArtifactStore | None = None) -> ArtifactStore:
    """``artifacts``, or the current workspace's."""
    return artifacts if artifacts is not None else current_workspace().artifacts


def resolve_actor(actor: Actor | str | None = None) -> Actor:
    """An Actor from an Actor, a bare name (no roles), or the current workspace's."""
    if isinstance(actor, Actor):
        return actor
    if isinstance(actor, str):
        return Actor(actor)
    return current_workspace().actor
