"""Engines and transactions: SQLite pragmas, write locks, and error translation."""

from __future__ import annotations

import importlib
import importlib.util
import select
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    NoSuchModuleError,
    OperationalError,
)

from loopml.errors import (
    ConfigError,
    HomeNotWritable,
    MissingExtra,
    StoreBusy,
    StoreUnavailable,
)
from loopml.store.sql._url import check_sqlite_file, check_url, not_a_database

if TYPE_CHECKING:
    from collections.abc import Iterator

_WRITE = "loopml_write"
# The transaction of Database.transaction() that reads and writes inside it join.
_AMBIENT: ContextVar[tuple[Database, Connection] | None] = ContextVar(
    "loopml_ambient_transaction", default=None
)
# Server connections are replaced after this long, before firewalls and NATs that drop idle
# flows (commonly after 5-15 minutes) can leave one half-open.
_PG_RECYCLE_S = 300


def upsert_insert(dialect: str, table: Table) -> Any:
    """The dialect's INSERT (with ``on_conflict_do_*``) for ``table``.

    The dialect modules load here, on first use: importing SQLAlchemy's PostgreSQL dialect
    costs ~0.1 s that a SQLite store never needs.
    """
    name = "postgresql" if dialect == "postgresql" else "sqlite"
    module = importlib.import_module(f"sqlalchemy.dialects.{name}")
    return module.insert(table)


# sqlite3's words for a file that is not a database, or one whose pages are damaged.
_NOT_A_DATABASE = ("file is not a database", "database disk image is malformed")


def safe_url(url: str) -> str:
    """Render a database URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable url>"


def _sqlite_setup(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself, so writes can take the
        # write lock up front (BEGIN IMMEDIATE) and wait on the busy handler, instead of
        # failing with "database is locked" when a read transaction upgrades.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN"
        )


def _readable(fd: int) -> bool:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


def _closed_by_server(dbapi_conn: Any) -> bool:
    """True when an idle pooled connection has something to read: the server's goodbye.

    An idle PostgreSQL connection receives nothing until it sends a query, so a readable
    socket means the server closed it (restart, ``pg_terminate_backend``, idle timeout: an
    error message, then the end of the stream) or, rarely, sent an asynchronous notice;
    either way the connection is replaced, which costs one reconnect when it was a notice.
    A local poll, not a round trip like ``pool_pre_ping``.
    """
    try:
        fd = dbapi_conn.fileno()
    except Exception:  # already closed, or a driver without a socket: let the pool decide
        return False
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


def _postgres_setup(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if _closed_by_server(dbapi_conn):
            raise DisconnectionError("the server closed this pooled connection")  # new one


def create_store_engine(url: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """Create the engine for ``url`` with loopml's settings for its dialect.

    Raises:
        ConfigError: The URL does not parse or names a database or driver loopml does not
            support (only sqlite:/// and postgresql+psycopg://).
        MissingExtra: The PostgreSQL driver is not installed.
        HomeNotWritable: The folder of a SQLite file cannot be created.
        StoreUnavailable: The SQLite path is a folder or a file that is not a database.
    """
    parsed = check_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql" and importlib.util.find_spec("psycopg") is None:
        raise MissingExtra("postgres", "a PostgreSQL metadata store")
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).expanduser().resolve().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise HomeNotWritable(
                    f"cannot create the folder {folder} for the SQLite store ({exc.strerror})",
                    hint="Point LOOPML_HOME or LOOPML_DB_URL at a writable location.",
                    path=str(folder),
                ) from exc
            check_sqlite_file(Path(database).expanduser(), url)
        connect_args["timeout"] = busy_timeout_s
    elif backend == "postgresql":
        connect_args.update(connect_timeout=5, keepalives=1, keepalives_idle=60)
    try:
        engine = create_engine(
            parsed,
            connect_args=connect_args,
            pool_recycle=_PG_RECYCLE_S if backend == "postgresql" else -1,
        )
    except (NoSuchModuleError, ArgumentError) as exc:
        raise ConfigError(
            f"unsupported database URL {safe_url(url)}: {exc}",
            hint="loopml supports sqlite:/// and postgresql+psycopg:// URLs.",
        ) from exc
    if backend == "sqlite":
        _sqlite_setup(engine, busy_timeout_s)
    elif backend == "postgresql":
        _postgres_setup(engine)
    return engine


def translate(exc: DBAPIError, url: str) -> Exception:
    """Map a driver error to the loopml error a user can act on (or return it unchanged)."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    if url.startswith("sqlite") and any(s in text for s in _NOT_A_DATABASE):
        path = make_url(url).database or url
        return not_a_database(path, url, text.strip(), damaged="malformed" in text)
    if isinstance(exc, OperationalError):
        if "database is locked" in text or "database is busy" in text:
            return StoreBusy(
                f"the database {safe_url(url)} stayed locked longer than the busy timeout",
                hint="Another process holds a long write; retry, or raise LOOPML_BUSY_TIMEOUT_S.",
            )
        if exc.connection_invalidated or "connect" in text.lower() or "unable to open" in text:
            return StoreUnavailable(
                f"cannot reach the metadata store at {safe_url(url)}: {text.strip()}",
                hint="Check that the database server is running and LOOPML_DB_URL is right.",
            )
    return exc


def open_database(url: str, *, busy_timeout_s: float = 30.0) -> Database:
    """An engine wrapper for ``url`` with no schema check (for migrations and status)."""
    return Database(create_store_engine(url, busy_timeout_s=busy_timeout_s), url)


class Database:
    """An engine plus the two kinds of transaction the store uses.

    Inside :meth:`transaction` every :meth:`read` and :meth:`write` of this database joins
    that one transaction (each as a savepoint), so a store method's writes commit, or
    vanish, together with whatever the block adds (the server's idempotency record).
    """

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.dialect = engine.dialect.name

    @contextmanager
    def _joined(self) -> Iterator[Connection | None]:
        ambient = _AMBIENT.get()
        if ambient is None or ambient[0] is not self:
            yield None
            return
        conn = ambient[1]
        try:
            with conn.begin_nested():
                yield conn
        except DBAPIError as exc:
            raise translate(exc, self.url) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent snapshot on both back-ends)."""
        with self._joined() as joined:
            if joined is not None:
                yield joined
                return
            try:
                with self.engine.connect() as conn, conn.begin():
                    yield conn
            except DBAPIError as exc:
                raise translate(exc, self.url) from exc

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it holds the write lock from its first statement."""
        with self._joined() as joined:
            if joined is not None:
                yield joined
                return
            try:
                with (
                    self.engine.connect().execution_options(**{_WRITE: True}) as conn,
                    conn.begin(),
                ):
                    yield conn
            except DBAPIError as exc:
                raise translate(exc, self.url) from exc

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction that every read and write of this database inside the
        block joins (as savepoints: an inner block that fails rolls back alone).

        The connection it yields commits when the block ends without an exception.
        """
        with self.write() as conn:
            token = _AMBIENT.set((self, conn))
            try:
                yield conn
            finally:
                _AMBIENT.reset(token)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
