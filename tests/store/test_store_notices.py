"""Notices in the store, on SQLite and a throwaway PostgreSQL: one on per
scope, cleared ones kept as history, all there again after reopening."""

from __future__ import annotations

import pytest

from fsrouter.notices import Notice

T0 = 1_796_630_400.0


def test_a_notice_is_stored_and_there_after_reopening(backend):
    store = backend.open()
    on = store.add_notice("line:+302101234567", "notices/outage_athens", T0, T0 + 7200)
    assert on == Notice(on.id, "line:+302101234567", "notices/outage_athens", T0, T0 + 7200, None)
    store.close()
    assert backend.open().notices_on() == [on]


def test_a_new_notice_for_a_scope_clears_the_old_one_in_the_same_step(backend, raw_rows):
    store = backend.open()
    first = store.add_notice("queue:billing", "notices/outage_athens", T0, None)
    other = store.add_notice("global", "notices/invoice_error", T0 + 1, None)
    second = store.add_notice("queue:billing", "notices/invoice_error", T0 + 2, T0 + 60)
    assert store.notices_on() == [other, second]
    rows = raw_rows(store, "SELECT id, cleared_at FROM notices ORDER BY id")
    assert rows == [{"id": first.id, "cleared_at": T0 + 2}, {"id": other.id, "cleared_at": None},
                    {"id": second.id, "cleared_at": None}]


def test_the_database_refuses_two_notices_on_for_one_scope(backend):
    store = backend.open()
    store.add_notice("global", "notices/outage_athens", T0, None)
    with pytest.raises(Exception, match="(?i)unique"):
        with store._transaction() as tx:
            tx.run("INSERT INTO notices (scope, prompt, created_at) VALUES ('global', 'notices/x', 0)")
    assert len(store.notices_on()) == 1


def test_clearing_by_id_or_scope_returns_what_was_cleared_and_keeps_the_row(backend, raw_rows):
    store = backend.open()
    line = store.add_notice("line:5000", "notices/outage_athens", T0, None)
    brand = store.add_notice("brand:acme", "notices/outage_athens", T0, None)
    assert store.clear_notices(T0 + 5, notice_id=line.id) == [
        Notice(line.id, "line:5000", "notices/outage_athens", T0, None, T0 + 5)]
    assert store.clear_notices(T0 + 6, notice_id=line.id) == []  # already cleared
    assert store.clear_notices(T0 + 7, scope="brand:acme") == [
        Notice(brand.id, "brand:acme", "notices/outage_athens", T0, None, T0 + 7)]
    assert store.clear_notices(T0 + 8, scope="global") == []
    assert store.clear_notices(T0 + 8, notice_id=999) == []
    assert store.notices_on() == []
    assert raw_rows(store, "SELECT COUNT(*) AS n FROM notices") == [{"n": 2}]


def test_expired_notices_are_still_on_in_the_store_time_decides_per_call(backend):
    store = backend.open()
    gone = store.add_notice("global", "notices/outage_athens", T0, T0 + 1)
    assert store.notices_on() == [gone]
    assert not gone.live(T0 + 1)


def test_clearing_wants_exactly_one_of_id_and_scope(backend):
    store = backend.open()
    with pytest.raises(ValueError):
        store.clear_notices(T0)
    with pytest.raises(ValueError):
        store.clear_notices(T0, notice_id=1, scope="global")
