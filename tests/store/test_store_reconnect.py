"""PostgreSQL: operations survive lost connections (server restart,
terminated backends) when running them again is safe, and refuse to guess
when it is not."""

from __future__ import annotations

import itertools

import psycopg
import pytest

from commit_cutter import CommitCutter

from fsrouter.store import CommitUnknown, NewQueueEvent, StoreUnavailable, open_store
from fsrouter.store.postgres import RETRIES
from fsrouter.store.sql import Tx

_databases = itertools.count()


def book(store, key):
    return store.book_callback("q", "+30210", "+30210", 1.0, 0, {}, idempotency_key=key)


def terminate_other_connections(url):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def pg(pg_server):
    """A fresh database and a store on it whose pool keeps several idle
    connections, so that all of them are dead after a restart."""
    url = pg_server.create_database(f"reconnect{next(_databases)}")
    store = open_store(url, min_size=3, max_size=3, timeout=10)
    yield url, store
    store.close()


def test_booking_after_a_server_restart_succeeds_once(pg_server, pg, caplog):
    url, store = pg
    first = book(store, "call-1")
    pg_server.restart()
    second = book(store, "call-2")
    assert "retrying on a fresh one" in caplog.text  # it met a dead connection
    assert book(store, "call-1") == first  # a retried booking finds the first one
    assert [c.id for c in store.list_callbacks()] == [first.id, second.id]


def test_terminated_connections_are_replaced(pg):
    url, store = pg
    first = book(store, "call-1")
    terminate_other_connections(url)
    assert store.due_callbacks(now=10.0) == [first]
    terminate_other_connections(url)
    store.record_queue_events([NewQueueEvent("offered", "q", "call-3", 5.0)])
    assert [e.entry_id for e in store.queue_events()] == ["call-3"]


def test_a_connection_that_keeps_dying_is_reported(pg, monkeypatch):
    url, store = pg
    book(store, "call-1")
    original, runs = Tx.run, []

    def run_on_a_dying_connection(tx, sql, **params):
        runs.append(sql)
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [tx._cursor.connection.info.backend_pid])
        return original(tx, sql, **params)

    monkeypatch.setattr(Tx, "run", run_on_a_dying_connection)
    with pytest.raises(StoreUnavailable, match=f"{RETRIES + 1} times in a row"):
        store.list_callbacks()
    assert len(runs) == RETRIES + 1
    monkeypatch.undo()
    assert len(store.list_callbacks()) == 1


# A deferred trigger that kills its own connection at COMMIT, once (a
# sequence is not rolled back): the client cannot know whether the commit
# happened.
_KILL_AT_COMMIT = """
CREATE SEQUENCE kills;
CREATE FUNCTION kill_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('kills') = 1 THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
        PERFORM pg_sleep(5);
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER kill_at_commit AFTER INSERT ON {table}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kill_once();
"""


def kill_at_commit(url, table):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_KILL_AT_COMMIT.format(table=table))


def test_idempotent_booking_is_retried_after_a_commit_of_unknown_outcome(pg):
    url, store = pg
    kill_at_commit(url, "callbacks")
    booked = book(store, "call-1")
    assert [c.id for c in store.list_callbacks()] == [booked.id]


def test_other_changes_are_not_retried_after_a_commit_of_unknown_outcome(pg):
    url, store = pg
    kill_at_commit(url, "queue_events")
    with pytest.raises(StoreUnavailable, match="while committing.*may or may not"):
        store.record_queue_events([NewQueueEvent("offered", "q", "call-1", 5.0)])
    assert store.queue_events() == []  # here it did not commit; nothing was run twice


@pytest.fixture
def cutter(pg_server):
    cutters = []

    def make(**options):
        cutters.append(CommitCutter(pg_server.dir, **options))
        return cutters[-1]

    yield make
    for made in cutters:
        made.close()


def rows_with_key(url, key):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT id FROM callbacks WHERE idempotency_key = %s", [key]).fetchall()


def test_a_booking_committed_with_its_answer_lost_is_found_by_its_key(pg_server, cutter):
    url = pg_server.create_database(f"reconnect{next(_databases)}")
    proxy = cutter()
    with open_store(proxy.url(url.split("?")[0].rsplit("/", 1)[1]), max_size=1, timeout=5) as store:
        proxy.armed.set()
        booked = book(store, "call-1/1")
        assert proxy.cut.is_set()  # the COMMIT's answer was lost, and the commit applied
    assert rows_with_key(url, "call-1/1") == [(booked.id,)]  # found, not booked twice


def test_a_lost_commit_that_cannot_be_looked_up_is_reported_as_unknown(pg_server, cutter):
    dbname = f"reconnect{next(_databases)}"
    url = pg_server.create_database(dbname)
    proxy = cutter(refuse_after_cut=True)
    with open_store(proxy.url(dbname), max_size=1, timeout=1) as store:
        proxy.armed.set()
        with pytest.raises(CommitUnknown, match="could not find out whether it was applied"):
            book(store, "call-1/1")
    [(booked_id,)] = rows_with_key(url, "call-1/1")  # it was: the caller must not also wait live
    with open_store(url) as store:  # the database answers again: booking under the key resolves it
        assert book(store, "call-1/1").id == booked_id
