"""Schema migrations: versioned, idempotent, the same on both backends."""

from __future__ import annotations

import pytest

from fsrouter.store import SchemaTooNew
from fsrouter.store import migrations
from fsrouter.store.migrations import LATEST, MIGRATIONS, Migration


def test_fresh_database_is_migrated_to_latest(backend, raw_rows):
    store = backend.open(backend.fresh_url())
    assert store.schema_version() == LATEST
    rows = raw_rows(store, "SELECT version, name FROM schema_migrations ORDER BY version")
    assert rows == [{"version": m.version, "name": m.name} for m in MIGRATIONS]


def test_reopening_applies_nothing_twice(backend, raw_rows):
    url = backend.fresh_url()
    first = backend.open(url)
    before = raw_rows(first, "SELECT version, applied_at FROM schema_migrations")
    second = backend.open(url)
    assert raw_rows(second, "SELECT version, applied_at FROM schema_migrations") == before
    with second._transaction() as tx:
        assert migrations.migrate(tx, second.dialect, now=0.0) == []


def test_versions_are_consecutive_from_one():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_newer_schema_is_refused(backend):
    url = backend.fresh_url()
    with backend.open(url)._transaction() as tx:
        tx.run(
            "INSERT INTO schema_migrations (version, name, applied_at)"
            " VALUES (:v, 'from the future', 0)",
            v=LATEST + 1,
        )
    with pytest.raises(SchemaTooNew, match=f"version {LATEST + 1}"):
        backend.open(url)


def test_failed_migration_leaves_the_schema_untouched(backend, monkeypatch):
    url = backend.fresh_url()
    broken = Migration(
        LATEST + 1,
        "broken",
        ("CREATE TABLE half_done (x INTEGER)", "CREATE TABLE callbacks (x INTEGER)"),
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", (*MIGRATIONS, broken))
    monkeypatch.setattr(migrations, "LATEST", LATEST + 1)
    with pytest.raises(Exception, match="callbacks"):
        backend.open(url)
    monkeypatch.undo()
    store = backend.open(url)
    assert store.schema_version() == LATEST
    with pytest.raises(Exception, match="half_done"):
        with store._transaction(write=False) as tx:
            tx.rows("SELECT x FROM half_done")


def test_dialect_specific_statement_is_chosen(backend):
    migration = Migration(9, "x", ({"sqlite": "S {json}", "postgresql": "P {json}"}, "{id_pk}"))
    store = backend.open()
    sql = migration.sql_for(store.dialect)
    assert sql[0][0] == store.dialect.name[0].upper()
    assert "{" not in "".join(sql)


def test_a_version_2_database_with_data_is_upgraded_to_the_latest_keeping_it(backend, monkeypatch):
    """A store last opened by a release at schema 2 (callbacks and queue
    statistics) opens under this one with its rows and every later table."""
    from fsrouter.store import NewQueueEvent

    url = backend.fresh_url()
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:2])
    monkeypatch.setattr(migrations, "LATEST", 2)
    old = backend.open(url)
    assert old.schema_version() == 2
    booked = old.book_callback("billing", "+302101234567", "+302101234567", 100.0, 0, {"brand": "acme"},
                               idempotency_key="call-1/1")
    old.record_queue_events([NewQueueEvent("offered", "billing", "call-1", 100.0)])
    old.close()
    monkeypatch.undo()

    store = backend.open(url)
    assert store.schema_version() == LATEST
    assert [(c.id, c.number, c.variables) for c in store.list_callbacks()] == [
        (booked.id, "+302101234567", {"brand": "acme"})]
    assert [(e.kind, e.entry_id) for e in store.queue_events()] == [("offered", "call-1")]
    store.save_agent_state("1001", "paused", "lunch", 200.0)  # tables of later migrations work
    assert store.agent_states()["1001"].reason == "lunch"
    assert store.add_notice("global", "notices/outage", 200.0, None).scope == "global"
