"""Registered models, versions and aliases: validate -> store -> lineage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.errors import InvalidInput, PermissionDenied
from loopml.ids import ModelUri
from loopml.models import lookup_version
from loopml.workspace import resolve_actor, resolve_store

if TYPE_CHECKING:
    from collections.abc import Mapping

    from loopml.entities import Actor, AliasMove, ModelVersion, RegisteredModel
    from loopml.store import Store


def create_model(
    name: str,
    *,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> RegisteredModel:
    """Create a registered model.

    Raises:
        Conflict: A model of that name exists.
        InvalidInput: The name is not valid.
    """
    return resolve_store(store).create_model(
        name, actor=resolve_actor(actor).name, description=description, tags=tags
    )


def get_model(name: str, *, store: Store | None = None) -> RegisteredModel:
    """Return a registered model (NotFound if absent)."""
    return resolve_store(store).get_model(name)


def list_models(*, store: Store | None = None) -> list[RegisteredModel]:
    """Every registered model, by name."""
    return resolve_store(store).list_models(limit=10_000)


def list_versions(name: str, *, store: Store | None = None) -> list[ModelVersion]:
    """Every version of a model, newest first."""
    return resolve_store(store).list_model_versions(name)


def get_version(ref: str, *, store: Store | None = None) -> ModelVersion:
    """The version named by ``NAME@ALIAS``, ``NAME/VERSION`` or a ``models:/`` URI.

    VERSION is a number, a semantic version or ``latest``.
    """
    text = ref if ref.startswith("models:/") else f"models:/{ref}"
    try:
        uri = ModelUri.parse(text)
    except InvalidInput as exc:
        raise InvalidInput(
            f"cannot parse model version reference {ref!r}",
            hint="Write NAME@ALIAS, NAME/NUMBER, NAME/1.2.0 or models:/NAME@ALIAS.",
        ) from exc
    return lookup_version(uri, resolve_store(store))


def update_version(
    name: str,
    number: int,
    *,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> ModelVersion:
    """Change a version's description or tags (recorded with who and when)."""
    return resolve_store(store).update_model_version(
        name, number, actor=resolve_actor(actor).name, description=description, tags=tags
    )


def _guarded(db: Store, name: str, alias: str) -> bool:
    return any(p.alias == alias for p in db.get_promotion_policies(name))


def set_alias(
    name: str,
    alias: str,
    version: int,
    *,
    reason: str = "",
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> AliasMove:
    """Point ``alias`` at ``version``, atomically, recording the move in its history.

    Raises:
        PermissionDenied: A promotion policy guards the alias (use request_promotion).
        NotFound: The model or version does not exist.
    """
    db = resolve_store(store)
    if _guarded(db, name, alias):
        raise PermissionDenied(
            f"alias {name}@{alias} is guarded by a promotion policy",
            hint=f"Use `loopml models request-promotion {name}/{version} {alias}`, then "
            "approve and promote.",
        )
    return db.set_alias(name, alias, version, actor=resolve_actor(actor).name, reason=reason)


def delete_alias(
    name: str,
    alias: str,
    *,
    reason: str = "",
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> AliasMove:
    """Remove an alias (recorded in its history)."""
    db = resolve_store(store)
    if _guarded(db, name, alias):
        raise PermissionDenied(f"alias {name}@{alias} is guarded by a promotion policy")
    return db.set_alias(name, alias, None, actor=resolve_actor(actor).name, reason=reason)


def alias_history(
    name: str, alias: str | None = None, *, store: Store | None = None
) -> list[AliasMove]:
    """Every move of an alias (or of all aliases of the model), oldest first."""
    return resolve_store(store).alias_history(name, alias)
