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

Faults: every `sqlite3` error leaves as a `StoreError`.  Those the
environment causes (locked, disk full, read-only, I/O error, a file that is
not, or no longer, a database) are `StoreUnavailable`: nothing was written
and the same operation may succeed later.  A database file deleted or
replaced under the running process is one of them: SQLite would go on
reading and writing the unlinked inode, so a booking would be acknowledged
and then lost with the process.  Every transaction therefore checks, before
it commits, that the path still names the file opened (device and inode)
and refuses, logging it loudly, when it does not.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fsrouter.store.errors import StoreError, StoreUnavailable
from fsrouter.store.sql import Dialect, SqlStore, Tx

log = logging.getLogger(__name__)

#: Primary result codes meaning the database cannot be used right now (see
#: https://www.sqlite.org/rescode.html); others are refusals of the SQL.
_UNAVAILABLE = {
    sqlite3.SQLITE_BUSY: "stayed locked by another connection",
    sqlite3.SQLITE_LOCKED: "stayed locked by another connection",
    sqlite3.SQLITE_FULL: "cannot grow: the disk (or its size limit) is full",
    sqlite3.SQLITE_READONLY: "is read-only",
    sqlite3.SQLITE_IOERR: "could not be read or written (I/O error)",
    sqlite3.SQLITE_CANTOPEN: "could not be opened",
    sqlite3.SQLITE_CORRUPT: "is corrupt",
    sqlite3.SQLITE_NOTADB: "is not a SQLite database",
    sqlite3.SQLITE_PERM: "may not be accessed",
}

SQLITE = Dialect(
    name="sqlite",
    ddl={"id_pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "json": "TEXT"},
    translate=lambda sql: sql,  # sqlite3 takes :name parameters as they are
    for_update="",
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
        self._identity = None if path == ":memory:" else _identity(path)
        self._vanished_logged = False
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
        try:
            cursor = self._conn.cursor()
        except sqlite3.Error as e:
            raise self._translated(e) from e
        try:
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield Tx(cursor, SQLITE)
            self._check_same_file()
            cursor.execute("COMMIT")
        except BaseException as e:
            if self._conn.in_transaction:
                self._conn.rollback()
            if isinstance(e, sqlite3.Error):
                raise self._translated(e) from e
            raise
        finally:
            cursor.close()

    def _translated(self, error: sqlite3.Error) -> StoreError:
        """The `StoreError` for a `sqlite3` error: `StoreUnavailable` when the
        environment is at fault (see `_UNAVAILABLE`)."""
        code = getattr(error, "sqlite_errorcode", None)
        what = _UNAVAILABLE.get(code & 0xFF) if code is not None else None
        if what is None:
            return StoreError(f"SQLite database {self.path!r} refused the operation: {error}")
        if code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            what += f" for {self._busy_timeout:g}s"
        return StoreUnavailable(f"SQLite database {self.path!r} {what} ({error}); nothing written")

    def _check_same_file(self) -> None:
        """Refuse to commit unless `path` still names the file opened: a
        deleted or replaced database would take the commit to a file
        nobody will open again."""
        if self._identity is None:
            return
        try:
            now = _identity(self.path)
        except OSError as e:
            raise StoreUnavailable(f"SQLite database {self.path!r} cannot be checked: {e}") from e
        if now == self._identity:
            return
        what = "was deleted" if now is None else "was replaced by another file"
        message = (f"SQLite database {self.path!r} {what} while fsrouter had it open;"
                   " nothing more is written to it: restart fsrouter to open the database"
                   " at that path (the old file's contents stay readable through"
                   f" /proc/{os.getpid()}/fd until then)")
        if not self._vanished_logged:
            self._vanished_logged = True
            log.critical("%s", message)
        raise StoreUnavailable(message)


def _identity(path: str) -> tuple[int, int] | None:
    """The (device, inode) the path names now; None when nothing is there."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _synchronous(level: str) -> str:
    """Only levels that keep commits across a process crash in WAL mode."""
    level = level.upper()
    if level not in ("NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"synchronous must be NORMAL, FULL or EXTRA, not {level!r}")
    return level
