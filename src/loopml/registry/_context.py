"""Defaults for the store, artifact store and acting user of registry calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.registry._policies import Actor

if TYPE_CHECKING:
    from loopml.artifacts import ArtifactStore
    from loopml.config import Settings
    from loopml.store import Store


def actor_from_settings(settings: Settings | None = None) -> Actor:
    """The acting user configured in settings (``user``, ``roles``)."""
    if settings is None:
        from loopml.config import load_settings

        settings = load_settings()
    return Actor(settings.user, settings.roles)


def store_or_current(store: Store | None) -> Store:
    """``store``, or the current one."""
    if store is not None:
        return store
    from loopml.store import current_store

    return current_store()


def artifacts_or_default(artifacts: ArtifactStore | None) -> ArtifactStore:
    """``artifacts``, or the store the working directory's settings name."""
    if artifacts is not None:
        return artifacts
    from loopml.artifacts import open_artifact_store
    from loopml.config import load_settings

    return open_artifact_store(load_settings())


def actor_or_default(actor: Actor | str | None) -> Actor:
    """An Actor from an Actor, a bare name (no roles), or the settings."""
    if isinstance(actor, Actor):
        return actor
    if isinstance(actor, str):
        return Actor(actor)
    return actor_from_settings()
