"""Store faults leave as `StoreError`, never as a driver's exception, and
nothing is acknowledged that is not on disk.

SQLite faults are real ones on the store's own connection: a page limit the
file has reached (`PRAGMA max_page_count`: inserts fail with SQLITE_FULL, as
on a full disk), `PRAGMA query_only` (SQLITE_READONLY, as on a read-only
file; the tests run as root, for whom chmod changes nothing), and the file
deleted or replaced under the running store.
"""

from __future__ import annotations

import logging
import os
import sqlite3

import pytest

from fsrouter.store import NewQueueEvent, StoreError, StoreUnavailable, open_store
from fsrouter.store.gevent_wrapper import GeventStore


def book(store, key="call-1"):
    return store.book_callback("q", "+30210", "+30210", 1.0, 0, {"x": "y" * 2000},
                               idempotency_key=key)


@pytest.fixture
def sqlite_store(tmp_path):
    with open_store(f"sqlite://{tmp_path}/fsrouter.db") as store:
        yield store


def pragma(store, sql):
    """A pragma on the store's own connection (the fault it sets is its own)."""
    return store._conn.execute(sql).fetchall()


def fill_up(store):
    """Cap the file at the pages it has, then book until a page is missing."""
    [(pages,)] = pragma(store, "PRAGMA page_count")
    pragma(store, f"PRAGMA max_page_count = {pages}")
    booked = []
    with pytest.raises(StoreUnavailable, match="full") as refused:
        for i in range(1000):
            booked.append(book(store, f"call-{i}"))
    return booked, refused.value


def test_a_full_database_refuses_the_booking_with_a_store_error(sqlite_store):
    booked, refused = fill_up(sqlite_store)
    assert isinstance(refused.__cause__, sqlite3.OperationalError)
    assert "nothing written" in str(refused)
    assert len(sqlite_store.list_callbacks()) == len(booked)  # the refused one is not there
    pragma(sqlite_store, "PRAGMA max_page_count = 1073741823")  # room again
    assert book(sqlite_store, "call-after").status == "pending"


def test_a_read_only_database_refuses_writes_and_still_reads(sqlite_store):
    first = book(sqlite_store, "call-0")
    pragma(sqlite_store, "PRAGMA query_only = ON")
    with pytest.raises(StoreUnavailable, match="read-only"):
        book(sqlite_store, "call-1")
    with pytest.raises(StoreUnavailable, match="read-only"):
        sqlite_store.record_queue_events([NewQueueEvent("offered", "q", "call-1", 5.0)])
    assert sqlite_store.list_callbacks() == [first]


def test_a_refused_statement_is_a_store_error(sqlite_store):
    with pytest.raises(StoreError, match="refused the operation") as refused:
        sqlite_store._run(lambda tx: tx.run("INSERT INTO no_such_table VALUES (1)"))
    assert not isinstance(refused.value, StoreUnavailable)


def test_a_closed_store_raises_a_store_error(sqlite_store):
    sqlite_store.close()
    with pytest.raises(StoreError):
        sqlite_store.list_callbacks()


def remove_database(path):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.remove(f"{path}{suffix}")


def test_a_deleted_database_is_noticed_and_nothing_is_acknowledged(sqlite_store, caplog):
    book(sqlite_store, "call-0")
    remove_database(sqlite_store.path)
    with caplog.at_level(logging.CRITICAL, logger="fsrouter.store.sqlite"):
        with pytest.raises(StoreUnavailable, match="was deleted"):
            book(sqlite_store, "call-1")
        with pytest.raises(StoreUnavailable, match="was deleted"):
            sqlite_store.due_callbacks(now=10.0)  # no reading stale data either
    criticals = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(criticals) == 1 and "restart fsrouter" in criticals[0].getMessage()  # loud, once
    assert not os.path.exists(sqlite_store.path)
    with open_store(f"sqlite://{sqlite_store.path}") as reopened:  # what a restart finds
        assert reopened.list_callbacks() == []


def test_a_replaced_database_is_noticed(sqlite_store, tmp_path):
    book(sqlite_store, "call-0")
    with open_store(f"sqlite://{tmp_path}/other.db") as other:
        book(other, "other-0")
    os.replace(tmp_path / "other.db", sqlite_store.path)
    with pytest.raises(StoreUnavailable, match="replaced by another file"):
        book(sqlite_store, "call-1")
    with pytest.raises(StoreUnavailable, match="replaced by another file"):
        sqlite_store.list_callbacks()


def test_the_gevent_wrapper_passes_store_errors_on(sqlite_store):
    wrapped = GeventStore(sqlite_store)
    pragma(sqlite_store, "PRAGMA query_only = ON")
    with pytest.raises(StoreUnavailable, match="read-only"):
        book(wrapped)


class _Broken:
    """A backend that fails with an exception no store should let out."""

    thread_safe = False

    def list_callbacks(self, status=None, queue=None):
        raise OSError(28, "No space left on device")

    def get(self, callback_id):
        raise ValueError("a bad argument stays a ValueError")

    def close(self):
        pass


def test_the_gevent_wrapper_turns_any_other_fault_into_a_store_error():
    wrapped = GeventStore(_Broken())
    with pytest.raises(StoreError, match="No space left on device") as refused:
        wrapped.list_callbacks()
    assert isinstance(refused.value.__cause__, OSError)
    with pytest.raises(ValueError, match="bad argument"):
        wrapped.get(1)  # the caller's mistake is not a store fault
    wrapped.close()


def test_a_read_only_postgresql_refuses_writes_with_a_store_error(pg_server):
    import psycopg

    url = pg_server.create_database("read_only")
    with open_store(url) as store:
        first = book(store, "call-0")
    with psycopg.connect(url, autocommit=True) as admin:  # as on a standby after failover
        admin.execute("ALTER DATABASE read_only SET default_transaction_read_only = on")
    with open_store(url, migrate=False) as store:  # migrating is a write too
        with pytest.raises(StoreUnavailable, match="read-only transaction"):
            book(store, "call-1")
        assert store.list_callbacks() == [first]


def test_a_statement_postgresql_refuses_is_a_store_error(backend):
    store = backend.open()
    with pytest.raises(StoreError) as refused:
        store._run(lambda tx: tx.run("INSERT INTO no_such_table VALUES (1)"))
    assert not isinstance(refused.value, StoreUnavailable)
