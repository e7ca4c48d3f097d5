"""Does a store call waiting on the database leave the gevent hub running?

Another connection takes the write lock; the store is asked to book (so the
booking must wait); a ticker greenlet releases the lock after a few ticks.
If the booking's wait blocked the hub, the ticker could never run and the
booking would fail on the database's lock timeout instead.  Used by
test_store_gevent.py, in the test process and in monkey-patched children.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from urllib.parse import quote

import gevent

from fsrouter.store.url import sqlite_path

TICK = 0.01
TICKS_BEFORE_RELEASE = 5


def with_lock_timeout(url: str, seconds: int = 5) -> str:
    """`url` whose store gives up waiting for a lock after `seconds`, so a
    blocked hub fails the test instead of hanging it (SQLite stores give up
    after their busy timeout anyway)."""
    if url.startswith("sqlite"):
        return url
    return f"{url}&options={quote(f'-c lock_timeout={seconds * 1000}')}"


def hold_write_lock(url: str) -> Callable[[], None]:
    """Take the write lock from a separate connection; returns its release."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        return conn.close
    import psycopg

    conn = psycopg.connect(url)
    conn.execute("LOCK TABLE callbacks IN EXCLUSIVE MODE")
    return conn.close


def book_while_locked(store, url: str) -> list[str]:
    """What happened, in order: ["released", "booked"] when the hub ran."""
    happened: list[str] = []
    release = hold_write_lock(url)

    def ticker() -> None:
        for _ in range(TICKS_BEFORE_RELEASE):
            gevent.sleep(TICK)
        happened.append("released")
        release()

    ticking = gevent.spawn(ticker)
    store.book_callback("q", "+30210", "+30210", 1.0, 0, {})
    happened.append("booked")
    ticking.join()
    return happened
