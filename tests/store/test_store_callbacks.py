"""Callbacks: booking, ordering, leases, attempts and status rules."""

from __future__ import annotations

import pytest

from fsrouter.store import (
    AttemptOutcome,
    CallbackNotFound,
    CallbackStatus,
    InvalidTransition,
    LeaseLost,
)

LEASE = 30.0


def book(store, queue="billing", arrival_time=100.0, **kwargs):
    defaults = dict(
        number="+302101234567",
        caller_id="+302101234567",
        priority=0,
        variables={},
        booked_at=arrival_time,
    )
    return store.book_callback(queue, arrival_time=arrival_time, **(defaults | kwargs))


def claim_next(store, owner, lease, now, queue=None):
    """Claim the first due callback, as the live dialer does once an agent
    answered for it; None when nothing is due."""
    for due in store.due_callbacks(now, queue):
        if claimed := store.claim(due.id, owner, lease, now):
            return claimed
    return None


def test_booking_survives_reopening(backend, store):
    booked = store.book_callback(
        "billing",
        "+302101234567",
        "+302107654321",
        arrival_time=1000.5,
        priority=2,
        variables={"topic": "τιμολόγιο", "choices": [1, 2]},
        line="+302100000000",
        brand="acme",
        order_key=940.5,
        idempotency_key="call-uuid-1",
        booked_at=1200.0,
    )
    store.close()
    found = backend.open().get(booked.id)
    assert found == booked
    assert found.status is CallbackStatus.PENDING
    assert found.variables == {"topic": "τιμολόγιο", "choices": [1, 2]}
    assert (found.line, found.brand, found.order_key) == ("+302100000000", "acme", 940.5)
    assert found.next_attempt_at == 1000.5 and found.attempts == 0


def test_order_key_defaults_to_arrival_time(store):
    assert book(store, arrival_time=123.0).order_key == 123.0


def test_same_idempotency_key_books_once(store):
    first = book(store, idempotency_key="call-uuid-1")
    again = book(store, idempotency_key="call-uuid-1", arrival_time=999.0)
    other = book(store, idempotency_key="call-uuid-2")
    keyless = [book(store), book(store)]
    assert again == first
    assert len({first.id, other.id, *(r.id for r in keyless)}) == 4
    assert len(store.list_callbacks()) == 4


def test_claims_follow_order_key_then_booking_order(store):
    late = book(store, arrival_time=300.0, order_key=300.0)
    vip = book(store, arrival_time=400.0, order_key=100.0)  # priority credit
    tie_first = book(store, arrival_time=200.0, order_key=200.0)
    tie_second = book(store, arrival_time=200.0, order_key=200.0)
    claimed = [claim_next(store, "a", LEASE, now=1000.0) for _ in range(4)]
    assert [c.id for c in claimed] == [vip.id, tie_first.id, tie_second.id, late.id]
    assert claim_next(store, "a", LEASE, now=1000.0) is None


def test_nothing_is_claimed_before_it_is_due(store):
    booked = book(store, arrival_time=100.0, not_before=500.0)
    assert booked.next_attempt_at == 500.0
    assert claim_next(store, "a", LEASE, now=499.0) is None
    assert claim_next(store, "a", LEASE, now=500.0).id == booked.id


def test_expired_lease_lets_another_owner_claim(store):
    booked = book(store)
    claim_next(store, "crashed", LEASE, now=100.0)
    assert claim_next(store, "b", LEASE, now=100.0 + LEASE - 1) is None
    taken = claim_next(store, "b", LEASE, now=100.0 + LEASE)
    assert taken.id == booked.id and taken.lease_owner == "b"
    [lost] = store.attempts(booked.id)
    assert (lost.owner, lost.outcome, lost.at) == (
        "crashed",
        AttemptOutcome.LEASE_EXPIRED,
        100.0 + LEASE,
    )
    assert taken.attempts == 0  # a lost lease is not a dial attempt


def test_stale_owner_cannot_record_after_losing_the_lease(store):
    booked = book(store)
    claim_next(store, "a", LEASE, now=100.0)
    claim_next(store, "b", LEASE, now=200.0)
    with pytest.raises(LeaseLost, match="'b'"):
        store.record_attempt(booked.id, "a", "answered", now=201.0)
    done = store.record_attempt(booked.id, "b", "answered", now=202.0)
    assert done.status is CallbackStatus.COMPLETED


def test_owner_may_still_report_when_nobody_took_over(store):
    booked = book(store)
    claim_next(store, "slow", LEASE, now=100.0)
    done = store.record_attempt(booked.id, "slow", "answered", now=100.0 + 2 * LEASE)
    assert done.status is CallbackStatus.COMPLETED


def test_retry_schedule_then_give_up(store):
    booked = book(store)
    now = 100.0
    for attempt in (1, 2):
        claimed = claim_next(store, "a", LEASE, now=now)
        assert claimed.id == booked.id
        after = store.record_attempt(booked.id, "a", "no_answer", now=now + 20, next_attempt_at=now + 300)
        assert (after.status, after.attempts, after.lease_owner) == (
            CallbackStatus.PENDING,
            attempt,
            None,
        )
        assert claim_next(store, "a", LEASE, now=now + 299) is None
        now += 300
    claim_next(store, "a", LEASE, now=now)
    failed = store.record_attempt(booked.id, "a", "busy", now=now + 5, give_up=True)
    assert failed.status is CallbackStatus.FAILED and failed.finished_at == now + 5
    assert failed.last_outcome is AttemptOutcome.BUSY and failed.attempts == 3
    history = store.attempts(booked.id)
    assert [(a.outcome, a.gave_up) for a in history] == [
        (AttemptOutcome.NO_ANSWER, False),
        (AttemptOutcome.NO_ANSWER, False),
        (AttemptOutcome.BUSY, True),
    ]
    assert [a.next_attempt_at for a in history] == [400.0, 700.0, None]
    assert claim_next(store, "a", LEASE, now=now + 10_000) is None


def test_answered_completes(store):
    booked = book(store)
    claim_next(store, "a", LEASE, now=100.0)
    done = store.record_attempt(booked.id, "a", AttemptOutcome.ANSWERED, now=130.0)
    assert done.status is CallbackStatus.COMPLETED and done.finished_at == 130.0
    assert claim_next(store, "a", LEASE, now=10_000.0) is None


@pytest.mark.parametrize(
    "outcome, options, message",
    [
        ("answered", {"next_attempt_at": 500.0}, "answered"),
        ("answered", {"give_up": True}, "answered"),
        ("no_answer", {}, "next_attempt_at or give_up"),
        ("busy", {"give_up": True, "next_attempt_at": 500.0}, "exclusive"),
        ("lease_expired", {"give_up": True}, "recorded by the store"),
        ("hung_up_on_us", {"give_up": True}, "hung_up_on_us"),
    ],
)
def test_inconsistent_reports_are_refused(store, outcome, options, message):
    booked = book(store)
    claim_next(store, "a", LEASE, now=100.0)
    with pytest.raises(ValueError, match=message):
        store.record_attempt(booked.id, "a", outcome, now=110.0, **options)
    assert store.get(booked.id).status is CallbackStatus.DIALING
    assert store.attempts(booked.id) == []


def test_recording_without_a_claim_is_refused(store):
    booked = book(store)
    with pytest.raises(LeaseLost, match="pending and not leased"):
        store.record_attempt(booked.id, "a", "answered", now=110.0)


def test_cancel_pending(store):
    booked = book(store)
    cancelled = store.cancel(booked.id, now=150.0)
    assert cancelled.status is CallbackStatus.CANCELLED and cancelled.finished_at == 150.0
    assert claim_next(store, "a", LEASE, now=1000.0) is None
    with pytest.raises(InvalidTransition, match="is cancelled"):
        store.cancel(booked.id)


def test_cancel_while_dialing_keeps_the_dialers_report(store):
    booked = book(store)
    claim_next(store, "a", LEASE, now=100.0)
    store.cancel(booked.id, now=105.0)
    after = store.record_attempt(booked.id, "a", "no_answer", now=110.0, next_attempt_at=400.0)
    assert after.status is CallbackStatus.CANCELLED and after.lease_owner is None
    assert [a.outcome for a in store.attempts(booked.id)] == [AttemptOutcome.NO_ANSWER]
    assert claim_next(store, "b", LEASE, now=10_000.0) is None


def test_cancel_finished_is_refused(store):
    booked = book(store)
    claim_next(store, "a", LEASE, now=100.0)
    store.record_attempt(booked.id, "a", "answered", now=110.0)
    with pytest.raises(InvalidTransition, match="completed; only pending or dialing"):
        store.cancel(booked.id)


def test_retry_makes_failed_or_cancelled_due_now(store):
    failed, cancelled = book(store), book(store, arrival_time=101.0)
    claim_next(store, "a", LEASE, now=100.0)
    store.record_attempt(failed.id, "a", "invalid", now=101.0, give_up=True)
    store.cancel(cancelled.id, now=102.0)
    for booked in (failed, cancelled):
        again = store.retry(booked.id, now=500.0)
        assert (again.status, again.next_attempt_at, again.finished_at) == (
            CallbackStatus.PENDING,
            500.0,
            None,
        )
    assert claim_next(store, "b", LEASE, now=499.0) is None
    assert len(store.due_callbacks(now=500.0)) == 2


def test_retry_refused_while_dialing_or_completed(store):
    booked = book(store)
    claim_next(store, "a", LEASE, now=100.0)
    with pytest.raises(InvalidTransition, match="being dialled by 'a'"):
        store.retry(booked.id, now=110.0)
    store.record_attempt(booked.id, "a", "answered", now=120.0)
    with pytest.raises(InvalidTransition, match="completed"):
        store.retry(booked.id, now=130.0)


def test_unknown_callback(store):
    with pytest.raises(CallbackNotFound, match="42"):
        store.get(42)
    with pytest.raises(CallbackNotFound):
        store.cancel(42)
    with pytest.raises(CallbackNotFound):
        store.record_attempt(42, "a", "answered", now=1.0)


def test_list_filters_by_status_and_queue(store):
    first = book(store, arrival_time=10.0)
    dialing = book(store, arrival_time=20.0)
    done = book(store, arrival_time=30.0)
    later = book(store, arrival_time=40.0)
    tech = book(store, queue="tech", arrival_time=5.0)
    for _ in range(3):
        claim_next(store, "a", LEASE, now=100.0, queue="billing")
    store.record_attempt(first.id, "a", "no_answer", now=101.0, next_attempt_at=200.0)
    store.record_attempt(done.id, "a", "answered", now=101.0)
    assert [c.id for c in store.list_callbacks(status="completed")] == [done.id]
    assert [c.id for c in store.list_callbacks(queue="tech")] == [tech.id]
    assert [c.id for c in store.list_callbacks(CallbackStatus.PENDING, "billing")] == [
        first.id,
        later.id,
    ]
    assert len(store.list_callbacks()) == 5
    with pytest.raises(ValueError, match="'ringing'"):
        store.list_callbacks(status="ringing")


# -- what is due, claim by id, release --------------------------------------


def test_due_callbacks_lists_what_a_claim_could_take(store):
    late = book(store, arrival_time=300.0)
    vip = book(store, arrival_time=250.0, order_key=50.0)
    later = book(store, arrival_time=100.0, not_before=900.0)
    tech = book(store, queue="tech", arrival_time=10.0)
    crashed = book(store, arrival_time=20.0)
    assert store.claim(crashed.id, "crashed", LEASE, now=400.0 - LEASE).id == crashed.id
    dialing = book(store, arrival_time=30.0)
    store.claim(dialing.id, "alive", LEASE, now=399.0)
    store.cancel(book(store, arrival_time=1.0).id, now=5.0)

    due = store.due_callbacks(now=400.0)
    assert [c.id for c in due] == [tech.id, crashed.id, vip.id, late.id]
    assert [c.id for c in store.due_callbacks(now=400.0, queue="billing")] == [
        crashed.id,
        vip.id,
        late.id,
    ]
    assert {later.id, dialing.id}.isdisjoint(c.id for c in due)
    assert later.id in {c.id for c in store.due_callbacks(now=900.0, queue="billing")}
    # read-only: nothing was taken, no lost attempt recorded yet
    assert store.get(crashed.id).lease_owner == "crashed"
    assert store.attempts(crashed.id) == []


def test_claim_by_id_takes_only_that_callback(store):
    first, second = book(store, arrival_time=10.0), book(store, arrival_time=20.0)
    claimed = store.claim(second.id, "a", LEASE, now=100.0)
    assert (claimed.id, claimed.status, claimed.lease_owner, claimed.lease_expires_at) == (
        second.id,
        CallbackStatus.DIALING,
        "a",
        100.0 + LEASE,
    )
    assert store.get(first.id).status is CallbackStatus.PENDING
    assert [c.id for c in store.due_callbacks(now=100.0)] == [first.id]


def test_claim_refuses_what_is_not_due(store):
    not_yet = book(store, arrival_time=100.0, not_before=500.0)
    cancelled = book(store)
    store.cancel(cancelled.id, now=101.0)
    completed = book(store)
    store.claim(completed.id, "a", LEASE, now=100.0)
    store.record_attempt(completed.id, "a", "answered", now=110.0)
    held = book(store)
    store.claim(held.id, "a", LEASE, now=100.0)
    for callback in (not_yet, cancelled, completed):
        assert store.claim(callback.id, "b", LEASE, now=120.0) is None
    assert store.claim(held.id, "b", LEASE, now=120.0) is None
    assert store.claim(held.id, "a", LEASE, now=120.0) is None  # its own live lease too
    assert store.get(held.id).lease_expires_at == 100.0 + LEASE
    assert store.claim(not_yet.id, "b", LEASE, now=500.0).lease_owner == "b"


def test_claim_takes_over_an_expired_lease_and_records_it(store):
    booked = book(store)
    store.claim(booked.id, "crashed", LEASE, now=100.0)
    taken = store.claim(booked.id, "b", LEASE, now=100.0 + LEASE)
    assert taken.lease_owner == "b" and taken.attempts == 0
    [lost] = store.attempts(booked.id)
    assert (lost.owner, lost.outcome, lost.at) == (
        "crashed",
        AttemptOutcome.LEASE_EXPIRED,
        100.0 + LEASE,
    )


def test_claim_of_an_unknown_callback(store):
    with pytest.raises(CallbackNotFound, match="42"):
        store.claim(42, "a", LEASE, now=1.0)
    with pytest.raises(ValueError, match="lease_seconds"):
        store.claim(book(store).id, "a", 0, now=1.0)


def test_release_puts_it_back_due_at_once_in_its_place(store):
    booked = book(store, arrival_time=100.0, order_key=90.0)
    store.claim(booked.id, "a", LEASE, now=200.0)
    released = store.release(booked.id, "a", now=205.0)
    assert (released.status, released.lease_owner, released.lease_expires_at) == (
        CallbackStatus.PENDING,
        None,
        None,
    )
    assert (released.next_attempt_at, released.order_key, released.attempts) == (205.0, 90.0, 0)
    assert store.attempts(booked.id) == []
    assert [c.id for c in store.due_callbacks(now=205.0)] == [booked.id]
    assert store.claim(booked.id, "b", LEASE, now=205.0).lease_owner == "b"


def test_only_the_owner_releases(store):
    booked = book(store)
    with pytest.raises(LeaseLost, match="pending and not leased"):
        store.release(booked.id, "a", now=101.0)
    store.claim(booked.id, "a", LEASE, now=100.0)
    store.claim(booked.id, "b", LEASE, now=100.0 + LEASE)
    with pytest.raises(LeaseLost, match="held by 'b'"):
        store.release(booked.id, "a", now=200.0)
    with pytest.raises(CallbackNotFound):
        store.release(42, "a", now=200.0)


def test_release_after_cancel_stays_cancelled(store):
    booked = book(store)
    store.claim(booked.id, "a", LEASE, now=100.0)
    store.cancel(booked.id, now=101.0)
    released = store.release(booked.id, "a", now=102.0)
    assert (released.status, released.lease_owner) == (CallbackStatus.CANCELLED, None)
    assert store.due_callbacks(now=1000.0) == []


# -- what each reported outcome does ----------------------------------------


@pytest.mark.parametrize("outcome", ["no_answer", "busy", "failed", "invalid"])
def test_unanswered_attempt_with_next_attempt_is_due_again_then(store, outcome):
    booked = book(store)
    store.claim(booked.id, "a", LEASE, now=100.0)
    after = store.record_attempt(booked.id, "a", outcome, now=110.0, next_attempt_at=400.0)
    assert (after.status, after.attempts, after.last_outcome) == (
        CallbackStatus.PENDING,
        1,
        AttemptOutcome(outcome),
    )
    assert (after.next_attempt_at, after.lease_owner, after.finished_at) == (400.0, None, None)
    assert store.due_callbacks(now=399.0) == []
    assert store.claim(booked.id, "a", LEASE, now=399.0) is None
    assert [c.id for c in store.due_callbacks(now=400.0)] == [booked.id]
    [attempt] = store.attempts(booked.id)
    assert (attempt.owner, attempt.outcome, attempt.at, attempt.next_attempt_at, attempt.gave_up) == (
        "a",
        AttemptOutcome(outcome),
        110.0,
        400.0,
        False,
    )


@pytest.mark.parametrize("outcome", ["no_answer", "busy", "failed", "invalid"])
def test_unanswered_attempt_with_give_up_fails(store, outcome):
    booked = book(store)
    store.claim(booked.id, "a", LEASE, now=100.0)
    failed = store.record_attempt(booked.id, "a", outcome, now=110.0, give_up=True)
    assert (failed.status, failed.finished_at, failed.lease_owner) == (
        CallbackStatus.FAILED,
        110.0,
        None,
    )
    assert store.due_callbacks(now=10_000.0) == []
    assert [(a.outcome, a.gave_up) for a in store.attempts(booked.id)] == [
        (AttemptOutcome(outcome), True)
    ]


def test_answered_after_a_claim_by_id_completes(store):
    booked = book(store)
    store.claim(booked.id, "a", LEASE, now=100.0)
    done = store.record_attempt(booked.id, "a", "answered", now=130.0)
    assert (done.status, done.attempts, done.last_outcome, done.finished_at) == (
        CallbackStatus.COMPLETED,
        1,
        AttemptOutcome.ANSWERED,
        130.0,
    )
    assert store.due_callbacks(now=10_000.0) == []
    assert store.claim(booked.id, "b", LEASE, now=10_000.0) is None
