"""Check that the servers the test suite talks to answer: PostgreSQL and Redis on loopback.

Run by ``make services`` (and so by ``make test``). A server that does not answer is named,
with where the tests look for it and how to point them elsewhere. Off CI that is a warning
(the tests that need it skip with the same reason); under CI=true it fails the step, because
CI promises every service.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.services import PG_ADMIN_URL, REDIS_URL, on_ci


def _postgres() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'loopml[postgres]')"
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{PG_ADMIN_URL} does not answer ({first}); set LOOPML_TEST_PG_ADMIN to use another"
    return None


def _redis() -> str | None:
    try:
        import redis
    except ImportError:
        return "the redis package is not installed (pip install 'loopml[redis]')"
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"{REDIS_URL} does not answer ({exc}); set LOOPML_TEST_REDIS_URL to use another"
    return None


def main() -> int:
    """Print one line per server; return 1 under CI when any does not answer."""
    failed = False
    for name, check in (("PostgreSQL", _postgres), ("Redis", _redis)):
        problem = check()
        if problem is None:
            print(f"services: {name} answers")
            continue
        failed = True
        consequence = "CI=true requires it" if on_ci() else "The tests that need it will skip"
        print(f"services: {name} is not available: {problem}. {consequence}.", file=sys.stderr)
    return 1 if failed and on_ci() else 0


if __name__ == "__main__":
    sys.exit(main())
