"""Several claimers at once: separate connections racing in real threads.

On PostgreSQL each store has its own pool (as separate processes would);
on SQLite each has its own connection to the same file.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from hub_probe import hold_write_lock

from fsrouter.store import StoreUnavailable, open_store

LEASE = 30.0


def race(stores, work):
    """Run `work(store)` in one thread per store, released together."""
    barrier = threading.Barrier(len(stores))
    results, errors = [None] * len(stores), []

    def run(i, store):
        try:
            barrier.wait()
            results[i] = work(store)
        except BaseException as e:  # surfaced below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


def test_racing_claimers_never_share_a_callback(backend, store):
    booked = {
        store.book_callback("q", "+30210", "+30210", float(i), 0, {}).id for i in range(60)
    }
    claimers = [backend.open() for _ in range(4)]

    def claim_all(claimer):
        owner = f"owner-{id(claimer)}"
        mine = []
        while due := claimer.due_callbacks(now=1000.0):  # as the live dialer claims
            claimed = [claimer.claim(d.id, owner, LEASE, now=1000.0) for d in due]
            assert all(c.lease_owner == owner for c in claimed if c is not None)
            mine += [c.id for c in claimed if c is not None]
        return mine

    per_claimer = race(claimers, claim_all)
    counts = Counter(i for ids in per_claimer for i in ids)
    assert set(counts) == booked
    assert max(counts.values()) == 1
    assert all(c.status == "dialing" for c in store.list_callbacks())


def test_racing_bookings_with_one_key_book_once(backend, store):
    bookers = [backend.open() for _ in range(4)]
    records = race(
        bookers,
        lambda s: s.book_callback("q", "+30210", "+30210", 1.0, 0, {}, idempotency_key="uuid"),
    )
    assert len({r.id for r in records}) == 1
    assert len(store.list_callbacks()) == 1


def test_racing_claims_of_one_callback_have_one_winner(backend, store):
    claimers = [backend.open() for _ in range(4)]
    for round_ in range(10):
        booked = store.book_callback("q", "+30210", "+30210", float(round_), 0, {})
        results = race(
            claimers, lambda s: s.claim(booked.id, f"owner-{id(s)}", LEASE, now=1000.0)
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, results
        assert store.get(booked.id).lease_owner == winners[0].lease_owner


def test_a_sqlite_database_locked_too_long_is_unavailable(tmp_path):
    url = f"sqlite://{tmp_path}/fsrouter.db"
    store = open_store(url, busy_timeout=0.1)
    release = hold_write_lock(url)
    try:
        with pytest.raises(StoreUnavailable, match="stayed locked"):
            store.book_callback("q", "+30210", "+30210", 1.0, 0, {})
    finally:
        release()
    assert store.book_callback("q", "+30210", "+30210", 1.0, 0, {}).id == 1
    store.close()
