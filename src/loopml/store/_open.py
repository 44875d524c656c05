"""Opening the store a Settings object describes, and the current-store context."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from loopml.config import Settings, load_settings
from loopml.store.sql import SqlStore

if TYPE_CHECKING:
    from collections.abc import Iterator

    from loopml.store.protocols import Store

_current: ContextVar[Store | None] = ContextVar("loopml_current_store", default=None)
_opened: dict[tuple[str, str], Store] = {}


def open_store(settings: Settings) -> Store:
    """Open the metadata store ``settings`` describe.

    The embedded SQLite store is migrated on open (``auto_migrate="auto"``); a shared
    database must be upgraded with ``loopml db upgrade`` unless ``auto_migrate="always"``.

    Raises:
        StoreUnavailable: The database cannot be reached.
        SchemaTooNew: The database was migrated by a newer loopml.
        StoreError: A shared database needs ``loopml db upgrade``.
    """
    migrate = settings.auto_migrate == "always" or (
        settings.auto_migrate == "auto" and settings.is_embedded
    )
    return SqlStore(settings.db_url, busy_timeout_s=settings.busy_timeout_s, migrate=migrate)


@contextmanager
def use_store(store: Store) -> Iterator[Store]:
    """Make ``store`` the one SDK calls without an explicit store use, in this context."""
    token = _current.set(store)
    try:
        yield store
    finally:
        _current.reset(token)


def current_store() -> Store:
    """The store set by :func:`use_store`, else the one the working directory's settings name.

    The latter is opened once per process and settings and then reused.
    """
    store = _current.get()
    if store is not None:
        return store
    settings = load_settings()
    key = (settings.db_url, str(settings.home))
    if key not in _opened:
        _opened[key] = open_store(settings)
    return _opened[key]
