"""Fixtures for pipeline tests: a fresh home's settings and store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loopml.config import Settings
from loopml.store import Store, open_store


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings)
    try:
        yield opened
    finally:
        opened.close()
