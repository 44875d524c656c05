"""The feature store: versioned feature views, point-in-time correct training sets, an
online store and materialisation.

Define entities, feature views (over dataset versions or Parquet/CSV files), on-demand
views and feature services in Python or ``features.yaml``; :func:`plan` and :func:`apply`
version them in the metadata store with lineage to the dataset versions they read.
:func:`get_historical_features` joins features to entity rows as they were known at each
row's time (DuckDB ASOF joins, no leakage of rows written later); :func:`materialize`
copies the newest values into the online store (SQLite by default, Redis with the
``redis`` extra) and :func:`get_online_features` reads them back; :func:`read_feature_view`
gives a view's values over a time range (the input of feature statistics and drift,
``loopml.monitoring.feature_drift``).

The names load on first use (``import loopml.features`` imports neither DuckDB nor pandas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.plugins import lazy_exports

if TYPE_CHECKING:
    from loopml.features._apply import Change, apply, plan
    from loopml.features._defs import (
        DTYPES,
        Definitions,
        Entity,
        Feature,
        FeatureService,
        FeatureView,
        Field,
        OnDemandFeatureView,
    )
    from loopml.features._historical import HistoricalFeatures, get_historical_features
    from loopml.features._lookup import (
        FeatureClient,
        OnlineFeatures,
        client_for,
        get_online_features,
    )
    from loopml.features._materialize import MaterializeResult, materialize
    from loopml.features._online import OnlineStore, RedisOnlineStore, SqliteOnlineStore
    from loopml.features._read import read_feature_view
    from loopml.features._yaml import load_definitions, parse_definitions

_LAZY = {
    "Change": "loopml.features._apply:Change",
    "DTYPES": "loopml.features._defs:DTYPES",
    "Definitions": "loopml.features._defs:Definitions",
    "Entity": "loopml.features._defs:Entity",
    "Feature": "loopml.features._defs:Feature",
    "FeatureClient": "loopml.features._lookup:FeatureClient",
    "FeatureService": "loopml.features._defs:FeatureService",
    "FeatureView": "loopml.features._defs:FeatureView",
    "Field": "loopml.features._defs:Field",
    "HistoricalFeatures": "loopml.features._historical:HistoricalFeatures",
    "MaterializeResult": "loopml.features._materialize:MaterializeResult",
    "OnDemandFeatureView": "loopml.features._defs:OnDemandFeatureView",
    "OnlineFeatures": "loopml.features._lookup:OnlineFeatures",
    "OnlineStore": "loopml.features._online:OnlineStore",
    "RedisOnlineStore": "loopml.features._online:RedisOnlineStore",
    "SqliteOnlineStore": "loopml.features._online:SqliteOnlineStore",
    "apply": "loopml.features._apply:apply",
    "client_for": "loopml.features._lookup:client_for",
    "get_historical_features": "loopml.features._historical:get_historical_features",
    "get_online_features": "loopml.features._lookup:get_online_features",
    "load_definitions": "loopml.features._yaml:load_definitions",
    "materialize": "loopml.features._materialize:materialize",
    "parse_definitions": "loopml.features._yaml:parse_definitions",
    "plan": "loopml.features._apply:plan",
    "read_feature_view": "loopml.features._read:read_feature_view",
}

__all__ = [
    "DTYPES",
    "Change",
    "Definitions",
    "Entity",
    "Feature",
    "FeatureClient",
    "FeatureService",
    "FeatureView",
    "Field",
    "HistoricalFeatures",
    "MaterializeResult",
    "OnDemandFeatureView",
    "OnlineFeatures",
    "OnlineStore",
    "RedisOnlineStore",
    "SqliteOnlineStore",
    "apply",
    "client_for",
    "get_historical_features",
    "get_online_features",
    "load_definitions",
    "materialize",
    "parse_definitions",
    "plan",
    "read_feature_view",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__, globals())
