"""Which database URLs the store accepts, and a cheap look at a SQLite file before opening it.

SQLAlchemy knows many dialects, but loopml's schema and queries are written and tested for
two: SQLite through the standard library and PostgreSQL through psycopg 3. Anything else is
refused here, before a driver import fails with a traceback or a foreign file is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from loopml.errors import ConfigError, StoreUnavailable

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import URL

SUPPORTED_HINT = (
    "loopml supports sqlite:///PATH/TO/loopml.db (the embedded store) and "
    "postgresql+psycopg://USER@HOST/DB; set LOOPML_DB_URL to one of them, or unset it to "
    "use the home's loopml.db."
)
#: (dialect, driver) pairs loopml runs on; the default driver of each dialect is named here
#: rather than left to the SQLAlchemy version (2.0 picks psycopg2 for postgresql://).
_SUPPORTED = {"sqlite": "pysqlite", "postgresql": "psycopg"}
#: What a URL's scheme probably meant, for the schemes people write by habit.
_MEANT = {
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg2": "postgresql+psycopg",
    "postgresql+pg8000": "postgresql+psycopg",
    "postgresql+asyncpg": "postgresql+psycopg",
    "sqlite3": "sqlite",
}
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _shown(url: str) -> str:
    """The URL for a message: password hidden; only the scheme of one that does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        scheme, sep, _ = url.partition("://")
        return f"{scheme}://..." if sep else repr(url[:40])


def check_url(url: str) -> URL:
    """Parse ``url`` and refuse every dialect and driver loopml does not support.

    Returns:
        The parsed URL, with the driver spelled out (``postgresql://`` becomes
        ``postgresql+psycopg://``).

    Raises:
        ConfigError: The URL does not parse, or names another database or driver.
    """
    scheme = url.partition("://")[0].lower()
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"cannot parse database URL {_shown(url)}",
            hint=SUPPORTED_HINT,
            url=_shown(url),
        ) from exc
    backend, _, driver = parsed.drivername.partition("+")
    wanted = _SUPPORTED.get(backend)
    if wanted is not None and driver in ("", wanted):
        return parsed.set(drivername=f"{backend}+{wanted}")
    meant = _MEANT.get(scheme)
    hint = SUPPORTED_HINT if meant is None else f"Write {meant}:// instead. {SUPPORTED_HINT}"
    raise ConfigError(
        f"unsupported database URL {_shown(url)}: {scheme}:// is not a database loopml can use",
        hint=hint,
        url=_shown(url),
    )


def check_sqlite_file(path: Path, url: str) -> None:
    """Refuse a path that exists but is a folder or a file that is not a SQLite database.

    An absent or empty file is fine: SQLite creates the database in it.

    Raises:
        StoreUnavailable: The path is a folder, cannot be read, or holds something else.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise not_a_database(path, url, "it is a folder") from None
    except OSError as exc:
        raise StoreUnavailable(
            f"cannot read the SQLite store {path}: {exc.strerror}",
            hint="Check the file's permissions, or point LOOPML_HOME / LOOPML_DB_URL elsewhere.",
            path=str(path),
        ) from exc
    if head and head != _SQLITE_MAGIC:
        raise not_a_database(path, url, "it does not start with the SQLite header")


def not_a_database(
    path: Path | str, url: str, why: str, *, damaged: bool = False
) -> StoreUnavailable:
    """The error for a store file that is not (or no longer) a readable SQLite database."""
    what = "a damaged SQLite database" if damaged else "not a SQLite database"
    return StoreUnavailable(
        f"{path} is {what} ({why}), so it cannot be the metadata store ({_shown(url)})",
        hint="Point LOOPML_DB_URL (or --home) at a loopml database; to start afresh here, "
        "move the file aside and run `loopml init`. Restore a damaged store from a backup.",
        path=str(path),
    )
