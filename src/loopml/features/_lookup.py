"""Online lookups: ``get_online_features`` and the per-workspace client behind it.

The client holds the applied definitions (re-read every ``refresh_s`` seconds, so a
long-running server sees new versions) and the selections already resolved, so a lookup
costs one prepared read per view and a JSON decode: no metadata-store query on the
request path.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput
from loopml.features._catalog import Catalog, Selection
from loopml.features._online import encode_key, open_online_store
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd

    from loopml.entities import FeatureWatermark
    from loopml.features._online import OnlineStore
    from loopml.workspace import Workspace


@dataclass
class OnlineFeatures:
    """Feature values of some entity rows, column by column.

    Attributes:
        columns: Feature name -> one value per entity row (None: missing or stale).
        event_times_us: View name -> the event time (µs) of each row's value, or None.
    """

    columns: dict[str, list[Any]]
    event_times_us: dict[str, list[int | None]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, list[Any]]:
        """Feature name -> values (as Feast's ``to_dict``)."""
        return dict(self.columns)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per entity row."""
        names = list(self.columns)
        count = len(next(iter(self.columns.values()))) if names else 0
        return [{n: self.columns[n][i] for n in names} for i in range(count)]

    def to_pandas(self) -> pd.DataFrame:
        """A DataFrame with one row per entity row."""
        import pandas as pd

        return pd.DataFrame(self.columns)


def _key(value: Any, dtype: str) -> str:
    if value is None:
        return ""
    if dtype in ("int64", "int32"):
        return str(int(value))
    return str(value)


class FeatureClient:
    """Online lookups for one workspace (one per workspace: :func:`client_for`).

    Args:
        workspace: The workspace whose definitions and online store are used.
        online_store: Online store URL (default: the applied one, else SQLite).
        refresh_s: How old the cached definitions may get before they are re-read.
    """

    def __init__(
        self, workspace: Workspace, online_store: str | None = None, *, refresh_s: float = 10.0
    ) -> None:
        self.workspace = workspace
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._catalog = Catalog.load(workspace.store)
        self._loaded = time.monotonic()
        self._selections: dict[Any, Selection] = {}
        url = online_store or self._catalog.online_store
        self.online: OnlineStore = open_online_store(url, workspace.home)

    def refresh(self) -> None:
        """Re-read the applied definitions now."""
        with self._lock:
            self._catalog = Catalog.load(self.workspace.store)
            self._loaded = time.monotonic()
            self._selections.clear()

    def selection(self, features: Sequence[str] | str) -> Selection:
        """The resolved selection (cached until the next refresh)."""
        if time.monotonic() - self._loaded > self.refresh_s:
            self.refresh()
        key = features if isinstance(features, str) else tuple(features)
        found = self._selections.get(key)
        if found is None:
            found = self._catalog.select(features)
            self._selections[key] = found
        return found

    def get(
        self,
        entity_rows: Sequence[Mapping[str, Any]],
        features: Sequence[str] | str,
        *,
        at: Any = None,
    ) -> OnlineFeatures:
        """Feature values for each entity row (see :func:`get_online_features`)."""
        from loopml.features._materialize import to_us

        selection = self.selection(features)
        now_us = to_us(at) if at is not None else int(time.time() * 1_000_000)
        assert now_us is not None
        columns: dict[str, list[Any]] = {}
        times: dict[str, list[int | None]] = {}
        for view, fields in selection.views:
            try:
                keys = [encode_key([_key(r[k], t) for k, t in view.keys]) for r in entity_rows]
            except KeyError as exc:
                raise InvalidInput(
                    f"an entity row lacks the key {exc.args[0]!r} of view {view.name!r}",
                    hint="Give every row the join keys: " + ", ".join(view.key_names),
                ) from None
            found = self.online.read(view.name, keys)
            order = {f.name: i for i, f in enumerate(view.features)}
            picks = [order[f.name] for f in fields]
            ttl_us = None if view.ttl_s is None else view.ttl_s * 1_000_000
            cols: list[list[Any]] = [[] for _ in fields]
            # timestamps are stored as ISO text: given back as datetimes, as offline
            timed = [col for col, f in zip(cols, fields, strict=True) if f.dtype == "timestamp"]
            stamps: list[int | None] = []
            for record in found:
                if record is None or (ttl_us is not None and now_us - record[0] > ttl_us):
                    stamps.append(None)
                    for col in cols:
                        col.append(None)
                    continue
                stamps.append(record[0])
                values = json.loads(record[1])
                for col, i in zip(cols, picks, strict=True):
                    col.append(values[i])
                for col in timed:
                    if col[-1] is not None:
                        col[-1] = datetime.fromisoformat(col[-1])
            times[view.name] = stamps
            for f, col in zip(fields, cols, strict=True):
                columns[f.name] = col
        if selection.on_demand:
            columns.update(_on_demand(selection, columns, entity_rows))
        return OnlineFeatures(columns, times)

    def freshness(self) -> dict[str, FeatureWatermark]:
        """View name -> its last materialisation into this client's online store."""
        marks = self.workspace.store.list_feature_watermarks()
        return {m.view: m for m in marks if m.target == self.online.target}

    def close(self) -> None:
        """Release the online store's connections."""
        self.online.close()


def _on_demand(
    selection: Selection, columns: dict[str, list[Any]], rows: Sequence[Mapping[str, Any]]
) -> dict[str, list[Any]]:
    import pandas as pd

    frame = pd.DataFrame(columns)
    for name in selection.request_fields:
        frame[name] = [r.get(name) for r in rows]
    out: dict[str, list[Any]] = {}
    for odfv, fields in selection.on_demand:
        if odfv.transform:
            from loopml.features._catalog import load_callable

            result = load_callable(odfv.transform)(frame.copy())
            for f in fields:
                out[f.name] = result[f.name].tolist()
            continue
        import duckdb

        from loopml.features._catalog import SQL_TYPES

        con = duckdb.connect()
        con.register("__rows", frame)
        exprs = ", ".join(f'CAST(({f.expr}) AS {SQL_TYPES[f.dtype]}) AS "{f.name}"' for f in fields)
        table = con.sql(f"SELECT {exprs} FROM __rows").fetchdf()
        con.close()
        for f in fields:
            out[f.name] = [None if v != v else v for v in table[f.name].tolist()]
    return out


def client_for(
    workspace: Workspace | None = None, online_store: str | None = None
) -> FeatureClient:
    """The workspace's :class:`FeatureClient` (one per workspace and online store URL).

    The prediction server calls this once at start-up and then ``client.get(rows, service)``
    per request.
    """
    ws = workspace or current_workspace()
    return ws.service(
        f"features.client:{online_store or ''}", lambda w: FeatureClient(w, online_store)
    )


def get_online_features(
    entity_rows: Sequence[Mapping[str, Any]],
    features: Sequence[str] | str,
    *,
    at: Any = None,
    online_store: str | None = None,
    workspace: Workspace | None = None,
) -> OnlineFeatures:
    """The newest materialised feature values for entity rows, from the online store.

    Args:
        entity_rows: One mapping per entity: the join keys (and request fields of any
            on-demand view), e.g. ``[{"user_id": 7}]``.
        features: ``view:feature`` / ``view`` references, or a feature service's name.
        at: The time TTLs are judged at (default: now).
        online_store: Online store URL (default: the applied one, else SQLite in the home).
        workspace: Workspace (default: the current one).

    Returns:
        Column-wise values; None where nothing is stored or the value is older than its TTL.

    Example:
        >>> get_online_features([{"user_id": 7}], "fraud_v1").to_dict()  # doctest: +SKIP
        {'amount': [12.5]}
    """
    return client_for(workspace, online_store).get(entity_rows, features, at=at)
