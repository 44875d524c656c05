"""Conformance checks for the feature store part of a Store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from loopml.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from loopml.store import Store


class FeatureStoreConformance:
    """Feature definitions and watermarks; needs a ``store`` fixture (fresh and empty)."""

    def test_feature_definitions_are_versioned_by_digest(self, store: Store) -> None:
        first, created = store.put_feature_definition(
            actor="ann", kind="feature_view", name="tx", digest="a" * 64, spec={"ttl_s": 60}
        )
        assert created and first.version == 1 and first.spec == {"ttl_s": 60}
        again, created = store.put_feature_definition(
            actor="ann", kind="feature_view", name="tx", digest="a" * 64, spec={"ttl_s": 60}
        )
        assert not created and again == first
        second, created = store.put_feature_definition(
            actor="bob", kind="feature_view", name="tx", digest="b" * 64, spec={"ttl_s": 90}
        )
        assert created and second.version == 2 and second.created_by == "bob"
        store.put_feature_definition(
            actor="ann", kind="entity", name="user", digest="c" * 64, spec={"keys": ["u"]}
        )
        assert store.get_feature_definition("feature_view", "tx") == second
        assert store.get_feature_definition("feature_view", "tx", 1) == first
        assert [(d.kind, d.name, d.version) for d in store.list_feature_definitions()] == [
            ("entity", "user", 1),
            ("feature_view", "tx", 2),
        ]
        assert [d.version for d in store.feature_definition_history("feature_view", "tx")] == [
            2,
            1,
        ]
        assert store.list_feature_definitions("entity")[0].name == "user"
        with pytest.raises(NotFound):
            store.get_feature_definition("feature_view", "nope")
        with pytest.raises(InvalidInput):
            store.list_feature_definitions("table")

    def test_feature_watermarks_upsert(self, store: Store) -> None:
        assert store.list_feature_watermarks() == []
        mark = store.set_feature_watermark("tx", "sqlite", watermark_ms=None, end_ms=5, rows=0)
        assert mark.watermark_ms is None and mark.end_ms == 5
        mark = store.set_feature_watermark("tx", "sqlite", watermark_ms=7, end_ms=9, rows=3)
        store.set_feature_watermark("tx", "redis://x", watermark_ms=1, end_ms=2, rows=1)
        marks = store.list_feature_watermarks("tx")
        assert [(m.target, m.watermark_ms, m.rows) for m in marks] == [
            ("redis://x", 1, 1),
            ("sqlite", 7, 3),
        ]
