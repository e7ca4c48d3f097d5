"""The ACD in live calls: one `QueueRuntime` per service (IO, gevent).

The caller is held, agents are dialled beside them: the caller's own runner
keeps playing hold music on the outbound session, while this runtime
originates each offered agent on the inbound connection, parks the answered
agent leg, (later: whispers to it), bridges it to the caller and tells the
caller's runner through `notify`.  A ringing agent who does not answer costs
the caller nothing but time: the miss is reported and the next agent tried.

All ACD calls happen in this process's greenlets and none of them yields, so
the `InMemoryAcd` needs no lock.  Every wait is bounded: the dispatcher
sleeps at most `max_sleep`, an originate at most its ring timeout plus
`originate_margin`, every `api` at most `command_timeout`.

What `notify` receives (it is called from the runtime's greenlets and must
not block; put the message in the runner's queue):

* `("bridged", agent_id)`: the caller is now talking to the agent; stop the
  hold music and the max-wait timer, do nothing more until the hangup;
* `("max_wait", queue)`: the ACD's max wait for the rules queue `queue` ran
  out (the machine's own timer usually fires first; treat both alike);
* `("no_agents", queue)`: the last agent who could take the call stopped
  serving; carry on at the queue's `no_agents` destination.

Known gaps: no whisper yet (the queue's `whisper` template needs prompts for
its text; the hook is `_whisper`); the agent leg is only watched through the
caller's hangup (`leave`), so an agent hanging up first ends the ACD call
when the caller's leg goes too; rules reloads keep the ACD built at start.
"""

from __future__ import annotations

import logging
import re
import time
import uuid as uuidlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import gevent
import gevent.event
import gevent.pool

from fsrouter.acd import (
    AgentState,
    InMemoryAcd,
    LeftEmpty,
    MissReason,
    Offer,
    OfferCancelled,
    Refused,
    TimedOut,
    UnknownEntry,
    UnknownOffer,
)
from fsrouter.acd.from_plan import AcdPlan, from_plan
from fsrouter.esl.errors import ESLError
from fsrouter.flow.events import QueueStatus

log = logging.getLogger(__name__)

Notify = Callable[[tuple[str, str]], None]

MISS_REASONS = {
    "NO_ANSWER": MissReason.NO_ANSWER,
    "NO_USER_RESPONSE": MissReason.NO_ANSWER,
    "ALLOTTED_TIMEOUT": MissReason.NO_ANSWER,
    "PROGRESS_TIMEOUT": MissReason.NO_ANSWER,
    "USER_BUSY": MissReason.BUSY,
    "CALL_REJECTED": MissReason.REJECTED,
}
"""Originate failure causes that say something about the agent; anything else
(unregistered phone, bad dial string, network) is `failed`."""

_UNSAFE = re.compile(r"[^\w+*#.@-]")


def miss_reason(result: str) -> MissReason:
    """`-ERR USER_BUSY` -> busy, and so on (see `MISS_REASONS`)."""
    cause = result.removeprefix("-ERR").strip().split()[0] if result.strip() != "-ERR" else ""
    return MISS_REASONS.get(cause.upper(), MissReason.FAILED)


@dataclass
class _Caller:
    """A call this runtime holds: waiting, being offered, or bridged."""

    queue: str
    notify: Notify
    variables: Mapping[str, str]
    offer_id: int | None = None
    """Set once an agent answered: from then on the ACD counts a call in progress."""
    agent_uuid: str | None = None
    bridged: bool = False


@dataclass
class _Ringing:
    offer: Offer
    agent_uuid: str
    cancelled: bool = False


class QueueRuntime:
    """Holds the service's ACD and drives it: join/leave from calls, dispatch, originate."""

    def __init__(
        self,
        plan,
        inbound,
        *,
        clock: Callable[[], float] = time.time,
        login_all: bool = False,
        max_sleep: float = 1.0,
        originate_margin: float = 10.0,
        command_timeout: float = 5.0,
        spawn: Callable | None = None,
    ) -> None:
        """`plan` is a compiled rules plan (or an `AcdPlan`); `inbound` has
        `bgapi(cmd, timeout)` returning an event with `.body` and
        `api(cmd, timeout)`.  `login_all` makes every agent available at once
        (until agents log in through the API); `spawn` runs offer greenlets
        (tests pass one that runs them inline)."""
        self.layout: AcdPlan = plan if isinstance(plan, AcdPlan) else from_plan(plan)
        self.acd = InMemoryAcd(self.layout.queues, self.layout.agents)
        self.inbound = inbound
        self._clock = clock
        self._last = clock()
        self.max_sleep = max_sleep
        self.originate_margin = originate_margin
        self.command_timeout = command_timeout
        self._group = gevent.pool.Group()
        self._spawn = spawn or self._group.spawn
        self._wake = gevent.event.Event()
        self._callers: dict[str, _Caller] = {}
        self._ringing: dict[int, _Ringing] = {}
        self._dispatcher: gevent.Greenlet | None = None
        if login_all:
            for agent in self.layout.agents:
                self.acd.set_agent_state(agent.id, AgentState.AVAILABLE, self._now())

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        if self._dispatcher is None:
            self._dispatcher = self._group.spawn(self._run)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop dispatching; offer greenlets in flight are killed (their agent
        legs, if any, end with their ring timeout)."""
        self._group.kill(timeout=timeout)
        self._dispatcher = None

    def wake(self) -> None:
        """Something changed (a report, a join): dispatch without waiting for the next deadline."""
        self._wake.set()

    # -- calls -------------------------------------------------------------

    def join(self, call_uuid: str, queue: str, variables: Mapping[str, str], notify: Notify) -> bool:
        """Put the call in rules queue `queue`.  False when it is refused
        (nobody who could take it serves, and the queue has `no_agents`):
        the flow goes to `no_agents` at once.  A call still held in another
        queue (the machine's own max-wait timer sent it on) leaves it first."""
        if call_uuid in self._callers:
            self.leave(call_uuid, "requeued")
        acd_queue = self.layout.queue_for(queue, variables)
        priority = self.layout.priority_for(queue, variables)
        events = self.acd.enqueue(call_uuid, acd_queue, self._now(), priority=priority)
        if any(isinstance(e, Refused) for e in events):
            log.info("call %s: refused by queue %s (nobody serving)", call_uuid, acd_queue)
            return False
        self._callers[call_uuid] = _Caller(queue, notify, dict(variables))
        log.info("call %s: joined queue %s", call_uuid, acd_queue)
        self.wake()
        return True

    def leave(self, call_uuid: str, reason: str = "hangup") -> None:
        """The call leaves: `hangup` (the caller hung up: abandoned, or the
        bridged call is over) or any other reason (max wait, exit key...)."""
        caller = self._callers.pop(call_uuid, None)
        if caller is None:
            return
        now = self._now()
        if caller.offer_id is not None:
            self._end_call(caller, now)
        else:
            try:
                if reason == "hangup":
                    events = self.acd.abandon(call_uuid, now)
                else:
                    events = self.acd.remove(call_uuid, now, reason)
            except UnknownEntry:
                events = []  # already gone (timed out, answered meanwhile)
            self._handle(events)
        self.wake()

    def status(self, call_uuid: str) -> QueueStatus | None:
        """What a waiting caller may be told (position, conservative wait);
        None once an agent is ringing or the call is no longer waiting."""
        caller = self._callers.get(call_uuid)
        if caller is None or caller.offer_id is not None:
            return None
        now = self._now()
        try:
            position = self.acd.announce_position(call_uuid, now)
            wait = self.acd.announce_wait(call_uuid, now)
        except UnknownEntry:
            return None
        if wait is None:
            return QueueStatus(position)
        return QueueStatus(position, str(wait.bucket), wait.minutes)

    def set_agent_state(self, agent_id: str, state: AgentState | str, reason: str = "") -> None:
        """Log an agent in or out, or pause them (for the API and the CLI)."""
        self._handle(self.acd.set_agent_state(agent_id, state, self._now(), reason))
        self.wake()

    # -- the dispatcher ----------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                self.step()
            except Exception:  # keep dispatching for every other caller
                log.exception("queue dispatcher step failed; retrying")
            deadline = self.acd.next_deadline()
            sleep = self.max_sleep if deadline is None else min(self.max_sleep, deadline - self._clock())
            self._wake.wait(timeout=max(0.0, sleep))

    def step(self) -> list[Offer]:
        """One round: apply deadlines, act on what they caused, start the offers."""
        now = self._now()
        self._handle(self.acd.tick(now))
        offers = self.acd.dispatch(now)
        for offer in offers:
            self._ringing[offer.offer_id] = _Ringing(offer, str(uuidlib.uuid4()))
            self._spawn(self._ring, offer.offer_id)
        return offers

    def _handle(self, events) -> None:
        for event in events:
            if isinstance(event, OfferCancelled):
                ringing = self._ringing.get(event.offer_id)
                if ringing is not None:
                    ringing.cancelled = True
                    self._kill(ringing.agent_uuid)
            elif isinstance(event, (TimedOut, LeftEmpty)):
                caller = self._callers.pop(event.entry_id, None)
                if caller is not None:
                    kind = "max_wait" if isinstance(event, TimedOut) else "no_agents"
                    caller.notify((kind, caller.queue))

    # -- one offer ---------------------------------------------------------

    def _ring(self, offer_id: int) -> None:
        """Originate the agent leg, then bridge it or report the miss."""
        ringing = self._ringing[offer_id]
        offer = ringing.offer
        try:
            self.acd.ringing(offer_id, self._now())
        except UnknownOffer:
            ringing.cancelled = True
        result = "-ERR ORIGINATOR_CANCEL"
        if not ringing.cancelled:
            result = self._originate(ringing)
        try:
            if result.startswith("+OK"):
                self._answered(ringing)
            elif not ringing.cancelled:
                reason = miss_reason(result)
                log.info("agent %s missed call %s: %s", offer.agent_id, offer.entry_id, result.strip())
                self._report_miss(offer, reason)
        finally:
            self._ringing.pop(offer_id, None)
            self.wake()

    def _originate(self, ringing: _Ringing) -> str:
        offer = ringing.offer
        caller = self._callers.get(offer.entry_id)
        caller_number = _UNSAFE.sub("", caller.variables.get("caller_id_number", "")) if caller else ""
        settings = {
            "origination_uuid": ringing.agent_uuid,
            "origination_caller_id_number": caller_number,
            "fsrouter_queue": _UNSAFE.sub("", offer.queue),
            "fsrouter_caller_uuid": offer.entry_id,
            "originate_timeout": str(max(1, round(offer.ring_timeout))),
        }
        variables = ",".join(f"{k}={v}" for k, v in settings.items() if v)
        command = f"originate {{{variables}}}{offer.dial} &park()"
        try:
            event = self.inbound.bgapi(command, timeout=offer.ring_timeout + self.originate_margin)
        except ESLError as exc:
            log.warning("originate for agent %s failed: %s", offer.agent_id, exc)
            self._kill(ringing.agent_uuid)  # it may exist; do not leave it ringing
            return "-ERR ESL_FAILURE"
        body = event.body.decode("utf-8", "replace") if isinstance(event.body, bytes) else str(event.body)
        return body.strip() or "-ERR EMPTY_RESULT"

    def _answered(self, ringing: _Ringing) -> None:
        offer = ringing.offer
        caller = self._callers.get(offer.entry_id)
        if ringing.cancelled or caller is None:
            self._kill(ringing.agent_uuid)  # the caller left while the agent rang
            return
        try:
            self.acd.answered(offer.offer_id, self._now())
        except (UnknownOffer, UnknownEntry):
            self._kill(ringing.agent_uuid)  # the offer expired meanwhile
            return
        caller.offer_id, caller.agent_uuid = offer.offer_id, ringing.agent_uuid
        self._whisper(ringing)
        try:
            self.inbound.api(f"uuid_bridge {offer.entry_id} {ringing.agent_uuid}", timeout=self.command_timeout)
        except ESLError as exc:
            log.warning("bridge of %s to agent %s failed: %s", offer.entry_id, offer.agent_id, exc)
            if self._callers.pop(offer.entry_id, None) is not None:
                self._end_call(caller, self._now())  # hangs up the agent leg too
            return
        caller.bridged = True
        log.info("call %s: bridged to agent %s", offer.entry_id, offer.agent_id)
        caller.notify(("bridged", offer.agent_id))

    def _whisper(self, ringing: _Ringing) -> None:
        """Play the queue's whisper to the agent leg only (not written yet:
        no queue whisper is played).  When it is, run `uuid_broadcast
        <agent_uuid> <path> aleg` and wait for it to end before the bridge."""

    def _report_miss(self, offer: Offer, reason: MissReason) -> None:
        try:
            self._handle(self.acd.missed(offer.offer_id, reason, self._now()))
        except UnknownOffer:
            pass  # expired by the core already

    def _end_call(self, caller: _Caller, now: float) -> None:
        """The answered call is over (or never got bridged): the agent wraps up."""
        if caller.agent_uuid is not None and not caller.bridged:
            self._kill(caller.agent_uuid)
        if caller.offer_id is not None:
            try:
                self._handle(self.acd.call_ended(caller.offer_id, now))
            except UnknownOffer:
                pass

    def _kill(self, agent_uuid: str) -> None:
        try:
            self.inbound.api(f"uuid_kill {agent_uuid} ORIGINATOR_CANCEL", timeout=self.command_timeout)
        except ESLError:
            pass  # no such channel (not created yet, or gone): nothing to hang up

    def _now(self) -> float:
        """The clock, never going back (the ACD refuses time running backwards)."""
        self._last = max(self._last, self._clock())
        return self._last
