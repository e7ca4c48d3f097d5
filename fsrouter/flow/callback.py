"""The callback dialog: from the caller pressing the offer key to a booked
callback, or back to the hold music with their place kept.

1. The caller's own number, if the queue's policy accepts it, is read back
   digit by digit in the call's language: "1" books it, "2" asks for another.
   A national number is read as dialled in the line's country (`home_region`,
   from the line's `region` or its own number), else the queue's region.
2. Otherwise (or on "2") the caller keys a number ending in #; a refused
   one is answered with its reason ("not valid", "we cannot call that
   number") and asked again; an accepted one is read back as in 1.
3. Booking is the runner's business: the dialog emits `BookCallback` and
   promises nothing until `CallbackBooked` says the booking is committed.

Every question is asked at most `1 + RETRIES` times in a row; then the
dialog gives up and the caller simply waits on.  The dialog is pure like
the machine that owns it: events in, commands out, command ids from the
machine's counter so completions never collide.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from enum import Enum

from .. import speech
from ..callback_numbers import Verdict, validate
from ..rules.plan import CallbackSettings
from .commands import BookCallback, Collect, Command, Play
from .events import CallbackBooked, CallbackNotBooked, CommandFailed, Event, MediaDone, QueueStatus

log = logging.getLogger(__name__)

RETRIES = 2
"""How often a question is asked again after a wrong or missing answer."""
CONFIRM, OTHER_NUMBER = "1", "2"
NUMBER_MAX_DIGITS = 16
NUMBER_TIMEOUT_MS = 15000
"""Time to start keying a whole phone number (a menu key gets 5 s)."""
NUMBER_DIGIT_TIMEOUT_MS = 5000


class Result(Enum):
    BOOKED = "booked"  # committed and the caller told so: hang up
    NOT_BOOKED = "not_booked"  # the store refused: the caller waits on
    GAVE_UP = "gave_up"  # no usable answer: the caller waits on


def offer_due(settings: CallbackSettings, status: QueueStatus, window_open: bool = True) -> bool:
    """Whether this announcement offers a callback: someone could make it,
    the queue's callback window is open (nobody is promised "soon" at
    night), and the estimated wait or the position is over the threshold."""
    if not status.staffed or not window_open:
        return False
    wait = None if status.wait_minutes is None else status.wait_minutes * 60
    long_wait = settings.offer_wait_over is not None and wait is not None and wait > settings.offer_wait_over
    far_back = settings.offer_position_over is not None and status.position > settings.offer_position_over
    return long_wait or far_back


class CallbackDialog:
    """One caller's way through the dialog; the machine feeds it events while
    it runs and reads `result` (and `callback_id`) when it is over."""

    def __init__(
        self,
        settings: CallbackSettings,
        caller_id: str,
        prompts: Callable[[Sequence[str]], tuple[str, ...]],
        next_id: Callable[[], int],
        *,
        language: str = "en",
        home_region: str | None = None,
    ) -> None:
        """`prompts` turns prompt ids into sound paths in the call's
        language; `next_id` hands out the machine's command ids; `language`
        says how digits are read back; `home_region` (the line's country)
        overrides the queue's for numbers keyed without a country code."""
        self._policy = replace(settings.policy, home_region=home_region) if home_region else settings.policy
        self._grammar = speech.grammar(language)
        self._caller_id = caller_id
        self._prompts = prompts
        self._next_id = next_id
        self._step = "new"  # confirm, enter, refused, booking, booked
        self._verdict: Verdict | None = None
        self._misses = 0
        self._waiting: int | None = None
        self.result: Result | None = None
        self.callback_id: str | None = None

    def start(self) -> list[Command]:
        own = validate(self._caller_id, self._policy, source="caller_id")
        return self._confirm(own) if own.ok else self._enter()

    def feed(self, event: Event) -> list[Command]:
        """The next commands; `result` is set once the dialog is over."""
        if isinstance(event, (MediaDone, CommandFailed)) and event.command_id == self._waiting:
            self._waiting = None
            digits = event.digits if isinstance(event, MediaDone) else ""
            return _ANSWERED[self._step](self, digits)
        if self._step == "booking" and isinstance(event, CallbackBooked):
            self.callback_id = event.callback_id
            return self._ask("booked", lambda i: Play(i, self._prompts(["callback/booked"])))
        if self._step == "booking" and isinstance(event, CallbackNotBooked):
            log.warning("callback to %s not booked: %s", self._verdict.e164, event.reason)
            return self._end(Result.NOT_BOOKED)
        return []

    # -- asking ------------------------------------------------------------

    def _confirm(self, verdict: Verdict) -> list[Command]:
        """Read the number back and ask for 1 (book it) or 2 (another)."""
        self._verdict = verdict
        ids = ["callback/confirm_number", *self._grammar.digits(verdict.digits_for_readback),
               "callback/confirm_keys"]
        return self._ask("confirm", lambda i: Collect(i, self._prompts(ids)))

    def _enter(self) -> list[Command]:
        return self._ask("enter", lambda i: Collect(
            i, self._prompts(["callback/enter_number"]), max_digits=NUMBER_MAX_DIGITS,
            timeout_ms=NUMBER_TIMEOUT_MS, digit_timeout_ms=NUMBER_DIGIT_TIMEOUT_MS,
        ))

    def _ask(self, step: str, command: Callable[[int], Command]) -> list[Command]:
        self._step = step
        self._waiting = self._next_id()
        return [command(self._waiting)]

    # -- what an answer means ------------------------------------------------

    def _confirmed(self, digits: str) -> list[Command]:
        if digits == CONFIRM:
            self._step = "booking"
            return [BookCallback(self._verdict.e164)]
        if digits == OTHER_NUMBER:
            self._misses = 0  # a new question: all its retries
            return self._enter()
        self._misses += 1
        return self._unless_exhausted(lambda: self._confirm(self._verdict))

    def _entered(self, digits: str) -> list[Command]:
        verdict = validate(digits, self._policy, source="keyed")
        if verdict.ok:
            self._misses = 0
            return self._confirm(verdict)
        log.info("callback number refused (%s): %s", verdict.reason, verdict.e164 or "no valid number")
        self._misses += 1
        return self._ask("refused", lambda i: Play(i, self._prompts([verdict.prompt])))

    def _refusal_said(self, digits: str) -> list[Command]:
        return self._unless_exhausted(self._enter)

    def _booked_said(self, digits: str) -> list[Command]:
        return self._end(Result.BOOKED)

    def _unless_exhausted(self, ask_again: Callable[[], list[Command]]) -> list[Command]:
        return ask_again() if self._misses <= RETRIES else self._end(Result.GAVE_UP)

    def _end(self, result: Result) -> list[Command]:
        self.result = result
        return []


_ANSWERED = {
    "confirm": CallbackDialog._confirmed,
    "enter": CallbackDialog._entered,
    "refused": CallbackDialog._refusal_said,
    "booked": CallbackDialog._booked_said,
}
