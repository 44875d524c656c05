"""Opening the store a Settings object describes."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from loopml.store.sql import SqlStore

if TYPE_CHECKING:
    from loopml.config import Settings
    from loopml.store.protocols import Store


def open_store(settings: Settings) -> Store:
    """Open the metadata store ``settings`` describe.

    The embedded SQLite store is migrated on open (``auto_migrate="auto"``); a shared
    database must be upgraded with ``loopml db upgrade`` unless ``auto_migrate="always"``.
    With ``server_url`` set (``LOOPML_SERVER_URL``, and ``LOOPML_TOKEN``) it is a
    :class:`~loopml.store.rest.RestStore` talking to that loopml server instead.
    Capabilities do not call this: they use their :class:`~loopml.workspace.Workspace`.

    Raises:
        StoreUnavailable: The database cannot be reached.
        SchemaTooNew: The database was migrated by a newer loopml.
        StoreError: A shared database needs ``loopml db upgrade``.
    """
    if settings.server_url:
        from loopml.store.rest import RestStore

        # Its methods are generated from the operation table, so mypy cannot see them.
        return cast("Store", RestStore(settings.server_url, token=settings.token))
    migrate = settings.auto_migrate == "always" or (
        settings.auto_migrate == "auto" and settings.is_embedded
    )
    return SqlStore(settings.db_url, busy_timeout_s=settings.busy_timeout_s, migrate=migrate)
