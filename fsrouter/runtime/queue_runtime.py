"""The ACD in live calls: one `QueueRuntime` per service (IO, gevent).

The caller is held, agents are dialled beside them: the caller's own runner
keeps playing hold music on the outbound session, while this runtime
originates each offered agent on the inbound connection.  The agent's leg
says the queue's whisper (text to speech, heard by the agent only) and
parks; only then is it bridged to the caller, and the caller's runner told
through `notify`.  An agent who does not answer, or hangs up during the
whisper, costs the caller nothing but time: the miss is reported, the caller
keeps their place and the next agent is tried.

All ACD calls happen in this process's greenlets and none of them yields, so
the `InMemoryAcd` needs no lock.  Every wait is bounded: the dispatcher
sleeps at most `max_sleep`, an originate at most its ring timeout plus
`originate_margin`, a whisper at most `whisper_timeout`, every `api` at most
`command_timeout`.

What `notify` receives (it is called from the runtime's greenlets and must
not block; put the message in the runner's queue):

* `("bridged", agent_id)`: the caller is now talking to the agent; stop the
  hold music and the max-wait timer, do nothing more until the hangup;
* `("max_wait", queue)`: the ACD's max wait for the rules queue `queue` ran
  out (the machine's own timer usually fires first; treat both alike);
* `("no_agents", queue)`: the last agent who could take the call stopped
  serving; carry on at the queue's `no_agents` destination.

Callbacks (booked, dialled when they reach the head of the line) are the
`CallbackDialer`'s part; agents' phones registering and unregistering are
`AgentPresence`'s.  A rules reload calls `reconfigure`: the ACD takes the
new queues and agents in place, and whispers and callback settings are read
from the new plan for every offer from then on.
"""

from __future__ import annotations

import logging
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
from fsrouter.acd.from_plan import AcdPlan, PlanMappingError, from_plan
from fsrouter.acd.memory import Layout
from fsrouter.runtime.agent_presence import AgentPresence
from fsrouter.runtime.callback_dialer import RULES_QUEUE
from fsrouter.esl.codec import Event
from fsrouter.esl.errors import ESLError
from fsrouter.runtime.legs import ESL_FAILURE, Legs, miss_reason, originate_command, speak, spoken_wait
from fsrouter.flow.events import QueueStatus

log = logging.getLogger(__name__)

Notify = Callable[[tuple[str, str]], None]

@dataclass
class _Caller:
    """A call this runtime holds: waiting, being offered, or bridged."""

    queue: str
    acd_queue: str
    notify: Notify
    variables: Mapping[str, str]
    arrival: float
    priority: int
    offer_id: int | None = None
    """Set once an agent answered: from then on the ACD counts a call in progress."""
    agent_uuid: str | None = None
    bridged: bool = False


@dataclass
class Ringing:
    """An offer being carried out: the agent's leg is being dialled or whispered to."""

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
        tts: str = "flite|kal",
        on_events: Callable[[list], None] | None = None,
        max_sleep: float = 1.0,
        originate_margin: float = 10.0,
        whisper_timeout: float = 30.0,
        command_timeout: float = 5.0,
        spawn: Callable | None = None,
    ) -> None:
        """`plan` is a compiled rules plan; `inbound` has `bgapi(cmd,
        timeout)` returning an event with `.body` and `api(cmd, timeout)`,
        and must pass its events to `on_event`.  `login_all` makes every
        agent available at once (until agents log in through the API);
        `tts` is the `engine|voice` whispers are spoken with; `on_events`
        receives every list of ACD events (statistics); `spawn` runs offer
        greenlets (tests pass one that runs them inline)."""
        self.plan = plan
        """The current plan: whispers and callback settings come from it."""
        self.layout: AcdPlan = from_plan(plan)
        self.acd = InMemoryAcd(self.layout.queues, self.layout.agents)
        self.inbound = inbound
        self.legs = Legs()
        self.presence = AgentPresence(self.layout.agents)
        self.callbacks = None
        """The `CallbackDialer`, when the service has a store."""
        self.tts = tts
        self._on_events = on_events
        self._clock = clock
        self._last = clock()
        self.max_sleep = max_sleep
        self.originate_margin = originate_margin
        self.whisper_timeout = whisper_timeout
        self.command_timeout = command_timeout
        self._group = gevent.pool.Group()
        self._spawn = spawn or self._group.spawn
        self._wake = gevent.event.Event()
        self._callers: dict[str, _Caller] = {}
        self._ringing: dict[int, Ringing] = {}
        self._dispatcher: gevent.Greenlet | None = None
        self._login_all = login_all
        self._log_in_new(self.layout.agents, known=())

    def _log_in_new(self, agents, known) -> list:
        """With `login_all`, agents not among `known` ids start available."""
        events = []
        if self._login_all:
            for agent in agents:
                if agent.id not in known:
                    events += self.acd.set_agent_state(agent.id, AgentState.AVAILABLE, self.now())
        return events

    def reconfigure(self, plan, layout: AcdPlan | None = None, compiled: Layout | None = None) -> None:
        """A rules reload: queues, agents and skills change in place for the
        next offers (waiting callers keep their place, agents their state;
        see `Acd.reconfigure`), and whispers and callback settings come from
        `plan` from now on.  `layout` is `from_plan(plan)` and `compiled`
        `compile_layout` of it, when already made (off the hub).  Raises
        (`SpecError`, `PlanMappingError`) before changing anything when the
        plan cannot run."""
        layout = from_plan(plan) if layout is None else layout
        known = {agent.id for agent in self.layout.agents}
        presence = AgentPresence(layout.agents)
        events = self.acd.reconfigure(layout.queues, layout.agents, self.now(),  # the last that may raise
                                      compiled=compiled)
        self.plan, self.layout, self.presence = plan, layout, presence
        self.handle(events + self._log_in_new(layout.agents, known))
        log.info("queues reconfigured: %d queues, %d agents", len(layout.queues), len(layout.agents))
        self.wake()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        if self._dispatcher is None:
            self._dispatcher = self._group.spawn(self._run)
            if self.callbacks is not None:
                self._group.spawn(self.callbacks.run)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop dispatching; offer greenlets in flight are killed (a callback
        being dialled hangs its legs up and gives the callback back)."""
        self._group.kill(timeout=timeout)
        self._dispatcher = None

    def wake(self) -> None:
        """Something changed (a report, a join): dispatch without waiting for the next deadline."""
        self._wake.set()

    def on_event(self, event: Event) -> None:
        """Every event of the inbound socket (called in its reader greenlet:
        must not block)."""
        if self.legs.on_event(event):
            return
        for agent_id, reachable in self.presence.on_event(event):
            report = self.acd.agent_reachable if reachable else self.acd.agent_unreachable
            log.info("agent %s: phone %s", agent_id, "registered" if reachable else "unregistered")
            self.handle(report(agent_id, self.now()))
            self.wake()

    # -- calls -------------------------------------------------------------

    def join(self, call_uuid: str, queue: str, variables: Mapping[str, str], notify: Notify) -> bool:
        """Put the call in rules queue `queue`.  False when it is refused
        (nobody who could take it serves, and the queue has `no_agents`):
        the flow goes to `no_agents` at once.  A call still held in another
        queue (the machine's own max-wait timer sent it on) leaves it first."""
        if call_uuid in self._callers:
            self.leave(call_uuid, "requeued")
        try:
            acd_queue = self.layout.queue_for(queue, variables)
        except PlanMappingError:
            # The call runs on a plan a reload has since replaced, and the
            # new one has no such queue: it takes no new callers.
            log.error("call %s: queue %s was removed by a rules reload", call_uuid, queue)
            return False
        caller = _Caller(queue, acd_queue, notify, dict(variables),
                         self.now(), self.layout.priority_for(queue, variables))
        return self._enqueue(call_uuid, caller)

    def _enqueue(self, call_uuid: str, caller: _Caller) -> bool:
        events = self.acd.enqueue(call_uuid, caller.acd_queue, self.now(), priority=caller.priority,
                                  arrival=caller.arrival)
        self.handle(events)
        if any(isinstance(e, Refused) for e in events):
            log.info("call %s: refused by queue %s (nobody serving)", call_uuid, caller.acd_queue)
            return False
        self._callers[call_uuid] = caller
        log.info("call %s: joined queue %s", call_uuid, caller.acd_queue)
        self.wake()
        return True

    def leave(self, call_uuid: str, reason: str = "hangup") -> None:
        """The call leaves: `hangup` (the caller hung up: abandoned, or the
        bridged call is over) or any other reason (max wait, exit key...)."""
        caller = self._callers.pop(call_uuid, None)
        if caller is None:
            return
        now = self.now()
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
            self.handle(events)
        self.wake()

    def status(self, call_uuid: str) -> QueueStatus | None:
        """What a waiting caller may be told (position, conservative wait,
        whether anyone able to serve them is logged in); None once an agent
        is ringing or the call is no longer waiting."""
        caller = self._callers.get(call_uuid)
        if caller is None or caller.offer_id is not None:
            return None
        now = self.now()
        try:
            position = self.acd.announce_position(call_uuid, now)
            wait = self.acd.announce_wait(call_uuid, now)
        except UnknownEntry:
            return None
        staffed = self.acd.is_staffed(caller.acd_queue, now)
        if wait is None:
            return QueueStatus(position, staffed=staffed)
        return QueueStatus(position, str(wait.bucket), wait.minutes, staffed=staffed)

    def book_callback(self, call_uuid: str, number: str) -> str | None:
        """Turn the waiting call into a callback to `number` that keeps its
        place; its id once committed, None when it could not be booked (the
        caller then still waits as before)."""
        caller = self._callers.get(call_uuid)
        if caller is None or caller.offer_id is not None or self.callbacks is None:
            return None
        # Out of the line first, so no agent is offered the call while the
        # booking is written; back in with the same arrival if it fails.
        self.leave(call_uuid, "callback")
        callback_id = self.callbacks.book(call_uuid, caller, number)
        if callback_id is None:
            self._back_in_line(call_uuid, caller)
        return callback_id

    def _back_in_line(self, call_uuid: str, caller: _Caller) -> None:
        """Put a caller who left the line for a moment (a booking or a bridge
        that failed) back at their old place; when the queue now refuses
        them, they go on to its `no_agents`."""
        caller.offer_id = caller.agent_uuid = None
        if not self._enqueue(call_uuid, caller):
            caller.notify(("no_agents", caller.queue))

    def set_agent_state(self, agent_id: str, state: AgentState | str, reason: str = "") -> None:
        """Log an agent in or out, or pause them (for the API and the CLI)."""
        self.handle(self.acd.set_agent_state(agent_id, state, self.now(), reason))
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
        now = self.now()
        self.handle(self.acd.tick(now))
        if not self.inbound.connected:
            return []  # agents cannot be dialled: nobody is offered, nobody penalised
        offers = self.acd.dispatch(now)
        for offer in offers:
            self._ringing[offer.offer_id] = Ringing(offer, str(uuidlib.uuid4()))
            self._spawn(self._ring, offer.offer_id)
        return offers

    def handle(self, events: list) -> None:
        """Act on ACD events (hang up cancelled offers, move callers on) and
        pass them on for statistics."""
        if events and self._on_events is not None:
            self._on_events(events)
        for event in events:
            if isinstance(event, OfferCancelled):
                ringing = self._ringing.get(event.offer_id)
                if ringing is not None:
                    ringing.cancelled = True
                    self.kill(ringing.agent_uuid)
            elif isinstance(event, (TimedOut, LeftEmpty)):
                # Out of the ACD, but kept until the runner leaves: a caller
                # in the middle of booking a callback may still book it.
                caller = self._callers.get(event.entry_id)
                if caller is not None:
                    kind = "max_wait" if isinstance(event, TimedOut) else "no_agents"
                    caller.notify((kind, caller.queue))

    # -- one offer ---------------------------------------------------------

    def _ring(self, offer_id: int) -> None:
        """Dial the agent, whisper, then bridge (or dial the callback's
        customer); report a miss so the next agent is tried."""
        ringing = self._ringing[offer_id]
        offer = ringing.offer
        try:
            if self.report(lambda: self.acd.ringing(offer_id, self.now())) is None:
                ringing.cancelled = True
            outcome = None if ringing.cancelled else self._connect_agent(ringing)
            if outcome == "ready" and offer.is_callback and self.callbacks is not None:
                self.callbacks.connect(ringing)
            elif outcome == "ready":
                self._bridge_caller(ringing)
            elif isinstance(outcome, MissReason) and not ringing.cancelled:
                self.report(lambda: self.acd.missed(offer_id, outcome, self.now()))
        finally:
            self._ringing.pop(offer_id, None)
            self.wake()

    def _connect_agent(self, ringing: Ringing) -> str | MissReason | None:
        """Originate the agent's leg and let it hear the whisper: "ready"
        when it is parked and may be bridged, a `MissReason` when the agent
        did not take the call, None when the offer was cancelled meanwhile."""
        offer = ringing.offer
        leg = self.legs.watch(ringing.agent_uuid)
        result = self._originate(ringing)
        if not result.startswith("+OK"):
            self.legs.forget(leg.uuid)
            log.info("agent %s missed call %s: %s", offer.agent_id, offer.entry_id, result.strip())
            return None if ringing.cancelled else miss_reason(result)
        hold_for = self.whisper_timeout + self.command_timeout
        if ringing.cancelled or self.report(
                lambda: self.acd.connecting(offer.offer_id, self.now(), hold_for)) is None:
            self.drop_leg(leg.uuid)
            return None
        state = leg.wait_parked(self.whisper_timeout)
        if ringing.cancelled:
            self.drop_leg(leg.uuid)
            return None
        if state != "parked":
            log.info("agent %s: %s during the whisper for call %s", offer.agent_id, state, offer.entry_id)
            self.drop_leg(leg.uuid)
            if state == "hangup":
                return MissReason.REJECTED
            return MissReason.FAILED if self.inbound.connected else MissReason.LOST
        return "ready"

    def _originate(self, ringing: Ringing) -> str:
        offer = ringing.offer
        context = self._offer_context(offer)
        settings = {
            "origination_uuid": ringing.agent_uuid,
            "origination_caller_id_number": context.get("caller_id_number", ""),
            "fsrouter_queue": offer.queue,
            "fsrouter_caller_uuid": offer.entry_id,
            "originate_timeout": str(max(1, round(offer.ring_timeout))),
            **{f"fsrouter_{k}": v for k, v in context.items() if k in _CONTEXT_VARIABLES},
        }
        whisper = self._whisper(offer, context)
        command = originate_command(settings, offer.dial, [speak(self.tts, whisper)] if whisper else [])
        return self.bgapi_result(command, offer.ring_timeout + self.originate_margin, ringing.agent_uuid)

    def bgapi_result(self, command: str, timeout: float, leg_uuid: str) -> str:
        """Run an originate; its result text, or `-ERR ...` when ESL failed
        (then the leg, which may exist, is hung up rather than left ringing)."""
        try:
            event = self.inbound.bgapi(command, timeout=timeout)
        except ESLError as exc:
            log.warning("originate %s failed: %s", leg_uuid, exc)
            self.kill(leg_uuid)
            return ESL_FAILURE
        body = event.body.decode("utf-8", "replace") if isinstance(event.body, bytes) else str(event.body)
        return body.strip() or "-ERR EMPTY_RESULT"

    def _offer_context(self, offer: Offer) -> Mapping[str, str]:
        """The call's variables, for the agent leg and the whisper."""
        if offer.is_callback and self.callbacks is not None:
            return self.callbacks.context(offer)
        caller = self._callers.get(offer.entry_id)
        return caller.variables if caller is not None else {}

    def _whisper(self, offer: Offer, context: Mapping[str, str]) -> str:
        """The text the agent hears before the bridge ("" for none): the
        rules queue's `whisper`, or its `callback.whisper` for a callback."""
        if offer.is_callback:
            queue = self.plan.queues.get(context.get(RULES_QUEUE, ""))
            template = queue.callback.whisper if queue is not None and queue.callback is not None else None
        else:
            caller = self._callers.get(offer.entry_id)
            queue = self.plan.queues.get(caller.queue) if caller is not None else None
            template = queue.whisper if queue is not None else None
        if template is None:
            return ""
        return template.render({**context, "queue": queue.title, "waited": spoken_wait(offer.waited)})

    def _bridge_caller(self, ringing: Ringing) -> None:
        offer = ringing.offer
        self.legs.forget(ringing.agent_uuid)  # from now on the caller's runner follows the call
        caller = self._callers.get(offer.entry_id)
        if ringing.cancelled or caller is None:
            self.kill(ringing.agent_uuid)  # the caller left while the agent rang
            return
        if self.report(lambda: self.acd.answered(offer.offer_id, self.now())) is None:
            self.kill(ringing.agent_uuid)  # the offer expired meanwhile
            return
        caller.offer_id, caller.agent_uuid = offer.offer_id, ringing.agent_uuid
        # Told first, so the runner sends no more media to a channel about to
        # be bridged (queued media would play inside the bridge).
        caller.notify(("bridging", offer.agent_id))
        if not self.bridge(offer.entry_id, ringing.agent_uuid):
            self._end_call(caller, self.now())  # hangs up the agent leg too
            caller.notify(("bridge_failed", offer.agent_id))
            still_there = self.channel_exists(offer.entry_id)
            if self._callers.get(offer.entry_id) is not caller:
                return  # the caller's runner left meanwhile (checked after every yield)
            if still_there:
                self._back_in_line(offer.entry_id, caller)
            else:
                del self._callers[offer.entry_id]  # the caller is gone: nobody to put back
            return
        caller.bridged = True
        log.info("call %s: bridged to agent %s", offer.entry_id, offer.agent_id)
        caller.notify(("bridged", offer.agent_id))

    def bridge(self, a_uuid: str, b_uuid: str) -> bool:
        try:
            self.inbound.api(f"uuid_bridge {a_uuid} {b_uuid}", timeout=self.command_timeout)
        except ESLError as exc:
            log.warning("bridge of %s to %s failed: %s", a_uuid, b_uuid, exc)
            return False
        return True

    def report(self, report: Callable[[], list]) -> list | None:
        """Tell the ACD about an offer; None when the core no longer has it
        (it expired or was cancelled meanwhile)."""
        try:
            events = report()
        except (UnknownOffer, UnknownEntry):
            return None
        self.handle(events)
        return events

    def _end_call(self, caller: _Caller, now: float) -> None:
        """The answered call is over (or never got bridged): the agent wraps up."""
        if caller.agent_uuid is not None and not caller.bridged:
            self.kill(caller.agent_uuid)
        if caller.offer_id is not None:
            self.call_ended(caller.offer_id)

    def call_ended(self, offer_id: int) -> None:
        try:
            self.handle(self.acd.call_ended(offer_id, self.now()))
        except UnknownOffer:
            pass

    def drop_leg(self, uuid: str) -> None:
        self.legs.forget(uuid)
        self.kill(uuid)

    def channel_exists(self, uuid: str) -> bool:
        """Whether FreeSWITCH still has the channel (True when it cannot be asked)."""
        try:
            return self.inbound.api(f"uuid_exists {uuid}", timeout=self.command_timeout).strip() != "false"
        except ESLError:
            return True

    def kill(self, uuid: str) -> None:
        try:
            self.inbound.api(f"uuid_kill {uuid} ORIGINATOR_CANCEL", timeout=self.command_timeout)
        except ESLError:
            pass  # no such channel (not created yet, or gone): nothing to hang up

    def now(self) -> float:
        """The clock, never going back (the ACD refuses time running backwards)."""
        self._last = max(self._last, self._clock())
        return self._last


_CONTEXT_VARIABLES = frozenset({"brand", "topic", "language", "vip", "line", "destination_number"})
"""Call variables copied onto the agent's leg as `fsrouter_<name>`, so the
agent's phone, CDRs and the dialplan see the call's context."""

