"""Several claimers at once: separate connections racing in real threads.

On PostgreSQL each store has its own pool (as separate processes would);
on SQLite each has its own connection to the same file.
"""

from __future__ import annotations

import threading
from collections import Counter

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
        while (claimed := claimer.claim_due(owner, LEASE, now=1000.0, limit=2)):
            assert all(c.lease_owner == owner for c in claimed)
            mine += [c.id for c in claimed]
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
