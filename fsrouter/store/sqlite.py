"""SQLite backend: the embedded default, one file, no server.

Durability: WAL journal with `synchronous=FULL`.  In WAL mode NORMAL
already survives a crash of the process (SIGKILL), because a commit is in
the OS page cache once `COMMIT` returns, but a power loss can roll back the
last transactions, and "we will call you back" is a promise made right
after the commit.  FULL fsyncs the WAL at each commit, so a callback that
was acknowledged survives a power loss too.  The cost is one fsync per
commit (measured in docs/decisions/0002-store-gevent.md), small at the rate
a call centre books callbacks and records events.

WAL also lets readers (a reporting CLI) run beside the writer.  Write
transactions begin with `BEGIN IMMEDIATE`: the write lock is taken up front,
so two processes sharing the file wait for each other (busy timeout)
instead of deadlocking when both try to upgrade a read lock.

One instance holds one connection and must be called by one thread at a
time; `GeventStore` gives it a dedicated worker thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fsrouter.store.errors import StoreError, StoreUnavailable
from fsrouter.store.sql import Dialect, SqlStore, Tx

SQLITE = Dialect(
    name="sqlite",
    ddl={"id_pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "json": "TEXT"},
    translate=lambda sql: sql,  # sqlite3 takes :name parameters as they are
    for_update="",
    skip_locked="",
    migration_lock=None,  # BEGIN IMMEDIATE already serialises migrators
    json_param=lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")),
    json_value=json.loads,
)


class SqliteStore(SqlStore):
    """`Store` in a SQLite file (or `:memory:` for tests)."""

    dialect = SQLITE
    thread_safe = False

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "FULL",
        busy_timeout: float = 10.0,
        migrate: bool = True,
    ):
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False: GeventStore calls from its worker thread,
            # never from two threads at once.
            self._conn = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(f"PRAGMA synchronous = {_synchronous(synchronous)}")
            self._conn.execute("PRAGMA foreign_keys = ON")
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot open SQLite database {path!r}: {e}") from e
        self.path = path
        self._busy_timeout = busy_timeout
        if migrate:
            try:
                self._migrate()
            except BaseException:
                self._conn.close()
                raise

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[Tx]:
        cursor = self._conn.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield Tx(cursor, SQLITE)
            cursor.execute("COMMIT")
        except BaseException as e:
            if self._conn.in_transaction:
                self._conn.rollback()
            if _busy(e):
                raise StoreUnavailable(
                    f"SQLite database {self.path!r} stayed locked by another connection"
                    f" for {self._busy_timeout:g}s"
                ) from e
            raise
        finally:
            cursor.close()


def _busy(error: BaseException) -> bool:
    """The busy timeout ran out: another process holds the write lock (the
    caller may try again later, as with a lost PostgreSQL connection)."""
    return isinstance(error, sqlite3.OperationalError) and error.sqlite_errorcode in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


def _synchronous(level: str) -> str:
    """Only levels that keep commits across a process crash in WAL mode."""
    level = level.upper()
    if level not in ("NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"synchronous must be NORMAL, FULL or EXTRA, not {level!r}")
    return level
