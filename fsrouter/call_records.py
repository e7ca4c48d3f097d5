"""One record per call, from the stored statistics: `fsrouter report --calls`
and `GET /reports/calls` show the same records, built here.

Pure over rows, like `fsrouter.figures`: the queue events of each entry
(grouped by entry id; see `store/stats.py` for what each kind carries) and
the survey answers (`Store.survey_scores`, joined on the call's uuid, which
is a live caller's entry id) come in, records come out.  Only
`read_call_records` touches a store, and only through the two reading
methods it is given.

What the stored rows do not hold is left out rather than guessed: the
caller's number is not a statistic (no row carries it), so no record has it.

A call is in a range when it joined the queue (its `offered` row) in it;
its later rows count even past the range's end (a call at 23:59 that is
answered at 00:01 is reported whole, on the day it came in).  A record's
figures:

- **queue**: the rules queue the caller joined (`queues`: every rules queue
  it passed through, in order, transfers included);
- **outcome**: how its last wait ended: `answered`, `abandoned`,
  `timed_out`, `left_empty`, `exited` (by `key`), `removed` (`reason`, e.g.
  a callback booked), for a callback entry `callback_completed` /
  `callback_failed`; `waiting` when nothing ended it yet;
- **agents**: who answered it, in order; **transfers**: moves to another
  queue (an agent's transfer or a waiting caller's);
- **wait**: seconds to its first answer, or for a call never answered, to
  the end of its wait; **talked**: time with agents, all legs added up;
- **recordings**: the paths of its recordings; **survey**: question ->
  score (question 2 only when the queue asks it and the caller answered).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, Protocol

from .figures import CALLBACK_COMPLETED, CALLBACK_FAILED, WAIT_ENDS, Row, day_bounds, rules_queue

#: Kinds that end an entry's wait, and a callback's (its last one is the call's outcome).
_ENDS = (*WAIT_ENDS, CALLBACK_COMPLETED, CALLBACK_FAILED)


class Score(Protocol):
    call_uuid: str
    question: int
    score: int


CALL_TAIL = 86_400.0
"""How long after the range a call that joined in it may still have rows (seconds)."""


class CallStore(Protocol):
    """The two reading methods of `fsrouter.store.Store` used here."""

    def queue_events(self, since: float | None = None, until: float | None = None) -> list: ...

    def survey_scores(self, since: float | None = None, until: float | None = None) -> list: ...


@dataclass(frozen=True)
class CallRecord:
    """One call (or callback entry) as the stored rows tell it."""

    entry_id: str
    joined: str
    queue: str
    callback: bool
    outcome: str
    queues: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    transfers: int = 0
    wait: float | None = None
    talked: float | None = None
    key: str | None = None
    destination: str | None = None
    reason: str | None = None
    recordings: list[str] = field(default_factory=list)
    survey: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: survey questions as strings, as JSON object keys are."""
        values = dict(self.__dict__)
        values["survey"] = {str(q): s for q, s in sorted(self.survey.items())}
        return values

    def summary(self) -> str:
        """The outcome in words, for the table: "answered by 1001, 1002; transferred 1 time"."""
        words = {
            "answered": f"answered by {', '.join(self.agents)}",
            "exited": f"exited by key {self.key}",
            "timed_out": f"timed out to {self.destination}",
            "left_empty": f"no agents, to {self.destination}",
            "removed": f"left: {self.reason}",
            "callback_completed": "callback completed",
            "callback_failed": "callback failed",
        }.get(self.outcome, self.outcome)
        if self.transfers:
            words += f"; transferred {self.transfers} time{'s' if self.transfers > 1 else ''}"
        return words


def call_records(rows: Iterable[Row], scores: Iterable[Score], tz: tzinfo, start: float, end: float,
                 queue: str | None = None) -> list[CallRecord]:
    """The calls that joined in [start, end) (through rules queue `queue`
    when given), in the order they joined."""
    by_entry: dict[str, list[Row]] = {}
    for row in rows:
        by_entry.setdefault(row.entry_id, []).append(row)
    surveys: dict[str, dict[int, int]] = {}
    for score in scores:
        surveys.setdefault(score.call_uuid, {})[score.question] = score.score
    records = []
    for entry_id, entry_rows in by_entry.items():
        entry_rows.sort(key=lambda r: r.at)
        joined = next((r for r in entry_rows if str(r.kind) == "offered"), None)
        if joined is None or not start <= joined.at < end:
            continue  # joined before the range (or its offered row is not stored)
        if queue is not None and all(rules_queue(r.queue) != queue for r in entry_rows):
            continue
        records.append(_record(entry_id, joined, entry_rows, surveys.get(entry_id, {}), tz))
    records.sort(key=lambda r: (r.joined, r.entry_id))
    return records


def _record(entry_id: str, joined: Row, rows: list[Row], survey: Mapping[int, int], tz: tzinfo) -> CallRecord:
    queues: list[str] = []
    agents: list[str] = []
    recordings: list[str] = []
    transfers = 0
    talked: float | None = None
    first_answer: float | None = None
    end: Row | None = None
    for row in rows:
        kind, fields = str(row.kind), row.fields
        if kind == "offered":
            queues.append(rules_queue(row.queue))
        elif kind == "transferred":
            transfers += 1
            queues.append(rules_queue(fields["to_queue"]))
        elif kind == "recorded":
            recordings.append(fields["path"])
        elif kind == "call_ended":
            talked = (talked or 0.0) + fields["talked"]
        if kind == "answered":
            agents.append(fields["agent"])
            if first_answer is None:
                first_answer = fields["wait"]
        if kind in _ENDS:
            end = row
    queues = [q for i, q in enumerate(queues) if i == 0 or q != queues[i - 1]]  # a transfer, then its offer
    fields = end.fields if end is not None else {}
    return CallRecord(
        entry_id=entry_id,
        joined=datetime.fromtimestamp(joined.at, tz).strftime("%Y-%m-%d %H:%M:%S"),
        queue=rules_queue(joined.queue),
        callback=bool(joined.fields.get("is_callback", False)),
        outcome="waiting" if end is None else str(end.kind),
        queues=queues,
        agents=agents,
        transfers=transfers,
        wait=first_answer if first_answer is not None else fields.get("wait"),
        talked=talked,
        key=fields.get("key"),
        destination=fields.get("destination"),
        reason=fields.get("reason"),
        recordings=recordings,
        survey=dict(survey),
    )


def read_call_records(store: CallStore, first: date, last: date, tz: tzinfo,
                      queue: str | None = None) -> list[CallRecord]:
    """The records of the calls that joined from day `first` to day `last`
    (in `tz`), read from `store`: the rows from the range's start to a day
    past its end (a call's last rows, its survey among them, may fall past
    midnight; a year of later rows is not read to find them)."""
    start, end = day_bounds(first, last, tz)
    until = end + CALL_TAIL
    return call_records(store.queue_events(since=start, until=until), store.survey_scores(since=start, until=until),
                        tz, start, end, queue)
