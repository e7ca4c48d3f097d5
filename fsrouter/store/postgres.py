"""PostgreSQL backend: psycopg 3 behind a `psycopg_pool.ConnectionPool`.

For several fsrouter processes sharing callbacks (see "Scale-out" in the
design): a claim locks its row (`FOR UPDATE`), so of processes claiming the
same callback exactly one gets it, and migrations take an advisory lock so
processes starting together migrate once.

Durability: a commit returns once the server has flushed its WAL, unless
the server runs with `synchronous_commit = off`; each pooled connection
turns that back on for itself (weaker settings would let an acknowledged
callback vanish in a server crash), leaving stronger ones (`remote_apply`…)
alone.

Reconnecting: a server restart, a failover or an idle-connection reaper
kills the pool's connections while they wait.  An operation that fails
because its connection died is run again on a fresh one (after `pool.check()`
has replaced the pool's other dead connections), up to `RETRIES` times,
when that is safe: always if the connection died before `COMMIT` was sent
(the server rolled the transaction back), and, if it died during `COMMIT`
(committed or not, nobody knows), only for idempotent operations (see
`SqlStore._run`).  Otherwise `StoreUnavailable` is raised.

Import this module only after `gevent.monkey.patch_all()`: psycopg picks
its wait function, and psycopg_pool its locks, when imported (see
`waits_cooperatively` and `gevent_wrapper`).
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import psycopg.waiting
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from fsrouter.store.errors import CommitUnknown, StoreError, StoreUnavailable
from fsrouter.store.sql import Dialect, SqlStore, T, Tx

log = logging.getLogger(__name__)

#: How many times an operation is run again after losing its connection:
#: the first retry meets a restarted server, a second covers a connection
#: that died while the pool was being checked.
RETRIES = 2

_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_MIGRATION_LOCK_KEY = int.from_bytes(b"fsrouter", "big")


@functools.lru_cache(maxsize=256)
def _translate(sql: str) -> str:
    """`:name` -> `%(name)s`, escaping literal `%` for psycopg."""
    return _NAMED_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


POSTGRES = Dialect(
    name="postgresql",
    ddl={"id_pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "json": "JSONB"},
    translate=_translate,
    for_update=" FOR UPDATE",
    migration_lock=f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})",
    json_param=Jsonb,
    json_value=lambda value: value,  # psycopg already loads jsonb
)


def _configure(conn: psycopg.Connection) -> None:
    conn.execute(
        "SELECT set_config('synchronous_commit', 'on', false)"
        " WHERE current_setting('synchronous_commit') = 'off'"
    )


#: SQLSTATE classes (and codes) meaning the server cannot do it now, though
#: it may later: connection exceptions, a transaction rolled back for a
#: conflict, disk full / out of resources, shut down by an operator, a system
#: error; and a read-only transaction (a standby after a failover).
#: https://www.postgresql.org/docs/current/errcodes-appendix.html
_UNAVAILABLE_CLASSES = ("08", "40", "53", "57", "58")
_READ_ONLY = "25006"


def _translated(error: psycopg.Error) -> StoreError:
    """The `StoreError` for a psycopg error that is not a lost connection."""
    message = str(error).partition("\n")[0]
    state = error.sqlstate or ""
    if (isinstance(error, psycopg.OperationalError) or state[:2] in _UNAVAILABLE_CLASSES
            or state == _READ_ONLY):
        return StoreUnavailable(f"PostgreSQL cannot do it now: {message}")
    return StoreError(f"PostgreSQL refused the operation: {message}")


def _probe(conninfo: str, options: dict) -> None:
    """Connect once, to say in one line why the server cannot be reached
    (the pool would only retry, logging why, until its timeout)."""
    try:
        psycopg.connect(conninfo, **options).close()
    except psycopg.Error as e:
        reason = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
        raise StoreUnavailable(f"cannot connect to PostgreSQL: {reason}") from e


class _ConnectionLost(Exception):
    """The connection died under a transaction; `committing` says it died
    after `COMMIT` was sent, so whether it committed is unknown."""

    def __init__(self, committing: bool):
        super().__init__("connection lost while committing" if committing else "connection lost")
        self.committing = committing


class PostgresStore(SqlStore):
    """`Store` in a PostgreSQL database, shared by any number of processes."""

    dialect = POSTGRES
    thread_safe = True

    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 5.0,
        connect_timeout: float = 5.0,
        migrate: bool = True,
    ):
        """`timeout` bounds the wait for a pooled connection during
        operation: a caller booking a callback waits out of line, hearing
        nothing, while it runs, so it is short, and every user of the store
        tries again later (the dialler's next poll, the statistics' next
        flush) rather than waiting out a failover; `connect_timeout` bounds
        opening: each connection attempt (libpq's `connect_timeout`, unless
        the URL sets it) and the pool's first connections, so that a
        server that cannot be reached is reported within seconds."""
        self._timeout = timeout
        connect_options = {"autocommit": True}  # transactions are explicit
        if "connect_timeout" not in conninfo_to_dict(conninfo):
            # libpq takes whole seconds, at least 2.
            connect_options["connect_timeout"] = max(2, math.ceil(connect_timeout))
        _probe(conninfo, connect_options)
        self._pool = ConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            kwargs=connect_options,
            configure=_configure,
            open=False,
            name="fsrouter-store",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
            if migrate:
                self._migrate()
        except BaseException as e:
            self._pool.close()
            if isinstance(e, PoolTimeout):
                raise self._unreachable() from e
            raise

    @property
    def waits_cooperatively(self) -> bool:
        # psycopg falls back from its C wait to Python's (patched) select
        # when it finds select monkey-patched at import time.
        return psycopg.waiting.wait is not getattr(psycopg.waiting, "wait_c", None)

    def close(self) -> None:
        self._pool.close()

    def _run(self, work: Callable[[Tx], T], *, write: bool = True, idempotent: bool = False) -> T:
        """`SqlStore._run`, run again on a fresh connection when the
        connection died and running again is safe (see the module doc).

        After a `COMMIT` of unknown outcome, running an idempotent change
        again is also how the outcome is found out (a keyed booking finds
        the row it committed, or commits it now); when that cannot be done
        either, `CommitUnknown` says so."""
        retries_left = RETRIES
        unknown: str | None = None  # why an earlier COMMIT's outcome is unknown
        while True:
            try:
                return super()._run(work, write=write, idempotent=idempotent)
            except _ConnectionLost as lost:
                cause = str(lost.__cause__).partition("\n")[0]  # not its CONTEXT lines
                if lost.committing and write:
                    if not idempotent:
                        raise CommitUnknown(
                            f"lost the PostgreSQL connection while committing ({cause});"
                            " not retried, as running this change twice is not safe:"
                            " it may or may not have been applied"
                        ) from lost.__cause__
                    unknown = unknown or cause
                if not retries_left:
                    raise self._failed(
                        StoreUnavailable(f"lost the PostgreSQL connection {RETRIES + 1} times in a row: {cause}"),
                        unknown,
                    ) from lost.__cause__
                retries_left -= 1
                log.warning("PostgreSQL connection lost (%s); retrying on a fresh one", cause)
                try:
                    self._pool.check()  # replace the pool's other dead connections
                except psycopg.Error as e:
                    log.warning("PostgreSQL pool check failed: %s", e)
            except PoolTimeout as e:
                raise self._failed(self._unreachable(), unknown) from e
            except psycopg.Error as e:
                raise self._failed(_translated(e), unknown) from e

    @staticmethod
    def _failed(error: StoreError, unknown: str | None) -> StoreError:
        """The error ending an operation: `CommitUnknown` if an earlier
        attempt's COMMIT may have been applied, else `error`."""
        if unknown is not None:
            return CommitUnknown(
                f"lost the PostgreSQL connection while committing ({unknown}), then could not"
                f" find out whether it was applied: {error}"
            )
        return error

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[Tx]:
        """One transaction on a pooled connection; a dead connection raises
        `_ConnectionLost` (the pool discards it when it comes back)."""
        with self._pool.connection() as conn:
            committing = False
            try:
                with conn.transaction():
                    with conn.cursor(row_factory=dict_row) as cursor:
                        yield Tx(cursor, POSTGRES)
                    committing = True
            except psycopg.Error as e:
                if conn.broken:
                    raise _ConnectionLost(committing) from e
                raise

    def _unreachable(self) -> StoreUnavailable:
        return StoreUnavailable(
            f"no PostgreSQL connection within {self._timeout:g}s (the psycopg.pool log says why)"
        )
