"""The call-centre figures, defined once: from queue statistics rows to
offered, answered, abandoned, service level, speed of answer, handle time,
callbacks, transfers and EWT accuracy.

Sans-IO and a leaf module: rows come in (stored `QueueEvent`s for
`fsrouter report`, or rows just made from the ACD's events for the
wallboard's "today"), figures come out; nothing here reads a clock, a
database or a socket.  A row is anything with `kind`, `queue`, `entry_id`,
`at` and `fields` (see `store/stats.py` for what each kind carries).

What each figure means (for live callers: callback entries count as
callbacks, never as offered, answered or abandoned calls):

- **offered**: callers who joined the queue (one per call, however many
  times a reload or a failed booking put it back in line);
- **answered** / **abandoned**: callers answered by an agent / who hung up
  while waiting; **abandoned_short**: of those, the ones who hung up within
  `SHORT_ABANDON` seconds (misdials and second thoughts, not the centre's
  doing);
- **service_level**: answered within the queue's target (rules
  `service_level:`, default `DEFAULT_TARGET`) over answered + abandoned,
  short abandons left out; None with nothing to judge;
- **asa** (average speed of answer): mean wait of the answered callers;
- **aht** (average handle time): mean time from an agent's answer to the
  hang-up, over the calls that ended (callbacks included: agents handle them);
- **callbacks_booked / completed / failed**: bookings made, callbacks that
  reached the customer, callbacks given up after their attempts;
- **transfers_per_call**: moves out of the queue over callers offered;
- **ewt_error**: mean of (answered wait − announced estimate), seconds
  (negative: answered sooner than announced, as a conservative EWT should);
  **ewt_kept**: the share of judged promises kept.  A promise "N minutes"
  is kept when the caller was answered within N minutes of hearing it,
  broken when they were still waiting after N minutes (answered or not); a
  caller who left before the bound, or "more than N minutes", proves
  nothing (see `judge_promise`).

Each row counts in the period it happened in (an answer at 00:00:05 counts
on the day it happened, whenever the caller joined).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol

#: Seconds a caller may wait and hang up and count as a short abandon.
SHORT_ABANDON = 5.0
#: Seconds within which an answer counts for the service level, by default.
DEFAULT_TARGET = 20.0

# Statistics kinds read here (the values of `store.records.QueueEventKind`:
# this module is a leaf and imports nothing from the store).
OFFERED = "offered"
ANSWERED = "answered"
ABANDONED = "abandoned"
CALL_ENDED = "call_ended"
TRANSFERRED = "transferred"
CALLBACK_BOOKED = "callback_booked"
CALLBACK_COMPLETED = "callback_completed"
CALLBACK_FAILED = "callback_failed"
#: Kinds that end an entry's wait and may carry the EWT promises made to it
#: (store/stats.py writes them with the promises; `exited`: by an exit key).
WAIT_ENDS = (ANSWERED, ABANDONED, "timed_out", "left_empty", "removed", "exited")


class Row(Protocol):
    kind: Any
    queue: str
    entry_id: str
    at: float
    fields: Mapping[str, Any]


def day_bounds(first: date, last: date, tz: tzinfo) -> tuple[float, float]:
    """From midnight starting `first` to midnight ending `last`, in `tz`."""
    start = datetime.combine(first, time(), tz)
    end = datetime.combine(last + timedelta(days=1), time(), tz)
    return start.timestamp(), end.timestamp()


def rules_queue(acd_queue: str) -> str:
    """The rules queue an ACD queue belongs to: `billing[language=de]` is
    a variant of `billing` (see `rules.skill_layout`), reported as billing."""
    return acd_queue.split("[", 1)[0]


def judge_promise(waited: float, seconds: float, minutes: int, more_than: bool,
                  answered: bool) -> tuple[float | None, bool | None]:
    """One announced estimate against what happened `waited` seconds after it:
    (error in seconds when answered, else None; kept / broken / None when
    it proves nothing).  The one definition of EWT kept (`acd.accuracy` too)."""
    error = waited - seconds if answered else None
    if more_than:
        return error, None
    if waited > minutes * 60:
        return error, False
    return error, True if answered else None


def _is_more_than(promise: Mapping[str, Any]) -> bool:
    """Whether a stored promise was "more than N minutes" (rows written
    before `bucket` was stored: an estimate rounded up past its minutes)."""
    if "bucket" in promise:
        return promise["bucket"] == "more_than"
    return promise["seconds"] >= 60 and math.ceil(promise["seconds"] / 60) > promise["minutes"]


@dataclass(frozen=True)
class Figures:
    """One queue's figures over one period (ratios None with nothing to divide)."""

    offered: int
    answered: int
    abandoned: int
    abandoned_short: int
    service_level: float | None
    target: float
    asa: float | None
    aht: float | None
    callbacks_booked: int
    callbacks_completed: int
    callbacks_failed: int
    transfers_per_call: float | None
    ewt_error: float | None
    ewt_kept: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


@dataclass
class Tally:
    """The running sums behind one queue's `Figures` over one period: `add`
    rows as they come, read `figures()` at any time."""

    target: float = DEFAULT_TARGET
    offered: set[str] = field(default_factory=set)
    answered: int = 0
    answered_in_target: int = 0
    wait_total: float = 0.0
    abandoned: int = 0
    abandoned_short: int = 0
    ended: int = 0
    talk_total: float = 0.0
    transfers: int = 0
    callbacks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        (CALLBACK_BOOKED, CALLBACK_COMPLETED, CALLBACK_FAILED), 0))
    ewt_errors: int = 0
    ewt_error_total: float = 0.0
    ewt_kept: int = 0
    ewt_broken: int = 0

    def add(self, row: Row) -> None:
        kind, fields = str(row.kind), row.fields
        live = not fields.get("is_callback", False)
        if kind == OFFERED and live:
            self.offered.add(row.entry_id)
        elif kind == ANSWERED and live:
            self.answered += 1
            self.wait_total += fields["wait"]
            self.answered_in_target += fields["wait"] <= self.target
        elif kind == ABANDONED and live:
            self.abandoned += 1
            self.abandoned_short += fields["wait"] <= SHORT_ABANDON
        elif kind == CALL_ENDED:
            self.ended += 1
            self.talk_total += fields["talked"]
        elif kind == TRANSFERRED:
            self.transfers += 1
        elif kind in self.callbacks:
            self.callbacks[kind] += 1
        if kind in WAIT_ENDS:
            self._judge(row, answered=kind == ANSWERED)

    def _judge(self, row: Row, answered: bool) -> None:
        for promise in row.fields.get("promises", ()):
            error, kept = judge_promise(row.at - promise["at"], promise["seconds"], promise["minutes"],
                                        _is_more_than(promise), answered)
            if error is not None:
                self.ewt_errors += 1
                self.ewt_error_total += error
            if kept is not None:
                self.ewt_kept += kept
                self.ewt_broken += not kept

    def figures(self) -> Figures:
        judged = self.answered + self.abandoned - self.abandoned_short
        return Figures(
            offered=len(self.offered),
            answered=self.answered,
            abandoned=self.abandoned,
            abandoned_short=self.abandoned_short,
            service_level=_mean(self.answered_in_target, judged),
            target=self.target,
            asa=_mean(self.wait_total, self.answered),
            aht=_mean(self.talk_total, self.ended),
            callbacks_booked=self.callbacks[CALLBACK_BOOKED],
            callbacks_completed=self.callbacks[CALLBACK_COMPLETED],
            callbacks_failed=self.callbacks[CALLBACK_FAILED],
            transfers_per_call=_mean(self.transfers, len(self.offered)),
            ewt_error=_mean(self.ewt_error_total, self.ewt_errors),
            ewt_kept=_mean(self.ewt_kept, self.ewt_kept + self.ewt_broken),
        )


class Tallies:
    """Tallies by (queue, period): `period` names the period a time falls in
    (a day, an hour, in the rules' time zone: the caller's choice);
    `targets` the service-level target of each rules queue.  Queues are
    rules queues (variants counted together, as reports want), or with
    `variants` the ACD's own queues (as the live figures show them)."""

    def __init__(self, period: Callable[[float], str], targets: Mapping[str, float] | None = None,
                 *, variants: bool = False) -> None:
        self.period = period
        self.targets = dict(targets or {})
        self.variants = variants
        self.by_key: dict[tuple[str, str], Tally] = {}

    def add(self, rows: Iterable[Row]) -> None:
        for row in rows:
            queue = row.queue if self.variants else rules_queue(row.queue)
            key = (queue, self.period(row.at))
            tally = self.by_key.get(key)
            if tally is None:
                target = self.targets.get(rules_queue(queue), DEFAULT_TARGET)
                tally = self.by_key[key] = Tally(target)
            tally.add(row)

    def figures(self) -> dict[tuple[str, str], Figures]:
        """Every (queue, period) with at least one row, in order."""
        return {key: self.by_key[key].figures() for key in sorted(self.by_key)}
