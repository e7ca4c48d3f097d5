"""Callbacks in the live ACD: booked from a waiting call, dialled in their turn.

The store is the record of every promise.  A booking is committed before the
caller hears that it is booked, and the waiting call's place passes to a
callback entry with the same arrival time and priority, so it neither jumps
ahead of nor falls behind the live callers.

Every `poll` seconds the dialer asks the store which callbacks are due and
puts any that are not yet in line into the ACD (after a restart, that is how
pending callbacks come back, in their order).  When one reaches the head and
its agent has answered and heard the whisper ("callback for ..., waited
..."), the dialer *claims* it in the store (a lease: two fsrouter processes,
or one restarted after SIGKILL, never dial it twice at once), dials the
customer with the line's caller id, plays them the intro and bridges them to
the agent.  No answer or busy: the attempt is recorded with the next attempt
time (or the callback given up after `attempts`), and it comes back into
line, at its old place, when that time comes.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import uuid as uuidlib
from collections.abc import Callable, Mapping

import gevent

from fsrouter.acd import UnknownEntry, UnknownQueue
from fsrouter.acd.events import CallbackBooked, CallbackFinished
from fsrouter.acd.from_plan import PlanMappingError
from fsrouter.acd.model import MissReason
from fsrouter import fsvalues
from fsrouter.runtime import orphan_legs
from fsrouter.runtime.legs import miss_reason, originate_command, playback
from fsrouter.store.errors import CommitUnknown, StoreError
from fsrouter.store.records import OWED, AttemptOutcome, CallbackRecord
from fsrouter.store.stats import CALLBACK_ENTRY_PREFIX

log = logging.getLogger(__name__)


_OUTCOMES = {
    MissReason.NO_ANSWER: AttemptOutcome.NO_ANSWER,
    MissReason.BUSY: AttemptOutcome.BUSY,
    MissReason.REJECTED: AttemptOutcome.BUSY,
}
"""How a failed customer originate is recorded (see `legs.miss_reason`)."""

#: How often a bridged callback's legs are checked when no hang-up was heard.
CHECK_EVERY = 30.0

RULES_QUEUE = "fsrouter_rules_queue"
"""The booked variable naming the rules queue, whose `callback` settings apply."""


def entry_id(callback_id: int) -> str:
    return f"{CALLBACK_ENTRY_PREFIX}{callback_id}"


def callback_id(entry: str) -> int:
    return int(entry.removeprefix(CALLBACK_ENTRY_PREFIX))


class CallbackDialer:
    def __init__(self, runtime, store, *, sounds_root: str, owner: str | None = None,
                 poll: float = 1.0, customer_ring: float = 30.0, intro_timeout: float = 60.0) -> None:
        """`runtime` is the `QueueRuntime` (it calls back into this dialer);
        `store` a `GeventStore`; `sounds_root` where FreeSWITCH finds the
        prompts."""
        self.runtime = runtime
        self.store = store
        self.sounds_root = sounds_root.rstrip("/")
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.poll = poll
        self.customer_ring = customer_ring
        self.intro_timeout = intro_timeout
        self._records: dict[int, CallbackRecord] = {}
        """Callbacks in the ACD's line, by id."""
        self._connecting: set[int] = set()
        """Callbacks whose agent answered: being claimed and dialled."""
        self._withdrawals: dict[str, Callable[[], CallbackRecord]] = {}
        """Bookings whose commit may or may not have happened, the caller
        having been kept in line: by idempotency key, the booking to run
        again (which finds the row, or makes it) before cancelling it."""
        self._store_trouble: str | None = None
        """What the store last said when the due callbacks could not be read."""
        self._unqueued: set[int] = set()
        """Callbacks due whose queue, or its callback settings, a rules
        reload removed: left pending, out of line (said once in the log)."""
        runtime.callbacks = self

    # -- booking -----------------------------------------------------------

    def book(self, call_uuid: str, caller, number: str) -> str | None:
        """Book a callback for the waiting `caller` (already out of line);
        its id, or None when the store could not commit it.

        Each booking from a call has its own idempotency key (the call's
        UUID and the caller's booking count), so a booking withdrawn after
        a commit of unknown outcome never answers for a later one."""
        settings = self._settings(caller.queue)
        if settings is None:
            log.error("call %s: queue %s has no callback settings; no callback booked", call_uuid, caller.queue)
            return None
        try:
            # The ACD queue as the plan maps the call now: the one it waited
            # in may be a variant a reload retired, which no callback enters.
            acd_queue = self.runtime.layout.queue_for(caller.queue, caller.variables)
        except PlanMappingError:
            log.error("call %s: queue %s was removed by a rules reload; no callback booked", call_uuid, caller.queue)
            return None
        now = self.runtime.now()
        booking = functools.partial(
            self.store.book_callback,
            acd_queue, number, settings.caller_id.render(caller.variables),
            caller.arrival, caller.priority, {**caller.variables, RULES_QUEUE: caller.queue},
            line=caller.variables.get("destination_number"), brand=caller.variables.get("brand"),
            # Not while the caller is still on the line hearing it is booked.
            not_before=now + settings.dial_after,
            idempotency_key=f"{call_uuid}/{caller.bookings}", booked_at=now)
        try:
            record = booking()
        except CommitUnknown:
            log.error("call %s: callback to %s may or may not be booked (the database went away"
                      " while committing); the caller waits on, and the booking will be withdrawn"
                      " once the database answers", call_uuid, number)
            self._withdrawals[booking.keywords["idempotency_key"]] = booking
            return None
        except StoreError:
            log.exception("call %s: callback to %s could not be booked", call_uuid, number)
            return None
        log.info("call %s: callback %d booked to %s, keeping its place in %s",
                 call_uuid, record.id, number, acd_queue)
        self.runtime.handle([CallbackBooked(entry_id=entry_id(record.id), queue=acd_queue, at=now)])
        if record.next_attempt_at <= now and self._in_window(record, now):
            self._enter(record)  # else `sync` puts it back at its place once it may be dialled
        return str(record.id)

    # -- keeping the line --------------------------------------------------

    def run(self) -> None:
        """Keep the line in step with the store every `poll` seconds, in a
        greenlet of its own: the dispatcher never waits on the database."""
        while True:
            try:
                self.sync()
            except Exception:  # keep the line in step for every other callback
                log.exception("callback sync failed; retrying in %.0f s", self.poll)
            gevent.sleep(self.poll)

    def sync(self) -> None:
        """Due callbacks into line; cancelled ones, and those whose queue's
        `window` is closed now, out (they come back to their place when it
        opens)."""
        now = self.runtime.now()
        self._withdraw(now)
        try:
            due = {record.id: record for record in self.store.due_callbacks(now)
                   if record.idempotency_key not in self._withdrawals}
        except StoreError as exc:
            if self._store_trouble != str(exc):  # said once, not every poll
                log.error("could not read the due callbacks (%s); retrying every %.0f s", exc, self.poll)
                self._store_trouble = str(exc)
            return
        if self._store_trouble is not None:
            log.info("due callbacks read again")
            self._store_trouble = None
        dialable = {cb_id for cb_id, record in due.items() if self._dialable(record, now)}
        for cb_id in dialable - self._records.keys() - self._connecting:
            self._enter(due[cb_id])
        for gone in self._records.keys() - dialable - self._connecting:
            reason = "callback_window" if gone in due else "callback_cancelled"
            log.info("callback %d out of line (%s)", gone, reason)
            self._leave_line(gone, reason)

    def _withdraw(self, now: float) -> None:
        """Cancel the bookings of unknown outcome (their callers were kept in
        line, never told): book again under the same key, which returns
        the row a lost commit made, or makes it, waiting for a commit still
        in flight, then cancel it.  Retried every `poll` until it is done."""
        for key, booking in list(self._withdrawals.items()):
            try:
                record = booking()
                if record.status in OWED:
                    record = self.store.cancel(record.id, now)
            except StoreError as e:
                log.warning("booking %s not withdrawn yet (%s); retrying in %.0f s", key, e, self.poll)
                continue
            del self._withdrawals[key]
            log.info("booking %s withdrawn: callback %d %s", key, record.id, record.status)

    def _dialable(self, record: CallbackRecord, now: float) -> bool:
        """Whether the due callback may wait in line now: its rules queue
        still offers callbacks (else it is left pending until a reload
        brings them back: never dialled, never given up) and its `window`
        is open."""
        rules_queue = record.variables.get(RULES_QUEUE, "")
        if self._settings(rules_queue) is None:
            gone = "no longer exists" if rules_queue not in self.runtime.plan.queues else "offers no callbacks"
            self._left_pending(record, f"queue {rules_queue} {gone}")
            return False
        return self._in_window(record, now)

    def _in_window(self, record: CallbackRecord, now: float) -> bool:
        settings = self._settings_for(record)
        window = settings.window if settings is not None else None
        plan = self.runtime.plan
        return window is None or window.test(plan.context(record.variables, now))

    def _left_pending(self, record: CallbackRecord, why: str) -> None:
        if record.id not in self._unqueued:  # said once, not at every poll
            self._unqueued.add(record.id)
            log.error("callback %d: %s; left pending", record.id, why)

    def _enter(self, record: CallbackRecord) -> None:
        acd = self.runtime.acd
        if acd.has_entry(entry_id(record.id)):  # a booking and a sync crossed
            self._records[record.id] = record
            return
        try:
            events = acd.enqueue(entry_id(record.id), record.queue, self.runtime.now(),
                                 priority=record.priority, arrival=record.arrival_time, is_callback=True)
        except UnknownQueue:
            self._left_pending(record, f"queue {record.queue} no longer exists")
            return
        self._unqueued.discard(record.id)
        self._records[record.id] = record
        self.runtime.handle(events)
        self.runtime.wake()

    def _leave_line(self, cb_id: int, reason: str) -> None:
        """Take the callback out of the ACD (cancelling an offer to an agent)."""
        self._records.pop(cb_id, None)
        runtime = self.runtime
        try:
            runtime.handle(runtime.acd.remove(entry_id(cb_id), runtime.now(), reason))
        except UnknownEntry:
            pass  # answered or removed already

    # -- what the runtime asks while an agent is dialled -------------------

    def context(self, offer) -> Mapping[str, str]:
        record = self._records.get(callback_id(offer.entry_id))
        if record is None:
            return {}
        return {**record.variables, "number": record.number, "caller_id_number": record.number,
                "callback": "callback"}

    # -- dialling the customer ---------------------------------------------

    def connect(self, ringing) -> None:
        """The agent has answered and heard the whisper: claim the callback,
        dial the customer, bridge them, record the attempt.  `ringing` is the
        offer's `OfferMachine` (its `offer` and `agent_uuid`), which carries
        this out as its `ConnectCallback` command."""
        cb_id = callback_id(ringing.offer.entry_id)
        self._connecting.add(cb_id)  # `sync` leaves it alone meanwhile
        try:
            self._connect(cb_id, ringing)
        finally:
            self._connecting.discard(cb_id)
            if not self.runtime.acd.has_entry(ringing.offer.entry_id):
                self._records.pop(cb_id, None)

    def _connect(self, cb_id: int, ringing) -> None:
        runtime, offer, agent = self.runtime, ringing.offer, ringing.agent_uuid
        customer = str(uuidlib.uuid4())
        claimed = False
        try:
            # The claim may take a while (the database): keep the offer open.
            if runtime.report(lambda: runtime.acd.connecting(offer.offer_id, runtime.now(), self._lease())) is None:
                runtime.switch.drop_leg(agent)
                return
            record = self._claim(cb_id)
            if record is None:
                log.info("callback %d: no longer ours to dial (cancelled or taken); agent released", cb_id)
                runtime.switch.drop_leg(agent)
                self._leave_line(cb_id, "callback_gone")
                return
            claimed = True
            if runtime.report(lambda: runtime.acd.answered(offer.offer_id, runtime.now())) is None:
                self._release(cb_id)
                runtime.switch.drop_leg(agent)
                return
            outcome = self._dial(record, customer, agent)
            claimed = False  # from here on the attempt is recorded or the claim given back
        except gevent.GreenletExit:
            # The service is stopping: hang up, give the callback back, and
            # the next process dials it (once).
            runtime.switch.drop_leg(customer)
            runtime.switch.drop_leg(agent)
            if claimed:
                self._release(cb_id)
            raise
        if outcome is None:
            log.info("callback %d: not dialled after all; it keeps its place", cb_id)
            self._release(cb_id)
        else:
            self._record(record, outcome)
        if outcome is AttemptOutcome.ANSWERED:
            self._follow(customer, agent)
        else:
            runtime.switch.drop_leg(agent)
        runtime.call_ended(offer.offer_id)

    def _dial(self, record: CallbackRecord, customer: str, agent_uuid: str) -> AttemptOutcome | None:
        """How the attempt went; None when no attempt was made (the agent
        hung up first, the connection to FreeSWITCH failed, or a reload
        took the queue's callback settings away meanwhile)."""
        runtime = self.runtime
        settings = self._settings_for(record)
        if settings is None:
            return None
        if self._gone(agent_uuid):
            return None
        language = record.variables.get("language") or runtime.plan.settings.language
        variables = {
            "origination_uuid": customer,
            "origination_caller_id_number": record.caller_id,
            "originate_timeout": str(round(self.customer_ring)),
            "fsrouter_callback_id": str(record.id),
            **orphan_legs.marker(orphan_legs.CUSTOMER, runtime.instance),
        }
        # Each value is made a dial-string piece before the template sees it,
        # so the caller's variables cannot add a leg or a variable block.
        parts = {k: fsvalues.dial_part(v) for k, v in {**record.variables, "number": record.number}.items()}
        intro = f"{self.sounds_root}/{fsvalues.path_part(language)}/{settings.intro}.wav"
        try:
            command = originate_command(variables, settings.dial.render(parts), [playback(intro)])
        except fsvalues.UnsafeValue as exc:
            log.error("callback %d not dialled: %s", record.id, exc)
            return AttemptOutcome.FAILED
        leg = runtime.legs.watch(customer)
        result = runtime.switch.bgapi_result(command, self.customer_ring + runtime.originate_margin, customer)
        if not result.startswith("+OK"):
            runtime.legs.forget(customer)
            log.info("callback %d: %s did not answer: %s", record.id, record.number, result.strip())
            reason = miss_reason(result)
            if reason is MissReason.LOST:
                return None  # the connection to FreeSWITCH failed: no attempt was made
            return _OUTCOMES.get(reason, AttemptOutcome.FAILED)
        state = leg.wait_parked(self.intro_timeout)
        if state != "parked" or not runtime.switch.bridge(customer, agent_uuid):
            log.info("callback %d: customer leg %s before the bridge", record.id, state)
            runtime.switch.drop_leg(customer)
            return AttemptOutcome.FAILED
        log.info("callback %d: %s bridged to the agent", record.id, record.number)
        return AttemptOutcome.ANSWERED

    def _follow(self, customer: str, agent_uuid: str) -> None:
        """Wait until either side of the bridged callback hangs up, then end
        the other side too (the agent then wraps up).  Hang-ups are heard on
        the inbound socket; should one be missed (the socket reconnected),
        asking FreeSWITCH every `CHECK_EVERY` seconds still ends the wait."""
        legs = self.runtime.legs
        watched = [legs.get(uuid) or legs.watch(uuid) for uuid in (customer, agent_uuid)]
        while not any(self._gone(leg.uuid) for leg in watched):
            gevent.wait([leg.hung_up for leg in watched], count=1, timeout=CHECK_EVERY)
            if not all(self._gone(leg.uuid) or self.runtime.switch.channel_exists(leg.uuid) for leg in watched):
                break
        for leg in watched:
            self.runtime.switch.drop_leg(leg.uuid)

    def _gone(self, uuid: str) -> bool:
        """Whether the leg's hang-up was heard."""
        leg = self.runtime.legs.get(uuid)
        return leg is not None and leg.hung_up.ready()

    # -- the store ---------------------------------------------------------

    def _lease(self) -> float:
        """Long enough to dial the customer and play the intro."""
        return self.customer_ring + self.intro_timeout + self.runtime.originate_margin

    def _claim(self, cb_id: int) -> CallbackRecord | None:
        try:
            return self.store.claim(cb_id, self.owner, self._lease(), self.runtime.now())
        except StoreError:
            log.exception("callback %d: claim failed", cb_id)
            return None

    def _release(self, cb_id: int) -> None:
        try:
            self.store.release(cb_id, self.owner, self.runtime.now())
        except StoreError:
            log.exception("callback %d: could not release the claim (its lease will expire)", cb_id)

    def _record(self, record: CallbackRecord, outcome: AttemptOutcome) -> None:
        now = self.runtime.now()
        settings = self._settings_for(record)  # None: a reload removed them mid-dial; not given up
        attempts = settings.attempts if settings is not None else None
        give_up = outcome is not AttemptOutcome.ANSWERED and attempts is not None and record.attempts + 1 >= attempts
        retry_at = None
        if outcome is not AttemptOutcome.ANSWERED and not give_up:
            retry_at = now + (settings.retry_every if settings is not None else 0.0)
        try:
            self.store.record_attempt(record.id, self.owner, outcome, now,
                                      next_attempt_at=retry_at, give_up=give_up)
        except StoreError:
            log.exception("callback %d: attempt (%s) not recorded; the lease will expire", record.id, outcome)
            return
        if outcome is AttemptOutcome.ANSWERED or give_up:
            self.runtime.handle([CallbackFinished(entry_id=entry_id(record.id), queue=record.queue, at=now,
                                                  completed=not give_up, attempts=record.attempts + 1)])
        if give_up:
            log.warning("callback %d to %s: given up after %d attempts", record.id, record.number, attempts)
        elif retry_at is not None:
            log.info("callback %d: %s; next attempt in %.0f s", record.id, outcome, retry_at - now)

    def _settings_for(self, record: CallbackRecord):
        return self._settings(record.variables.get(RULES_QUEUE, ""))

    def _settings(self, rules_queue: str):
        queue = self.runtime.plan.queues.get(rules_queue)
        return queue.callback if queue is not None else None
