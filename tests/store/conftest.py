"""Fixtures running every store test on both backends.

`store` (and `backend`, to reopen or open a second connection) is
parametrized over SQLite and PostgreSQL.  The PostgreSQL half runs against
a server the session starts itself (see throwaway_pg.py) and stops at the
end, whatever happened.  Without PostgreSQL binaries those tests are
skipped, except under CI=true where that is a failure.

For speed, PostgreSQL tests share one migrated database, emptied before
each test; tests that need an empty database ask `backend.fresh_url()`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from throwaway_pg import ThrowawayPostgres, find_bin_dir

from fsrouter.store import Store, open_store

_TABLES = "callbacks, callback_attempts, queue_events, survey_scores, agent_desk, notices"
_fresh_ids = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ThrowawayPostgres]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = (
            "PostgreSQL server binaries not found ($FSROUTER_PG_BIN, PATH,"
            " /usr/lib/postgresql/*/bin): PostgreSQL store tests not run"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI=true requires them")
        pytest.skip(reason)
    with ThrowawayPostgres(bin_dir) as server:
        yield server


@pytest.fixture(scope="session")
def pg_shared_url(pg_server: ThrowawayPostgres) -> str:
    url = pg_server.create_database("fsrouter_test")
    open_store(url).close()  # migrate once
    return url


@dataclass
class Backend:
    """One backend under test: open stores on the test's database."""

    name: str
    url: str
    fresh_url: Callable[[], str]
    opened: list[Store] = field(default_factory=list)

    def open(self, url: str | None = None, **options: Any) -> Store:
        store = open_store(url or self.url, **options)
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        backend = Backend(
            "sqlite",
            f"sqlite://{tmp_path}/fsrouter.db",
            lambda: f"sqlite://{tmp_path}/fresh{next(_fresh_ids)}.db",
        )
    else:
        import psycopg

        server = request.getfixturevalue("pg_server")
        url = request.getfixturevalue("pg_shared_url")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY")
        backend = Backend(
            "postgresql", url, lambda: server.create_database(f"fresh{next(_fresh_ids)}")
        )
    try:
        yield backend
    finally:
        backend.close_all()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.open()


@pytest.fixture
def raw_rows() -> Callable[[Store, str], list[dict[str, Any]]]:
    """Run a query on a store's own connection (to look at the schema)."""

    def run(store: Store, sql: str) -> list[dict[str, Any]]:
        with store._transaction(write=False) as tx:
            return [dict(row) for row in tx.rows(sql)]

    return run
