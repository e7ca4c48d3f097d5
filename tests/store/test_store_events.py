"""Queue statistics events."""

from __future__ import annotations

import pytest

from fsrouter.store import NewQueueEvent, QueueEventKind


def record(store, kind, queue, entry_id, at, **fields):
    [event] = store.record_queue_events([NewQueueEvent(kind, queue, entry_id, at, fields)])
    return event


def test_queue_events_round_trip(backend, store):
    record(store, "offered", "billing", "call-1", 100.0)
    answered = record(
        store, QueueEventKind.ANSWERED, "billing", "call-1", 130.0, wait=30.0, agent="1001"
    )
    record(store, "abandoned", "tech", "call-2", 120.0, wait=20.5, position=3)
    store.close()
    events = backend.open().queue_events()
    assert [(e.kind, e.entry_id, e.at) for e in events] == [
        (QueueEventKind.OFFERED, "call-1", 100.0),
        (QueueEventKind.ABANDONED, "call-2", 120.0),
        (QueueEventKind.ANSWERED, "call-1", 130.0),
    ]
    assert events[2] == answered
    assert events[1].fields == {"wait": 20.5, "position": 3}
    assert events[0].fields == {}


def test_queue_events_filters(store):
    for at, kind, queue in [(1.0, "offered", "a"), (2.0, "offered", "b"), (3.0, "answered", "a")]:
        record(store, kind, queue, f"call-{at}", at)
    assert [e.at for e in store.queue_events(since=2.0)] == [2.0, 3.0]
    assert [e.at for e in store.queue_events(queue="a")] == [1.0, 3.0]
    assert [e.at for e in store.queue_events(since=2.0, queue="a", kind="answered")] == [3.0]
    assert [e.at for e in store.queue_events(since=1.0, until=3.0)] == [1.0, 2.0]  # until: exclusive


def test_unknown_event_kind_is_refused(store):
    with pytest.raises(ValueError, match="'answred'"):
        record(store, "answred", "a", "call-1", 1.0)
    assert store.queue_events() == []


def test_unserialisable_fields_are_refused(store):
    with pytest.raises(TypeError):
        record(store, "offered", "a", "call-1", 1.0, when=object())
    assert store.queue_events() == []


def test_a_batch_of_events_is_stored_whole_or_not_at_all(store):
    written = store.record_queue_events(
        [NewQueueEvent("offered", "a", "call-1", 1.0), NewQueueEvent("answered", "a", "call-1", 2.0, {"wait": 1.0})]
    )
    assert store.queue_events() == written
    assert [e.kind for e in written] == [QueueEventKind.OFFERED, QueueEventKind.ANSWERED]
    with pytest.raises(ValueError, match="'answred'"):
        store.record_queue_events(
            [NewQueueEvent("offered", "a", "call-2", 3.0), NewQueueEvent("answred", "a", "call-2", 4.0)]
        )
    assert store.record_queue_events([]) == []
    assert store.queue_events() == written

