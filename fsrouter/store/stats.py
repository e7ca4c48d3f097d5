"""Queue statistics: the ACD's events, written to the store in the background.

The ACD dispatcher greenlet hands every list of events it produced to
`StatsRecorder.record`, which must never make it wait: it only turns the
events it knows into rows and appends them to a buffer.  A writer greenlet
appends the buffer to the store in batches (one transaction each) when
`batch_size` rows are waiting or `flush_interval` seconds have passed.  The
store given is a `GeventStore`, so the database work itself runs off the
hub.

What each ACD event becomes (`fields` in brackets):

| ACD event | kind | queue | fields |
|---|---|---|---|
| `Queued` | offered | its queue | priority, is_callback |
| `Answered` | answered | its queue | wait, agent |
| `Abandoned` | abandoned | its queue | wait, position |
| `TimedOut` | timed_out | its queue | wait, destination |
| `LeftEmpty` | left_empty | its queue | wait, destination |
| `Removed` | removed | its queue | wait, reason (e.g. "callback") |
| `Removed` by an exit key | exited | its queue | wait, key |
| `Recorded` | recorded | its queue | path (the bridged call's recording) |
| `Transferred` | transferred | the queue it left | wait, to_queue (and for a bridged call: agent, transfers, the call's count so far) |
| `AgentMissed` | agent_missed | its queue | agent, reason, consecutive |
| `CallEnded` | call_ended | its queue | agent, talked (answer to hang-up) |
| `CallbackBooked` | callback_booked | its queue | |
| `CallbackFinished` | callback_completed / callback_failed | its queue | attempts |

An entry's final event also carries the EWT `promises` announced to the
caller (`[{"at", "seconds", "minutes", "bucket"}]`) when there were any, so EWT error
can be reported.  Every row of a callback entry (entry id `callback:<id>`)
carries `is_callback: true`, so reports can keep callbacks apart from live
callers (service level, speed of answer) without joining on the `offered`
row; rows of live callers carry no such field, except `offered`, which
always says which it is.  Other events (offers, agent state changes…) are
not statistics and are ignored.  What the rows add up to is defined once,
in `fsrouter.figures`.

When the database is unreachable the rows are kept and written at the next
flush, up to `max_pending` rows; beyond that the oldest are dropped (and
counted in `dropped`), so a long outage cannot exhaust memory.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import gevent
from gevent.event import Event

from fsrouter.acd.events import (
    EXIT_KEY_REASON,
    Abandoned,
    AgentMissed,
    Answered,
    CallbackBooked,
    CallbackFinished,
    CallEnded,
    LeftEmpty,
    Queued,
    Recorded,
    Removed,
    TimedOut,
    Transferred,
)
from fsrouter.store.errors import CommitUnknown, StoreUnavailable
from fsrouter.store.interface import Store
from fsrouter.store.records import NewQueueEvent, QueueEventKind

log = logging.getLogger(__name__)

K = QueueEventKind

CALLBACK_ENTRY_PREFIX = "callback:"
"""How callback entries' ids begin (`esl.callback_dialer` names them `callback:<id>`)."""


def _promises(event: Any) -> dict[str, Any]:
    promises = [
        {"at": p.at, "seconds": p.estimate.seconds, "minutes": p.estimate.minutes,
         "bucket": str(p.estimate.bucket)}
        for p in event.promises
    ]
    return {"promises": promises} if promises else {}


def _row(kind: QueueEventKind, event: Any, queue: str | None = None, **fields: Any) -> NewQueueEvent:
    if event.entry_id.startswith(CALLBACK_ENTRY_PREFIX):
        fields["is_callback"] = True
    return NewQueueEvent(kind, queue or event.queue, event.entry_id, event.at, fields)


def _outcome(kind: QueueEventKind, **attributes: str) -> Callable[[Any], NewQueueEvent]:
    """Mapper for an entry's final event: its wait, the EWT promises, and
    the fields named by `attributes` (field name -> the event's attribute)."""

    def row(event: Any) -> NewQueueEvent:
        fields = {name: getattr(event, attribute) for name, attribute in attributes.items()}
        return _row(kind, event, wait=event.waited, **fields, **_promises(event))

    return row


_removed = _outcome(K.REMOVED, reason="reason")


def _exited(event: Removed) -> NewQueueEvent:
    """A caller who left by an exit key: its own kind, with the key."""
    return _row(K.EXITED, event, wait=event.waited, key=event.reason.removeprefix(EXIT_KEY_REASON),
                **_promises(event))


_MAPPERS: dict[type, Callable[[Any], NewQueueEvent]] = {
    Queued: lambda e: _row(K.OFFERED, e, priority=e.priority, is_callback=e.is_callback),
    Answered: _outcome(K.ANSWERED, agent="agent_id"),
    Abandoned: _outcome(K.ABANDONED, position="position"),
    TimedOut: _outcome(K.TIMED_OUT, destination="destination"),
    LeftEmpty: _outcome(K.LEFT_EMPTY, destination="destination"),
    Removed: lambda e: _exited(e) if e.reason.startswith(EXIT_KEY_REASON) else _removed(e),
    Recorded: lambda e: _row(K.RECORDED, e, path=e.path),
    Transferred: lambda e: _row(K.TRANSFERRED, e, e.from_queue, wait=e.waited, to_queue=e.to_queue,
                                **({"agent": e.agent, "transfers": e.transfers} if e.agent else {})),
    AgentMissed: lambda e: _row(
        K.AGENT_MISSED, e, agent=e.agent_id, reason=str(e.reason), consecutive=e.consecutive
    ),
    CallEnded: lambda e: _row(K.CALL_ENDED, e, agent=e.agent_id, talked=e.talked),
    CallbackBooked: lambda e: _row(K.CALLBACK_BOOKED, e),
    CallbackFinished: lambda e: _row(K.CALLBACK_COMPLETED if e.completed else K.CALLBACK_FAILED, e,
                                     attempts=e.attempts),
}


def to_row(event: object) -> NewQueueEvent | None:
    """The statistics row for an ACD event, or None if it is not one."""
    mapper = _MAPPERS.get(type(event))
    return None if mapper is None else mapper(event)


class StatsRecorder:
    """Buffers ACD events as statistics rows and writes them in the background.

    `start()` spawns the writer; `stop(timeout)` writes what is left and
    ends it.  Events recorded after `stop` are ignored.
    """

    def __init__(
        self,
        store: Store,
        *,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_pending: int = 100_000,
        on_rows: Callable[[list[NewQueueEvent]], None] | None = None,
    ):
        if batch_size < 1 or flush_interval <= 0 or max_pending < batch_size:
            raise ValueError("need batch_size >= 1, flush_interval > 0, max_pending >= batch_size")
        self.store = store
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        #: Also given every batch of rows as they are made (the live "today").
        self.on_rows = on_rows
        #: Rows dropped: too many were waiting for the database, or a batch whose
        #: commit was lost (it may be in; written again it could count twice).
        self.dropped = 0
        self._pending: deque[NewQueueEvent] = deque(maxlen=max_pending)
        self._in_flight = 0  # rows being written (lost if the writer is killed)
        self._wake = Event()
        self._stopping = False
        self._writer: gevent.Greenlet | None = None

    def record(self, events: Iterable[object]) -> None:
        """Queue the statistics among `events`; never blocks or raises for
        an event it does not know."""
        if self._stopping:
            return
        rows = [row for row in map(to_row, events) if row is not None]
        for row in rows:
            if len(self._pending) == self._pending.maxlen:
                self.dropped += 1  # the deque drops the oldest
            self._pending.append(row)
        if rows and self.on_rows is not None:
            try:
                self.on_rows(rows)
            except Exception:  # a figure on a screen never costs a caller: the dispatcher goes on
                log.exception("statistics: the live figures could not take %d rows", len(rows))
        if len(self._pending) >= self.batch_size:
            self._wake.set()

    def start(self) -> None:
        if self._writer is None:
            self._writer = gevent.spawn(self._write_forever)

    def stop(self, timeout: float | None = None) -> bool:
        """Write what is waiting and stop the writer.  True when everything
        recorded was written; False when rows were lost: the database was
        unreachable, or the writer had not finished within `timeout`
        seconds (it is then killed)."""
        self._stopping = True
        self._wake.set()
        if self._writer is not None:
            self._writer.join(timeout)
            if not self._writer.dead:
                self._writer.kill()
        unwritten = len(self._pending) + self._in_flight
        if unwritten:
            log.warning("statistics: %d rows not written at stop", unwritten)
        return not unwritten

    def _write_forever(self) -> None:
        while not self._stopping:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self._flush()
        self._flush()

    def _flush(self) -> None:
        """Write every waiting row, a batch per transaction, until done or
        the database is unreachable."""
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(self.batch_size, len(self._pending)))]
            self._in_flight = len(batch)
            written = self._write(batch)
            self._in_flight = 0
            if not written:
                return

    def _write(self, batch: list[NewQueueEvent]) -> bool:
        """Write one batch.  While the database is unreachable the batch
        goes back to wait for the next flush (False); a batch the store
        refuses (a bug) is logged and dropped."""
        try:
            self.store.record_queue_events(batch)
        except CommitUnknown as e:
            # The rows may be in: written again they could count twice, and a
            # figure counted twice is worse than one missing.
            self.dropped += len(batch)
            log.warning("statistics batch of %d rows may not be written (%s); not written again", len(batch), e)
        except StoreUnavailable as e:
            self._put_back(batch)
            log.warning("statistics not written (%s); %d rows wait", e, len(self._pending))
            return False
        except Exception:
            log.exception("statistics batch of %d rows refused; dropped", len(batch))
        return True

    def _put_back(self, batch: list[NewQueueEvent]) -> None:
        """Return an unwritten batch to the front of the line; if rows
        recorded meanwhile leave no room, the newest are dropped."""
        overflow = len(self._pending) + len(batch) - self._pending.maxlen
        self.dropped += max(0, overflow)
        self._pending.extendleft(reversed(batch))
