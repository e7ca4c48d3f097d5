"""StatsRecorder: ACD events become queue statistics, written in the
background by a greenlet through a real SQLite store."""

from __future__ import annotations

import gevent
import pytest

from fsrouter.acd.events import CallbackBooked, CallbackFinished, CallEnded
from fsrouter.acd.events import (
    Abandoned,
    AgentMissed,
    AgentStateChanged,
    Answered,
    EwtPromise,
    LeftEmpty,
    Offer,
    Queued,
    Recorded,
    Removed,
    TimedOut,
    Transferred,
    exit_reason,
)
from fsrouter.acd.ewt import Estimate
from fsrouter.acd.model import AgentState, MissReason
from fsrouter.store import QueueEventKind, StoreUnavailable, open_store
from fsrouter.store.errors import CommitUnknown
from fsrouter.store.gevent_wrapper import GeventStore
from fsrouter.store.stats import StatsRecorder

K = QueueEventKind


@pytest.fixture
def store(tmp_path):
    wrapped = GeventStore(open_store(f"sqlite://{tmp_path}/stats.db"))
    yield wrapped
    wrapped.close()


class Spy:
    """Delegates to a store, counting batches; fails the first `failures`."""

    def __init__(self, store, failures=0):
        self.store, self.failures, self.batches = store, failures, []

    def record_queue_events(self, events):
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("database down")
        self.batches.append(len(events))
        return self.store.record_queue_events(events)


def queued(entry, at=1.0, queue="billing"):
    return Queued(entry_id=entry, queue=queue, at=at, arrival=at, priority=0, is_callback=False)


def test_each_acd_event_becomes_its_statistics_row(store):
    promise = EwtPromise(at=5.0, estimate=Estimate.from_seconds(90.0, cap_minutes=20))
    events = [
        Queued(entry_id="c1", queue="billing", at=1.0, arrival=0.5, priority=2, is_callback=True),
        Offer(offer_id=1, entry_id="c1", agent_id="1001", queue="billing", dial="user/1001",
              ring_timeout=20.0, at=2.0, waited=1.0, is_callback=True, priority=2),
        AgentMissed(offer_id=1, agent_id="1001", entry_id="c1", queue="billing", at=3.0,
                    reason=MissReason.NO_ANSWER, consecutive=2),
        Answered(entry_id="c1", queue="billing", at=4.0, waited=3.0, agent_id="1002",
                 promises=(promise,)),
        Abandoned(entry_id="c2", queue="billing", at=5.0, waited=4.5, position=3),
        TimedOut(entry_id="c3", queue="billing", at=6.0, waited=900.0, destination="voicemail"),
        Transferred(entry_id="c4", from_queue="billing", to_queue="general", at=7.0, waited=60.0),
        Removed(entry_id="c5", queue="general", at=8.0, waited=200.0, reason="callback"),
        LeftEmpty(entry_id="c6", queue="tech", at=9.0, waited=10.0, destination="general"),
        CallEnded(entry_id="c1", queue="billing", agent_id="1002", at=9.1, talked=5.1),
        CallbackBooked(entry_id="callback:7", queue="billing", at=9.2),
        CallbackFinished(entry_id="callback:7", queue="billing", at=9.3, completed=True, attempts=1),
        CallbackFinished(entry_id="callback:8", queue="billing", at=9.4, completed=False, attempts=3),
        AgentStateChanged(agent_id="1001", at=9.5, old=AgentState.AVAILABLE,
                          new=AgentState.PAUSED, reason="lunch"),
        object(),
    ]
    recorder = StatsRecorder(store)
    recorder.start()
    recorder.record(events)
    assert recorder.stop(timeout=5) is True
    rows = [(e.kind, e.queue, e.entry_id, e.at, e.fields) for e in store.queue_events()]
    assert rows == [
        (K.OFFERED, "billing", "c1", 1.0, {"priority": 2, "is_callback": True}),
        (K.AGENT_MISSED, "billing", "c1", 3.0,
         {"agent": "1001", "reason": "no_answer", "consecutive": 2}),
        (K.ANSWERED, "billing", "c1", 4.0,
         {"wait": 3.0, "agent": "1002",
          "promises": [{"at": 5.0, "seconds": 90.0, "minutes": 2, "bucket": "minutes"}]}),
        (K.ABANDONED, "billing", "c2", 5.0, {"wait": 4.5, "position": 3}),
        (K.TIMED_OUT, "billing", "c3", 6.0, {"wait": 900.0, "destination": "voicemail"}),
        (K.TRANSFERRED, "billing", "c4", 7.0, {"wait": 60.0, "to_queue": "general"}),
        (K.REMOVED, "general", "c5", 8.0, {"wait": 200.0, "reason": "callback"}),
        (K.LEFT_EMPTY, "tech", "c6", 9.0, {"wait": 10.0, "destination": "general"}),
        (K.CALL_ENDED, "billing", "c1", 9.1, {"agent": "1002", "talked": 5.1}),
        (K.CALLBACK_BOOKED, "billing", "callback:7", 9.2, {"is_callback": True}),
        (K.CALLBACK_COMPLETED, "billing", "callback:7", 9.3, {"attempts": 1, "is_callback": True}),
        (K.CALLBACK_FAILED, "billing", "callback:8", 9.4, {"attempts": 3, "is_callback": True}),
    ]


def test_an_exit_key_and_a_recording_have_rows_of_their_own(store):
    events = [
        Removed(entry_id="c1", queue="billing", at=8.0, waited=20.0, reason=exit_reason("0")),
        Removed(entry_id="c2", queue="billing", at=9.0, waited=30.0, reason="left_queue"),
        Recorded(entry_id="c3", queue="billing", at=10.0, path="/rec/2026-12-07/billing/c3.wav"),
    ]
    recorder = StatsRecorder(store)
    recorder.start()
    recorder.record(events)
    assert recorder.stop(timeout=5) is True
    assert [(e.kind, e.entry_id, e.fields) for e in store.queue_events()] == [
        (K.EXITED, "c1", {"wait": 20.0, "key": "0"}),
        (K.REMOVED, "c2", {"wait": 30.0, "reason": "left_queue"}),
        (K.RECORDED, "c3", {"path": "/rec/2026-12-07/billing/c3.wav"}),
    ]


def test_every_row_of_a_callback_entry_says_so(store):
    callback, live = "callback:12", "c1"
    events = [
        Queued(entry_id=callback, queue="billing", at=1.0, arrival=0.5, priority=0, is_callback=True),
        AgentMissed(offer_id=1, agent_id="1001", entry_id=callback, queue="billing", at=2.0,
                    reason=MissReason.LOST, consecutive=0),
        Transferred(entry_id=callback, from_queue="billing", to_queue="general", at=3.0, waited=2.5),
        Answered(entry_id=callback, queue="general", at=4.0, waited=3.5, agent_id="1002"),
        queued(live, at=5.0),
        Answered(entry_id=live, queue="billing", at=6.0, waited=1.0, agent_id="1001"),
        Abandoned(entry_id="callbacks-are-not-this", queue="billing", at=7.0, waited=1.0, position=1),
    ]
    recorder = StatsRecorder(store)
    recorder.start()
    recorder.record(events)
    assert recorder.stop(timeout=5) is True
    rows = {(e.entry_id, e.kind): e.fields.get("is_callback") for e in store.queue_events()}
    assert rows == {
        (callback, K.OFFERED): True,
        (callback, K.AGENT_MISSED): True,
        (callback, K.TRANSFERRED): True,
        (callback, K.ANSWERED): True,
        (live, K.OFFERED): False,
        (live, K.ANSWERED): None,
        ("callbacks-are-not-this", K.ABANDONED): None,
    }


def test_full_batches_are_written_at_once_the_rest_at_stop(store):
    spy = Spy(store)
    recorder = StatsRecorder(spy, batch_size=3, flush_interval=60.0)
    recorder.start()
    recorder.record([queued(f"c{i}", at=float(i)) for i in range(7)])
    gevent.sleep(0.2)
    assert spy.batches == [3, 3, 1]  # woken by a full batch, then drained
    recorder.record([queued("c8"), queued("c9")])
    gevent.sleep(0.2)
    assert spy.batches == [3, 3, 1]  # not a full batch: waits for the interval
    assert recorder.stop(timeout=5)
    assert spy.batches == [3, 3, 1, 2]
    assert len(store.queue_events()) == 9


def test_rows_are_written_after_the_flush_interval(store):
    recorder = StatsRecorder(store, batch_size=100, flush_interval=0.05)
    recorder.start()
    recorder.record([queued("c1")])
    gevent.sleep(0.5)
    assert [e.entry_id for e in store.queue_events()] == ["c1"]
    assert recorder.stop(timeout=5)


def test_record_never_waits_for_the_database(store):
    class Stuck:
        def __init__(self):
            self.release = gevent.event.Event()

        def record_queue_events(self, events):
            self.release.wait()
            return store.record_queue_events(events)

    stuck = Stuck()
    recorder = StatsRecorder(stuck, batch_size=1, flush_interval=60.0)
    recorder.start()
    recorder.record([queued("c1")])
    gevent.sleep(0.05)  # the writer is now stuck in the store
    with gevent.Timeout(1):
        for i in range(1000):
            recorder.record([queued(f"d{i}")])  # must not yield to the stuck writer
    stuck.release.set()
    assert recorder.stop(timeout=5)
    assert len(store.queue_events()) == 1001


def test_unreachable_database_keeps_rows_for_the_next_flush(store):
    spy = Spy(store, failures=1)
    recorder = StatsRecorder(spy, batch_size=10, flush_interval=0.05)
    recorder.start()
    recorder.record([queued("c1"), queued("c2")])
    gevent.sleep(0.5)
    assert [e.entry_id for e in store.queue_events()] == ["c1", "c2"]
    assert recorder.stop(timeout=5) and recorder.dropped == 0


class CommitLost:
    """Commits the first batch, then reports its outcome unknown (the
    connection died in COMMIT); later batches are written as usual."""

    def __init__(self, store):
        self.store, self.lost = store, True

    def record_queue_events(self, events):
        self.store.record_queue_events(events)
        if self.lost:
            self.lost = False
            raise CommitUnknown("lost the connection while committing (test)")


def test_a_batch_whose_commit_was_lost_is_not_written_twice(store):
    recorder = StatsRecorder(CommitLost(store), batch_size=10, flush_interval=0.05)
    recorder.start()
    recorder.record([queued("c1"), queued("c2")])
    gevent.sleep(0.3)
    recorder.record([queued("c3")])
    assert recorder.stop(timeout=5)
    assert [e.entry_id for e in store.queue_events()] == ["c1", "c2", "c3"]  # once each
    assert recorder.dropped == 2  # said as maybe lost


def test_too_many_waiting_rows_drop_the_oldest(store):
    spy = Spy(store, failures=1_000)
    recorder = StatsRecorder(spy, batch_size=2, flush_interval=60.0, max_pending=4)
    recorder.record([queued(f"c{i}") for i in range(6)])
    assert recorder.dropped == 2
    spy.failures = 0
    recorder.start()
    assert recorder.stop(timeout=5)
    assert [e.entry_id for e in store.queue_events()] == ["c2", "c3", "c4", "c5"]


def test_stop_reports_rows_it_could_not_write(store):
    recorder = StatsRecorder(Spy(store, failures=1_000), flush_interval=60.0)
    recorder.start()
    recorder.record([queued("c1")])
    assert recorder.stop(timeout=5) is False
    recorder.record([queued("c2")])  # after stop: ignored
    assert store.queue_events() == []


def test_the_live_figures_get_every_row_and_their_fault_loses_none(store, caplog):
    given = []

    def live(rows):
        given.extend(rows)
        raise RuntimeError("a bug in the live figures")

    recorder = StatsRecorder(store, on_rows=live)
    recorder.start()
    recorder.record([queued("c1"), object(), queued("c2")])
    assert [row.entry_id for row in given] == ["c1", "c2"]
    assert "the live figures could not take 2 rows" in caplog.text
    assert recorder.stop(timeout=5) is True
    assert [e.entry_id for e in store.queue_events()] == ["c1", "c2"]
