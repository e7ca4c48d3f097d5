"""PostgreSQL backend: psycopg 3 behind a `psycopg_pool.ConnectionPool`.

For several fsrouter processes sharing callbacks (see "Scale-out" in the
design): claims use `FOR UPDATE SKIP LOCKED`, so processes claiming at the
same moment take different callbacks without waiting on each other, and
migrations take an advisory lock so processes starting together migrate
once.

Durability: a commit returns once the server has flushed its WAL, unless
the server runs with `synchronous_commit = off`; each pooled connection
turns that back on for itself (weaker settings would let an acknowledged
callback vanish in a server crash), leaving stronger ones (`remote_apply`…)
alone.

Import this module only after `gevent.monkey.patch_all()`: psycopg picks
its wait function, and psycopg_pool its locks, when imported (see
`waits_cooperatively` and `gevent_wrapper`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import psycopg.waiting
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from fsrouter.store.errors import StoreError
from fsrouter.store.sql import Dialect, SqlStore, Tx

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
    skip_locked=" FOR UPDATE SKIP LOCKED",
    migration_lock=f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})",
    json_param=Jsonb,
    json_value=lambda value: value,  # psycopg already loads jsonb
)


def _configure(conn: psycopg.Connection) -> None:
    conn.execute(
        "SELECT set_config('synchronous_commit', 'on', false)"
        " WHERE current_setting('synchronous_commit') = 'off'"
    )


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
        timeout: float = 30.0,
        migrate: bool = True,
    ):
        self._pool = ConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            kwargs={"autocommit": True},  # transactions are explicit
            configure=_configure,
            open=False,
            name="fsrouter-store",
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
            if migrate:
                self._migrate()
        except BaseException as e:
            self._pool.close()
            if isinstance(e, PoolTimeout):
                raise StoreError(
                    f"no PostgreSQL connection within {timeout:g}s"
                    " (the psycopg.pool log says why)"
                ) from e
            raise

    @property
    def waits_cooperatively(self) -> bool:
        # psycopg falls back from its C wait to Python's (patched) select
        # when it finds select monkey-patched at import time.
        return psycopg.waiting.wait is not getattr(psycopg.waiting, "wait_c", None)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[Tx]:
        with (
            self._pool.connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=dict_row) as cursor,
        ):
            yield Tx(cursor, POSTGRES)
