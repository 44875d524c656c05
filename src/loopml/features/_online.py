"""Online stores: the newest value of every feature of every entity key, for lookups.

One record per (view, entity key): the event and created time of the row it came from and
the feature values packed as one JSON array in the view's feature order. A write keeps the
newer record (greater event time, then created time), so a late-arriving or repeated batch
never replaces a newer value.

SQLite (default, ``home/features/online.db``): one ``WITHOUT ROWID`` table per view keyed
by the entity key (the primary key is the index), WAL, one connection per thread whose
statements stay prepared (the sqlite3 statement cache). Redis: one hash per key with a Lua
script for the compare-and-set, read with one pipelined round trip.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlsplit, urlunsplit

from loopml.errors import InvalidInput, MissingExtra

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

#: (entity key, event µs, created µs or None, packed values)
Record = tuple[str, int, int | None, str]


class OnlineStore(Protocol):
    """What materialisation writes to and lookups read from."""

    target: str

    def schema(self, view: str) -> str | None:
        """The digest of the view version the stored records belong to (None: none)."""
        ...

    def reset(self, view: str, digest: str) -> None:
        """Drop the view's records and mark them as belonging to ``digest``."""
        ...

    def write(self, view: str, records: Iterable[Record]) -> int:
        """Keep each record unless a newer one is stored; returns how many were sent."""
        ...

    def read(self, view: str, keys: Sequence[str]) -> list[tuple[int, str] | None]:
        """``(event µs, packed values)`` per key, None where nothing is stored."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def encode_key(values: Sequence[Any]) -> str:
    """One entity key as text (several key columns joined by U+001F)."""
    return "\x1f".join("" if v is None else str(v) for v in values)


def pack(values: Sequence[Any]) -> str:
    """Feature values as compact JSON (timestamps as ISO text, NaN as null)."""
    return json.dumps(
        [None if isinstance(v, float) and v != v else v for v in values],
        separators=(",", ":"),
        default=str,
    )


def _table(view: str) -> str:
    return f'"fv_{view}"'


class SqliteOnlineStore:
    """The default online store: one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.target = f"sqlite:///{self.path}"
        self._local = threading.local()
        self._known: set[str] = set()
        with self._conn() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS loopml_views "
                "(view TEXT PRIMARY KEY, digest TEXT NOT NULL) WITHOUT ROWID"
            )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, cached_statements=256)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def schema(self, view: str) -> str | None:
        row = self._conn().execute("SELECT digest FROM loopml_views WHERE view = ?", (view,))
        found = row.fetchone()
        return None if found is None else str(found[0])

    def reset(self, view: str, digest: str) -> None:
        with self._conn() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {_table(view)}")
            conn.execute(
                f"CREATE TABLE {_table(view)} (k TEXT PRIMARY KEY, e INTEGER NOT NULL, "
                "c INTEGER, v TEXT NOT NULL) WITHOUT ROWID"
            )
            conn.execute("INSERT OR REPLACE INTO loopml_views VALUES (?, ?)", (view, digest))

    def write(self, view: str, records: Iterable[Record]) -> int:
        sql = (
            f"INSERT INTO {_table(view)} (k, e, c, v) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (k) DO UPDATE SET e = excluded.e, c = excluded.c, v = excluded.v "
            f"WHERE excluded.e > {_table(view)}.e OR (excluded.e = {_table(view)}.e AND "
            f"coalesce(excluded.c, 0) >= coalesce({_table(view)}.c, 0))"
        )
        count = 0
        conn = self._conn()
        with conn:
            batch: list[Record] = []
            for record in records:
                batch.append(record)
                if len(batch) >= 10_000:
                    conn.executemany(sql, batch)
                    count += len(batch)
                    batch.clear()
            conn.executemany(sql, batch)
            count += len(batch)
        return count

    def read(self, view: str, keys: Sequence[str]) -> list[tuple[int, str] | None]:
        conn = self._conn()
        try:
            if len(keys) == 1:
                row = conn.execute(f"SELECT e, v FROM {_table(view)} WHERE k = ?", keys).fetchone()
                return [None if row is None else (row[0], row[1])]
            found: dict[str, tuple[int, str]] = {}
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for k, e, v in conn.execute(
                    f"SELECT k, e, v FROM {_table(view)} WHERE k IN ({marks})", chunk
                ):
                    found[k] = (e, v)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return [None] * len(keys)
            raise
        return [found.get(k) for k in keys]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


_UPSERT = """
local cur = redis.call('HMGET', KEYS[1], 'e', 'c')
local e, c = tonumber(ARGV[1]), tonumber(ARGV[2]) or 0
if cur[1] then
  local ce, cc = tonumber(cur[1]), tonumber(cur[2]) or 0
  if ce > e or (ce == e and cc > c) then return 0 end
end
redis.call('HSET', KEYS[1], 'e', ARGV[1], 'c', ARGV[2], 'v', ARGV[3])
return 1
"""


class RedisOnlineStore:
    """Online store on Redis (the ``redis`` extra): ``redis://host:port/db?prefix=NAME``."""

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError as exc:
            raise MissingExtra("redis", "the Redis online store") from exc
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.prefix = (query.pop("prefix", ["loopml"])[0] or "loopml") + ":fs"
        plain = urlunsplit(parts._replace(query=""))
        self.target = f"{plain}?prefix={self.prefix[:-3]}"
        self._client = redis.Redis.from_url(plain, socket_timeout=5)
        self._upsert = self._client.register_script(_UPSERT)

    def _key(self, view: str, key: str) -> str:
        return f"{self.prefix}:{view}:{key}"

    def schema(self, view: str) -> str | None:
        value = self._client.hget(f"{self.prefix}:__views", view)
        return None if value is None else value.decode()  # type: ignore[union-attr]

    def reset(self, view: str, digest: str) -> None:
        batch = []
        for key in self._client.scan_iter(match=f"{self.prefix}:{view}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                self._client.delete(*batch)
                batch.clear()
        if batch:
            self._client.delete(*batch)
        self._client.hset(f"{self.prefix}:__views", view, digest)

    def write(self, view: str, records: Iterable[Record]) -> int:
        count = 0
        pipe = self._client.pipeline(transaction=False)
        for key, event, created, values in records:
            self._upsert(
                keys=[self._key(view, key)],
                args=[event, "" if created is None else created, values],
                client=pipe,
            )
            count += 1
            if count % 5_000 == 0:
                pipe.execute()
        pipe.execute()
        return count

    def read(self, view: str, keys: Sequence[str]) -> list[tuple[int, str] | None]:
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(self._key(view, key), "e", "v")
        out: list[tuple[int, str] | None] = []
        for event, values in pipe.execute():
            out.append(None if event is None else (int(event), values.decode()))
        return out

    def close(self) -> None:
        self._client.close()


def open_online_store(url: str | None, home: Path) -> OnlineStore:
    """The online store a URL names: ``sqlite`` (default), ``sqlite:///PATH`` or ``redis://``."""
    if url in (None, "", "sqlite"):
        return SqliteOnlineStore(home / "features" / "online.db")
    assert url is not None
    if url.startswith("sqlite:///"):
        return SqliteOnlineStore(url.removeprefix("sqlite:///"))
    if url.startswith(("redis://", "rediss://", "unix://")):
        from loopml import plugins

        factory = plugins.load("online_stores", "redis")
        store: OnlineStore = factory(url)
        return store
    raise InvalidInput(
        f"unknown online store {url!r}",
        hint="Use sqlite (a file in the loopml home), sqlite:///PATH or redis://HOST:PORT/DB.",
    )
