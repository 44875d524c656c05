"""Which arm of a deployment answers a request: weights, sticky keys and shadow copies.

Pure functions over a :class:`RouteTable` (what the deployment server holds in memory,
made from the stored :class:`~loopml.entities.Deployment`). A request with a key (the
``X-Loopml-Key`` header by default, or the header or input field the A/B spec names) is
hashed with the deployment's name, so the same key always lands on the same arm while the
weights stay the same, and two deployments split independently; a request without one is
assigned at random in proportion to the weights.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from loopml.entities import Deployment, DeploymentStrategy

KEY_HEADER = "x-loopml-key"
"""The request header whose value keeps a caller on one arm (an A/B test's unit)."""

_SCALE = float(2**64)


@dataclass(frozen=True)
class ArmRoute:
    """One arm as the router sees it.

    Attributes:
        name: The arm's name (``stable``, ``canary``, ``b``...).
        model: Registered model name.
        version: Model version number.
        weight: Percent of requests it answers (0: none; a shadow arm gets copies).
    """

    name: str
    model: str
    version: int
    weight: int

    @property
    def uri(self) -> str:
        """The model URI that loads this arm's version."""
        return f"models:/{self.model}/{self.version}"


@dataclass(frozen=True)
class RouteTable:
    """A deployment's routing at one revision.

    Attributes:
        deployment: The deployment (and endpoint) name.
        revision: The stored revision it was made from.
        strategy: canary, shadow, ab or bluegreen.
        arms: Every arm, in the deployment's order (the first is the stable arm).
        shadows: Arms that receive a copy of every request (never answer one).
        key: Where a request's sticky key comes from: ``header:NAME`` or an input
            field's name (the A/B spec's ``key``; default the ``X-Loopml-Key`` header).
    """

    deployment: str
    revision: int
    strategy: str
    arms: tuple[ArmRoute, ...]
    shadows: tuple[str, ...] = ()
    key: str = f"header:{KEY_HEADER}"

    @property
    def key_header(self) -> str | None:
        """The header holding the sticky key, or None when the key is an input field."""
        return self.key.split(":", 1)[1].lower() if self.key.startswith("header:") else None

    @property
    def key_field(self) -> str | None:
        """The input field holding the sticky key, or None when it is a header."""
        return None if self.key.startswith("header:") else self.key

    def answering(self, excluded: frozenset[str] = frozenset()) -> tuple[ArmRoute, ...]:
        """The arms that answer requests, without ``excluded`` (arms that failed to load).

        An excluded arm's share goes to the first arm left (the stable one), so an arm that
        cannot answer never turns its traffic into errors.
        """
        live = [a for a in self.arms if a.name not in excluded and a.name not in self.shadows]
        if not live:
            return ()
        lost = sum(a.weight for a in self.arms if a.name in excluded)
        if lost:
            live[0] = ArmRoute(live[0].name, live[0].model, live[0].version, live[0].weight + lost)
        return tuple(a for a in live if a.weight > 0) or (live[0],)


def route_table(deployment: Deployment) -> RouteTable:
    """The routing of a stored deployment."""
    arms = tuple(ArmRoute(a.name, a.model, a.version, a.weight) for a in deployment.arms)
    shadows: tuple[str, ...] = ()
    if deployment.strategy is DeploymentStrategy.SHADOW:
        shadows = tuple(a.name for a in arms[1:] if a.weight == 0)
    key = str((deployment.analysis.get("ab") or {}).get("key") or f"header:{KEY_HEADER}")
    return RouteTable(
        deployment.name, deployment.revision, deployment.strategy.value, arms, shadows, key
    )


def bucket(deployment: str, key: str) -> float:
    """Where ``key`` falls in [0, 1) for ``deployment`` (stable across processes)."""
    digest = hashlib.blake2b(f"{deployment}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def pick(
    arms: tuple[ArmRoute, ...],
    deployment: str,
    key: str | None,
    rng: random.Random | None = None,
) -> ArmRoute:
    """The arm that answers: by the key's bucket when there is a key, else at random.

    Args:
        arms: The answering arms (weights > 0), from :meth:`RouteTable.answering`.
        deployment: Salts the hash, so deployments split independently.
        key: The request's sticky key (None or "": random).
        rng: Source of the random draw (default: the module's).
    """
    if len(arms) == 1:
        return arms[0]
    point = bucket(deployment, key) if key else (rng or random).random()
    total = sum(a.weight for a in arms)
    edge = point * total
    for arm in arms:
        edge -= arm.weight
        if edge < 0:
            return arm
    return arms[-1]
