"""The ACD in live calls: one `QueueRuntime` per service (IO, gevent).

The caller is held, agents are dialled beside them: the caller's own runner
keeps playing hold music on the outbound session, while this runtime
originates each offered agent on the inbound connection.  The agent's leg
says the queue's whisper (text to speech, heard by the agent only) and
parks; only then is it bridged to the caller, and the caller's runner told
through `notify`.  An agent who does not answer, or hangs up during the
whisper, costs the caller nothing but time: the miss is reported, the caller
keeps their place and the next agent is tried.

What happens to an offer is decided by its sans-IO `OfferMachine`
(fsrouter/offer/machine.py, drawn in docs/offer.md); this runtime only
feeds it events (originate results, the leg's park or hang-up, the whisper
deadline, the ACD cancelling the offer, the caller leaving) and carries out
its commands (`_performers`).

All ACD calls happen in this process's greenlets and none of them yields, so
the `InMemoryAcd` needs no lock.  Every wait is bounded: the dispatcher
sleeps at most `max_sleep`, an originate at most its ring timeout plus
`originate_margin`, a whisper at most `whisper_timeout`, every `api` at most
`command_timeout`.

What `notify` receives are the typed messages of `fsrouter.offer.messages`
(`Bridging`, `Bridged`, `BridgeFailed`, `MaxWait`, `NoAgents`); it is called
from the runtime's greenlets and must not block (put the message in the
runner's queue).

Callbacks (booked, dialled when they reach the head of the line) are the
`CallbackDialer`'s part; agents' phones registering and unregistering are
`AgentPresence`'s.  Every time the inbound connection comes up,
`on_connected` reads the switch's registrations and hangs up the legs an
earlier connection or run left behind (`orphan_legs`) before anyone is
dialled again.
A rules reload calls `reconfigure`: the ACD takes the
new queues and agents in place, and whispers and callback settings are read
from the new plan for every offer from then on.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid as uuidlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import gevent
import gevent.event
import gevent.pool

from fsrouter.acd import (
    AgentState,
    InMemoryAcd,
    LeftEmpty,
    Offer,
    OfferCancelled,
    Refused,
    TimedOut,
    UnknownAgent,
    UnknownEntry,
    UnknownOffer,
    UnknownQueue,
)
from fsrouter.acd.from_plan import AcdPlan, PlanMappingError, from_plan
from fsrouter.runtime import orphan_legs
from fsrouter.runtime.agent_presence import (
    REGISTRATIONS,
    AgentPresence,
    Changes,
    refused_unregistered,
    tracked_user,
)
from fsrouter.acd.memory import Layout
from fsrouter.acd.model import MissReason
from fsrouter.runtime.callback_dialer import RULES_QUEUE
from fsrouter.esl.codec import Event
from fsrouter.esl.errors import ESLConnectionClosed, ESLError, ESLTimeout
from fsrouter import fsvalues
from fsrouter.runtime.switch_tables import ShowError
from fsrouter.runtime.legs import ESL_FAILURE, Legs, miss_reason, originate_command, speak, spoken_wait
from fsrouter.flow.events import QueueStatus
from fsrouter.offer.machine import (
    AttachCall,
    BackInLine,
    Bridge,
    BridgeError,
    BridgeOk,
    BridgeUnknown,
    CallbackDone,
    CallerGone,
    CallerLeft,
    CallerThere,
    Cancelled,
    CheckCaller,
    ConnectCallback,
    ConnectionLost,
    ForgetCaller,
    ForgetLeg,
    KillLeg,
    LegHungUp,
    LegParked,
    NotifyCaller,
    OfferMachine,
    OfferState,
    Originate,
    OriginateFailed,
    OriginateOk,
    Report,
    Reported,
    ReportToAcd,
    Start,
    Timeout,
    VerifyBridge,
    WatchLeg,
)
from fsrouter.offer.messages import BridgeFailed, MaxWait, Message, NoAgents

log = logging.getLogger(__name__)

Notify = Callable[[Message], None]

@dataclass
class _Caller:
    """A call this runtime holds: waiting, being offered, or bridged."""

    queue: str
    acd_queue: str
    notify: Notify
    variables: Mapping[str, str]
    arrival: float
    priority: int
    offer: OfferMachine | None = None
    """Set once an agent answered: from then on the ACD counts a call in progress."""
    bookings: int = 0
    """Callback bookings tried from this call: each has its own idempotency key."""

    @property
    def offer_id(self) -> int | None:
        return self.offer.offer.offer_id if self.offer is not None else None


@dataclass
class Ringing:
    """An offer being carried out by its greenlet; `woken` interrupts its
    wait for the agent's leg (the offer was cancelled)."""

    machine: OfferMachine
    connection: int
    """`QueueRuntime.connections` when the offer began: a reconnect since
    means the leg's events may have been lost with the old connection."""
    woken: gevent.event.Event = field(default_factory=gevent.event.Event)


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
        instance: str | None = None,
        layout: AcdPlan | None = None,
        compiled: Layout | None = None,
    ) -> None:
        """`plan` is a compiled rules plan; `inbound` has `bgapi(cmd,
        timeout)` returning an event with `.body` and `api(cmd, timeout)`,
        and must pass its events to `on_event`.  `login_all` makes every
        agent available at once (until agents log in through the API);
        `tts` is the `engine|voice` whispers are spoken with; `on_events`
        receives every list of ACD events (statistics); `spawn` runs offer
        greenlets (tests pass one that runs them inline); `instance` names
        this fsrouter on the legs it originates (default: the host name; see
        `orphan_legs`); `layout` and `compiled` as for `reconfigure` (the
        service has them from `reload.prepare`)."""
        self.plan = plan
        """The current plan: whispers and callback settings come from it."""
        self.layout: AcdPlan = from_plan(plan) if layout is None else layout
        self.acd = InMemoryAcd(self.layout.queues, self.layout.agents, compiled=compiled)
        self.inbound = inbound
        self.legs = Legs()
        self.presence = AgentPresence(self.layout.agents)
        self.instance = orphan_legs.instance_id(instance or socket.gethostname())
        self.connections = 0
        """How many times the inbound connection has come up (`on_connected`)."""
        self._reads = 0
        """Reads of the switch under way (`on_connected`, a reload's
        registrations read): nobody is dialled until all are done."""
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
        self._reports = {
            Report.RINGING: lambda offer_id, c: self.acd.ringing(offer_id, self.now()),
            Report.CONNECTING: lambda offer_id, c: self.acd.connecting(offer_id, self.now(), c.hold_for),
            Report.ANSWERED: lambda offer_id, c: self.acd.answered(offer_id, self.now()),
            Report.MISSED: lambda offer_id, c: self.acd.missed(offer_id, c.reason, self.now()),
        }
        self._performers = {
            ReportToAcd: self._perform_report, Originate: self._perform_originate,
            WatchLeg: lambda m, c: self.legs.watch(c.uuid),
            ForgetLeg: lambda m, c: self.legs.forget(c.uuid), KillLeg: lambda m, c: self.kill(c.uuid),
            AttachCall: self._perform_attach, NotifyCaller: self._perform_notify,
            Bridge: self._perform_bridge, VerifyBridge: self._perform_verify, CheckCaller: self._perform_check,
            BackInLine: self._perform_back_in_line, ForgetCaller: self._perform_forget_caller,
            ConnectCallback: self._perform_callback,
        }
        """How each of the offer machine's commands is carried out; for a
        command that `awaits_result`, the performer returns the result as the
        machine's next event."""
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
        users = {agent.id: tracked_user(agent.dial) for agent in self.layout.agents}
        presence = AgentPresence(layout.agents, follows=self.presence)
        events = self.acd.reconfigure(layout.queues, layout.agents, self.now(),  # the last that may raise
                                      compiled=compiled)
        self.plan, self.layout, self.presence = plan, layout, presence
        events += self._log_in_new(layout.agents, users)
        # An agent whose dial string no longer needs a registration is
        # reachable whatever their old phone did.
        untracked = [(a.id, True) for a in layout.agents if users.get(a.id) and not presence.tracks(a.id)]
        # Acted on in a greenlet of its own: hanging up a cancelled offer's
        # leg is IO, which yields, and nothing may run before the caller
        # (`PlanHolder.reload`) has swapped the new plan in for new calls.
        self._group.spawn(self._reconfigured, events, untracked)
        log.info("queues reconfigured: %d queues, %d agents", len(layout.queues), len(layout.agents))
        # One added, or whose phone is another user now, is not known to be
        # registered: ask the switch before anyone dials them.
        if self.inbound.connected and any(presence.tracks(a.id) and tracked_user(a.dial) != users.get(a.id)
                                          for a in layout.agents):
            self._reads += 1  # at once: the dispatcher may step before the greenlet starts
            self._group.spawn(self._holding_dial, self._read_registrations)
        self.wake()

    def _reconfigured(self, events: list, untracked: Changes) -> None:
        self.handle(events)
        self._presence(untracked, "reload")
        self._follow_the_new_queues()

    def _follow_the_new_queues(self) -> None:
        """Waiting callers whose ACD queue the reload retired move, at their
        old place (arrival and priority kept), to the queue the new rules map
        them to: a retired queue keeps its old requirements, which nobody may
        meet now (the last German speaker gone, billing[language=de] is
        served by nobody, while billing may serve the caller).  Callers whose
        rules queue is gone stay where they are until served or timed out."""
        kept = {queue.name for queue in self.layout.queues}
        for call_uuid, caller in list(self._callers.items()):
            if caller.offer is not None or caller.acd_queue in kept:
                continue
            try:
                target = self.layout.queue_for(caller.queue, caller.variables)
            except PlanMappingError:
                continue
            self.leave(call_uuid, "requeued")
            log.info("call %s: moves from %s to %s (rules reloaded)", call_uuid, caller.acd_queue, target)
            caller.acd_queue = target
            self._back_in_line(call_uuid, caller)

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

    @property
    def greenlets(self) -> int:
        """The runtime's live greenlets (dispatcher, callback sync, offers): O(1)."""
        return len(self._group)

    def wake(self) -> None:
        """Something changed (a report, a join): dispatch without waiting for the next deadline."""
        self._wake.set()

    def on_event(self, event: Event) -> None:
        """Every event of the inbound socket (called in its dispatcher greenlet,
        one event at a time: must not block)."""
        if self.legs.on_event(event):
            return
        self._presence(self.presence.on_event(event), "sofia event")

    def on_connected(self) -> None:
        """The inbound connection is up (again): learn which phones are
        registered and hang up the legs left over from before, then let the
        dispatcher dial (it waits for this, so nobody is dialled on a stale
        view, nor while their orphaned leg still holds them)."""
        self.connections += 1
        self._reads += 1
        self._holding_dial(self._read_registrations, self._sweep_orphans)

    def _holding_dial(self, *steps: Callable[[], None]) -> None:
        """Run `steps`, then end the hold the caller took (`_reads += 1`):
        the dispatcher dials nobody until every read under way has ended
        (see `step`), so a reload's read ending first does not let it dial
        while a reconnect's sweep has yet to hang the orphaned legs up."""
        try:
            for run in steps:
                run()
        finally:
            self._reads -= 1
            self.wake()

    def _read_registrations(self) -> None:
        mark = self.presence.mark()
        try:
            body = self.inbound.api(REGISTRATIONS, self.command_timeout)
            # The presence now, not the one asked with: a reload may have
            # replaced it meanwhile (and carried the mark's count over).
            changes = self.presence.on_registrations(body, mark)
        except (ESLError, ShowError) as exc:
            log.warning("could not read the registrations (%s): phones are known from sofia events only", exc)
            return
        self._presence(changes, "registrations")

    def _presence(self, changes: Changes, source: str) -> None:
        """Make the ACD's view of the agents' phones what `changes` say."""
        now = self.now()
        for agent_id, reachable in changes:
            try:
                if self.acd.agent_status(agent_id).reachable is reachable:
                    continue
            except UnknownAgent:
                continue  # a reload removed the agent while the switch was asked
            log.info("agent %s: phone %s (%s)", agent_id, "registered" if reachable else "not registered", source)
            report = self.acd.agent_reachable if reachable else self.acd.agent_unreachable
            self.handle(report(agent_id, now))
            self.wake()

    def _sweep_orphans(self) -> None:
        try:
            body = self.inbound.api(orphan_legs.listing(self.instance), self.command_timeout)
            orphans = orphan_legs.orphans(body, self.instance, self.owned_legs())
        except (ESLError, ShowError) as exc:
            log.warning("could not list the legs left over from before (%s); none hung up", exc)
            return
        for uuid in orphans:
            log.warning("leg %s: originated by this fsrouter, owned by no call: hung up", uuid)
            self.kill(uuid)

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
        try:
            events = self.acd.enqueue(call_uuid, caller.acd_queue, self.now(), priority=caller.priority,
                                      arrival=caller.arrival)
        except UnknownQueue:
            # Back in line after a reload retired the ACD queue the caller
            # waited in (a variant like billing[language=de] lasts only while
            # some agent holds its skill): the queue the plan maps them to now.
            try:
                caller.acd_queue = self.layout.queue_for(caller.queue, caller.variables)
            except PlanMappingError:
                log.info("call %s: queue %s was removed by a rules reload", call_uuid, caller.queue)
                return False
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

    def leave(self, call_uuid: str, reason: str) -> None:
        """The call moves on out of the queue (max wait, exit key, a
        callback booked...): `reason` is recorded with its removal."""
        self._leave(call_uuid, lambda now: self.acd.remove(call_uuid, now, reason))

    def hang_up(self, call_uuid: str) -> None:
        """The caller hung up: abandoned while waiting, or the bridged call is over."""
        self._leave(call_uuid, lambda now: self.acd.abandon(call_uuid, now))

    def _leave(self, call_uuid: str, take_out: Callable[[float], list]) -> None:
        caller = self._callers.pop(call_uuid, None)
        if caller is None:
            return
        if caller.offer_id is not None:
            self._end_call(caller)
        else:
            try:
                events = take_out(self.now())
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
        caller.bookings += 1
        try:
            callback_id = self.callbacks.book(call_uuid, caller, number)
        except Exception:  # whatever went wrong, the caller keeps their place
            log.exception("call %s: booking a callback failed; back in line", call_uuid)
            callback_id = None
        if callback_id is None:
            self._back_in_line(call_uuid, caller)
        return callback_id

    def _back_in_line(self, call_uuid: str, caller: _Caller) -> None:
        """Put a caller who left the line for a moment (a booking or a bridge
        that failed) back at their old place; when the queue now refuses
        them, they go on to its `no_agents`."""
        caller.offer = None
        if not self._enqueue(call_uuid, caller):
            caller.notify(NoAgents(caller.queue))

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
        if not (self.inbound.connected and self._reads == 0):
            return []  # agents cannot be dialled: nobody is offered, nobody penalised
        offers = self.acd.dispatch(now)
        for offer in offers:
            machine = OfferMachine(offer, str(uuidlib.uuid4()),
                                   callback=offer.is_callback and self.callbacks is not None,
                                   whisper_timeout=self.whisper_timeout,
                                   hold_for=self.whisper_timeout + self.command_timeout)
            self._ringing[offer.offer_id] = Ringing(machine, self.connections)
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
                    self._carry_out(ringing.machine, Cancelled(event.reason))
                    ringing.woken.set()
            elif isinstance(event, (TimedOut, LeftEmpty)):
                # Out of the ACD, but kept until the runner leaves: a caller
                # in the middle of booking a callback may still book it.
                caller = self._callers.get(event.entry_id)
                if caller is not None:
                    message = MaxWait if isinstance(event, TimedOut) else NoAgents
                    caller.notify(message(caller.queue))

    # -- one offer ---------------------------------------------------------

    def _ring(self, offer_id: int) -> None:
        """Carry out one offer's machine until it waits no more: dial the
        agent, whisper, then bridge (or the callback dialer's part); the
        machine says when to report a miss, so the next agent is tried."""
        ringing = self._ringing[offer_id]
        try:
            self._carry_out(ringing.machine, Start())
            while ringing.machine.awaits_leg:
                event = self._leg_news(ringing)
                if event is not None:
                    self._carry_out(ringing.machine, event)
        except Exception:  # a bug: neither the agent's leg nor the caller is left hanging
            offer = ringing.machine.offer
            log.exception("offer %d (agent %s, call %s) failed in state %s; given up",
                          offer_id, offer.agent_id, offer.entry_id, ringing.machine.state)
            try:
                self._give_up(ringing.machine)
            except Exception:
                log.exception("offer %d could not be given up", offer_id)
        finally:
            self._ringing.pop(offer_id, None)
            self.wake()

    def _give_up(self, machine: OfferMachine) -> None:
        """End an offer whose carrying out failed midway, whatever it had
        got to: the agent's leg hung up, the ACD told (before the answer a
        miss that costs the agent nothing and keeps the caller's place,
        after it the call is over), and a caller answered but not bridged
        put back in line.  A bridged call goes on: the caller's leaving ends it."""
        if machine.state is OfferState.BRIDGED:
            return
        offer = machine.offer
        if machine.holds_leg:
            self.drop_leg(machine.agent_uuid)
        try:
            self.handle(self.acd.missed(offer.offer_id, MissReason.LOST, self.now()))
            return
        except UnknownOffer:  # answered (or already over)
            self.call_ended(offer.offer_id)
        caller = self._callers.get(offer.entry_id)
        if (machine.state in _ANSWERED_UNBRIDGED and caller is not None and caller.offer in (None, machine)
                and not self.acd.has_entry(offer.entry_id)):
            if machine.state in (OfferState.BRIDGING, OfferState.VERIFYING):  # told `Bridging`: their runner waits
                caller.notify(BridgeFailed(offer.agent_id))
            self._back_in_line(offer.entry_id, caller)

    def _leg_news(self, ringing: Ringing):
        """Wait for the agent's leg to park or hang up, or for the whisper's
        deadline; None when woken for another reason (the offer was cancelled)."""
        machine = ringing.machine
        leg = self.legs.get(machine.agent_uuid)
        if leg is None:
            return LegHungUp("not watched")  # dropped meanwhile: nothing to wait for
        ringing.woken.clear()
        state = leg.wait_parked(max(0.0, machine.deadline - self.now()), interrupt=ringing.woken)
        if state == "parked":
            return LegParked()
        if state == "hangup":
            event = LegHungUp(leg.hung_up.get())
        elif self.now() >= machine.deadline or not ringing.woken.is_set():
            # The park may have come while the connection was down: not the agent's doing.
            connected = self.inbound.connected and self.connections == ringing.connection
            event = Timeout() if connected else ConnectionLost()
        else:
            return None
        offer = machine.offer
        log.info("agent %s: %s during the whisper for call %s",
                 offer.agent_id, "hangup" if isinstance(event, LegHungUp) else "timeout", offer.entry_id)
        return event

    def _carry_out(self, machine: OfferMachine, event) -> None:
        """Feed `event` and carry out the commands; a command with a result
        (always the last of its batch) feeds that result in turn."""
        commands = machine.feed(event, self.now())
        while commands:
            command = commands.pop(0)
            result = self._performers[type(command)](machine, command)
            if command.awaits_result:
                commands[:0] = machine.feed(result, self.now())

    def _perform_report(self, machine: OfferMachine, command: ReportToAcd):
        offer = machine.offer
        if command.report is Report.CALL_ENDED:
            self.call_ended(offer.offer_id)
            return None  # not awaited: the offer is over either way
        report = self._reports[command.report]
        accepted = self.report(lambda: report(offer.offer_id, command))
        return Reported() if accepted is not None else Cancelled("the ACD no longer has the offer")

    def _perform_originate(self, machine: OfferMachine, command: Originate):
        result = self._originate(machine)
        if result.startswith("+OK"):
            return OriginateOk()
        offer = machine.offer
        log.info("agent %s missed call %s: %s", offer.agent_id, offer.entry_id, result.strip())
        if refused_unregistered(result) and self.presence.tracks(offer.agent_id):
            self._presence([(offer.agent_id, False)], "originate")  # until it registers again
        return OriginateFailed(miss_reason(result), result.strip())

    def _perform_bridge(self, machine: OfferMachine, command: Bridge):
        bridged = self.bridge(command.caller_uuid, command.agent_uuid)
        if bridged is None:
            return BridgeUnknown()
        if not bridged:
            return BridgeError()
        log.info("call %s: bridged to agent %s", command.caller_uuid, machine.offer.agent_id)
        return BridgeOk()

    def _perform_verify(self, machine: OfferMachine, command: VerifyBridge):
        """Wait for the connection to come back, then ask the agent's leg
        whom it is bridged to: `switch_ivr_uuid_bridge` (switch_ivr_bridge.c)
        sets each leg's ``bridge_uuid`` to the other's uuid, and
        ``uuid_getvar`` (mod_commands.c) answers ``_undef_`` when unset,
        ``-ERR No such channel!`` when the leg is gone."""
        question = fsvalues.api_command("uuid_getvar", command.agent_uuid, "bridge_uuid")
        while machine.state is OfferState.VERIFYING:  # the caller leaving ends the wait
            if self.inbound.connected:
                try:
                    answer = self.inbound.api(question, timeout=self.command_timeout).strip()
                except (ESLConnectionClosed, ESLTimeout):
                    answer = None  # lost again: asked once it is back
                except ESLError:
                    answer = ""  # the leg is gone: bridged to nobody
                if answer is not None:
                    bridged = answer == command.caller_uuid
                    log.info("call %s: the bridge to agent %s %s made", command.caller_uuid,
                             machine.offer.agent_id, "was" if bridged else "was not")
                    return BridgeOk() if bridged else BridgeError()
            gevent.sleep(self.max_sleep)
        return BridgeError()  # moot: the offer is over

    def _perform_check(self, machine: OfferMachine, command: CheckCaller):
        return CallerThere() if self.channel_exists(command.uuid) else CallerGone()

    def _perform_notify(self, machine: OfferMachine, command: NotifyCaller) -> None:
        caller = self._callers.get(command.entry_id)
        if caller is not None:
            caller.notify(command.message)

    def _perform_attach(self, machine: OfferMachine, command: AttachCall) -> None:
        caller = self._callers.get(command.entry_id)
        if caller is not None:
            caller.offer = machine

    def _perform_back_in_line(self, machine: OfferMachine, command: BackInLine) -> None:
        caller = self._callers.get(command.entry_id)
        if caller is not None:
            self._back_in_line(command.entry_id, caller)

    def _perform_forget_caller(self, machine: OfferMachine, command: ForgetCaller) -> None:
        self._callers.pop(command.entry_id, None)  # the caller is gone: nobody to put back

    def _perform_callback(self, machine: OfferMachine, command: ConnectCallback):
        self.callbacks.connect(machine)
        return CallbackDone()

    def owned_legs(self) -> set[str]:
        """The uuids of the legs this runtime originated and still answers
        for: agent legs of offers under way and of answered calls not yet
        over, and the legs being watched (callback customers among them)."""
        machines = [r.machine for r in self._ringing.values()]
        machines += [c.offer for c in self._callers.values() if c.offer is not None]
        return {m.agent_uuid for m in machines if m.holds_leg} | self.legs.watched()

    def _originate(self, machine: OfferMachine) -> str:
        offer = machine.offer
        context = self._offer_context(offer)
        settings = {
            "origination_uuid": machine.agent_uuid,
            "origination_caller_id_number": context.get("caller_id_number", ""),
            "fsrouter_queue": offer.queue,
            "fsrouter_caller_uuid": offer.entry_id,
            "originate_timeout": str(max(1, round(offer.ring_timeout))),
            **{f"fsrouter_{k}": v for k, v in context.items() if k in _CONTEXT_VARIABLES},
            **orphan_legs.marker(orphan_legs.AGENT, self.instance),
        }
        whisper = self._whisper(offer, context)
        try:
            command = originate_command(settings, offer.dial, [speak(self.tts, whisper)] if whisper else [])
        except fsvalues.UnsafeValue as exc:
            log.error("agent %s not dialled: %s", offer.agent_id, exc)
            return "-ERR INVALID_DIAL_STRING"
        return self.bgapi_result(command, offer.ring_timeout + self.originate_margin, machine.agent_uuid)

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

    def bridge(self, a_uuid: str, b_uuid: str) -> bool | None:
        """Whether `uuid_bridge` bridged the two legs; None when no answer
        came (the connection was lost or it timed out): it may have."""
        try:
            self.inbound.api(fsvalues.api_command("uuid_bridge", a_uuid, b_uuid), timeout=self.command_timeout)
        except (ESLConnectionClosed, ESLTimeout) as exc:
            log.warning("bridge of %s to %s: no answer (%s)", a_uuid, b_uuid, exc)
            return None
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

    def _end_call(self, caller: _Caller) -> None:
        """The answered call is over (or never got bridged): the agent wraps up."""
        self._carry_out(caller.offer, CallerLeft())

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
            command = fsvalues.api_command("uuid_exists", uuid)
            return self.inbound.api(command, timeout=self.command_timeout).strip() != "false"
        except ESLError:
            return True

    def kill(self, uuid: str) -> None:
        try:
            self.inbound.api(fsvalues.api_command("uuid_kill", uuid, "ORIGINATOR_CANCEL"),
                             timeout=self.command_timeout)
        except ESLError:
            pass  # no such channel (not created yet, or gone): nothing to hang up

    def now(self) -> float:
        """The clock, never going back (the ACD refuses time running backwards)."""
        self._last = max(self._last, self._clock())
        return self._last


_ANSWERED_UNBRIDGED = frozenset({OfferState.ANSWERING, OfferState.BRIDGING, OfferState.VERIFYING,
                                 OfferState.CHECKING})
"""Offer states in which the caller may be out of line, answered but not bridged."""

_CONTEXT_VARIABLES = frozenset({"brand", "topic", "language", "vip", "line", "destination_number"})
"""Call variables copied onto the agent's leg as `fsrouter_<name>`, so the
agent's phone, CDRs and the dialplan see the call's context."""

