"""The ACD in live calls: one `QueueRuntime` per service (IO, gevent).

The caller is held, agents are dialled beside them: the caller's own runner
keeps playing hold music on the outbound session, while this runtime offers
agents on the inbound connection.  It holds the calls (`join`, `leave`,
`hang_up`, `status`, `book_callback`), runs the dispatcher that applies the
ACD's deadlines and starts its offers, acts on the ACD's events and takes a
rules reload in place (`reconfigure`).  Its two other parts live in modules
of their own and reach it only through the methods their protocols name:

- `offer_driver.OfferDriver` carries each offer out (originate, whisper,
  bridge), driven by the sans-IO `OfferMachine`;
- `switch_sync.SwitchSync` keeps the ACD's view of the agents' phones and of
  the legs left behind true every time the inbound connection comes up.

Both send their commands through one `switch_commands.SwitchCommands`.

All ACD calls happen in this process's greenlets and none of them yields, so
the `InMemoryAcd` needs no lock.  The dispatcher sleeps at most `max_sleep`;
the driver's waits are bounded as its module says.

What `notify` receives are the typed messages of `fsrouter.offer.messages`
(`Bridging`, `Bridged`, `BridgeFailed`, `MaxWait`, `NoAgents`); it is called
from the runtime's greenlets and must not block (put the message in the
runner's queue).

Callbacks (booked, dialled when they reach the head of the line) are the
`CallbackDialer`'s part; agents' phones registering and unregistering are
`AgentPresence`'s.  A rules reload calls `reconfigure`: the ACD takes the
new queues and agents in place, and whispers and callback settings are read
from the new plan for every offer from then on.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping

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
    UnknownEntry,
    UnknownOffer,
    UnknownQueue,
)
from fsrouter.acd.events import Recorded
from fsrouter.acd.from_plan import AcdPlan, PlanMappingError, from_plan
from fsrouter.acd.memory import Layout
from fsrouter.esl.codec import Event
from fsrouter.flow.events import QueueStatus
from fsrouter.logs import fields
from fsrouter.offer.messages import MaxWait, NoAgents
from fsrouter.runtime import orphan_legs
from fsrouter.runtime.agent_presence import AgentPresence, Changes, tracked_user
from fsrouter.runtime.callers import Caller, Notify
from fsrouter.runtime.legs import Legs
from fsrouter.runtime.offer_driver import OfferDriver
from fsrouter.runtime.switch_commands import SwitchCommands
from fsrouter.runtime.switch_sync import SwitchSync
from fsrouter.runtime.transfers import TransferDesk

log = logging.getLogger(__name__)


class QueueRuntime:
    """Holds the service's ACD and drives it: join/leave from calls, dispatch, originate."""

    def __init__(
        self,
        plan,
        inbound,
        *,
        clock: Callable[[], float] = time.time,
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
        and must pass its events to `on_event`.  Agents start logged out
        (the service's `AgentDesk` logs them in as chosen or as the rules
        say); `tts` is the `engine|voice` whispers are spoken with; `on_events`
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
        self.callbacks = None
        """The `CallbackDialer`, when the service has a store."""
        self._on_events = on_events
        self._clock = clock
        self._last = clock()
        self.max_sleep = max_sleep
        self.originate_margin = originate_margin
        self.whisper_timeout = whisper_timeout
        self._group = gevent.pool.Group()
        self._wake = gevent.event.Event()
        self._callers: dict[str, Caller] = {}
        self._dispatcher: gevent.Greenlet | None = None
        self.switch = SwitchCommands(inbound, self.legs, command_timeout)
        """The commands sent to the switch (also the `CallbackDialer`'s)."""
        self.sync = SwitchSync(self, self.switch, self.instance, spawn=self._group.spawn)
        self.offers = OfferDriver(self, self.switch, self.sync, self.legs, instance=self.instance, tts=tts,
                                  originate_margin=originate_margin, max_sleep=max_sleep,
                                  spawn=spawn or self._group.spawn)
        self.transfers = TransferDesk(self)
        """Warm transfers of bridged calls (`transfer_call`, the agents' feature codes)."""
        self.surveys = None
        """Where post-call survey answers are stored (the service's store), if anywhere."""

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
            self.sync.reread_registrations()
        self.wake()

    def _reconfigured(self, events: list, untracked: Changes) -> None:
        self.handle(events)
        self.sync.apply(untracked, "reload")
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
            log.info("call %s: moves from %s to %s (rules reloaded)", call_uuid, caller.acd_queue, target,
                     extra=fields(call=call_uuid, queue=target))
            caller.acd_queue = target
            self.back_in_line(call_uuid, caller)

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
        if self.legs.on_event(event) or self.transfers.on_event(event):
            return
        self.sync.apply(self.presence.on_event(event), "sofia event")

    def on_connected(self) -> None:
        """The inbound connection is up (again): see `SwitchSync.on_connected`."""
        self.sync.on_connected()

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
            log.error("call %s: queue %s was removed by a rules reload", call_uuid, queue,
                      extra=fields(call=call_uuid, queue=queue))
            return False
        caller = Caller(queue, acd_queue, notify, dict(variables),
                         self.now(), self.layout.priority_for(queue, variables))
        return self._enqueue(call_uuid, caller)

    def _enqueue(self, call_uuid: str, caller: Caller) -> bool:
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
                log.info("call %s: queue %s was removed by a rules reload", call_uuid, caller.queue,
                         extra=fields(call=call_uuid, queue=caller.queue))
                return False
            events = self.acd.enqueue(call_uuid, caller.acd_queue, self.now(), priority=caller.priority,
                                      arrival=caller.arrival)
        self.handle(events)
        if any(isinstance(e, Refused) for e in events):
            log.info("call %s: refused by queue %s (nobody serving)", call_uuid, caller.acd_queue,
                     extra=fields(call=call_uuid, queue=caller.acd_queue))
            return False
        self._callers[call_uuid] = caller
        log.info("call %s: joined queue %s", call_uuid, caller.acd_queue,
                 extra=fields(call=call_uuid, queue=caller.acd_queue))
        self.wake()
        return True

    def leave(self, call_uuid: str, reason: str) -> None:
        """The call moves on out of the queue (max wait, exit key, a
        callback booked...): `reason` is recorded with its removal."""
        self._leave(call_uuid, lambda now: self.acd.remove(call_uuid, now, reason))

    def recorded(self, call_uuid: str, path: str) -> None:
        """The caller's bridged call is recorded into `path`: stored with its statistics."""
        caller = self._callers.get(call_uuid)
        if caller is not None:
            self.handle([Recorded(entry_id=call_uuid, queue=caller.acd_queue, at=self.now(), path=path)])

    def hang_up(self, call_uuid: str) -> None:
        """The caller hung up: abandoned while waiting, or the bridged call is over."""
        self._leave(call_uuid, lambda now: self.acd.abandon(call_uuid, now))

    def _leave(self, call_uuid: str, take_out: Callable[[float], list]) -> None:
        caller = self._callers.pop(call_uuid, None)
        if caller is None:
            return
        if caller.held_over is not None:  # an attended transfer under way: the first agent goes too
            self.switch.kill(caller.held_over.agent_uuid)
        if caller.offer_id is not None:
            self.offers.end_call(caller.offer)
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
            log.exception("call %s: booking a callback failed; back in line", call_uuid,
                          extra=fields(call=call_uuid, queue=caller.acd_queue))
            callback_id = None
        if callback_id is None:
            self.back_in_line(call_uuid, caller)
        return callback_id

    def back_in_line(self, call_uuid: str, caller: Caller) -> None:
        """Put a caller who left the line for a moment (a booking or a bridge
        that failed) back at their old place; when the queue now refuses
        them, they go on to its `no_agents`."""
        caller.offer = None
        if not self._enqueue(call_uuid, caller):
            caller.notify(NoAgents(caller.queue))

    def transfer_call(self, call_uuid: str, queue: str, note: str = "", attended: bool = False) -> str:
        """Send the bridged call `call_uuid` on to rules queue `queue` with
        `note` for the next agent's whisper (for the admin API); `attended`:
        the agent stays on until the next one answers.  The queue it goes to
        (over the transfer cap, the `over_cap` queue).
        `transfers.TransferRefused` when it cannot be (the call keeps its agent)."""
        return self.transfers.transfer(call_uuid, queue, note, attended=attended)

    def record_survey(self, call_uuid: str, queue: str, agent_id: str, answers) -> None:
        """Store a post-call survey's answers ((question, score) each);
        logged and dropped when there is no store or it fails (the caller is
        not kept waiting for it)."""
        if self.surveys is None:
            log.info("call %s: survey answers %s not stored (no store)", call_uuid, answers)
            return
        try:
            self.surveys.record_survey(call_uuid, queue, agent_id, answers, self.now())
        except Exception:  # a store fault costs the answers, never the call
            log.exception("call %s: storing the survey answers failed", call_uuid, extra=fields(call=call_uuid))

    def call_of_agent_leg(self, agent_uuid: str) -> str | None:
        """The call whose answered agent leg is `agent_uuid`, if this runtime holds it."""
        return next((uuid for uuid, c in self._callers.items()
                     if c.offer is not None and c.offer.agent_uuid == agent_uuid), None)

    def spawn(self, function, *args) -> None:
        """Run `function` in one of the runtime's greenlets."""
        self._group.spawn(function, *args)

    def caller(self, entry_id: str) -> Caller | None:
        """The call `entry_id` while this runtime holds it (for the offer driver)."""
        return self._callers.get(entry_id)

    def forget_caller(self, entry_id: str) -> None:
        """The caller is gone: nobody to put back in line."""
        self._callers.pop(entry_id, None)

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
        if not self.inbound.connected or self.sync.holding:
            return []  # agents cannot be dialled: nobody is offered, nobody penalised
        offers = self.acd.dispatch(now)
        for offer in offers:
            self.offers.begin(offer, self.whisper_timeout)
        return offers

    def handle(self, events: list) -> None:
        """Act on ACD events (hang up cancelled offers, move callers on) and
        pass them on for statistics."""
        if events and self._on_events is not None:
            self._on_events(events)
        for event in events:
            if isinstance(event, OfferCancelled):
                self.offers.cancel(event.offer_id, event.reason)
            elif isinstance(event, (TimedOut, LeftEmpty)):
                # Out of the ACD, but kept until the runner leaves: a caller
                # in the middle of booking a callback may still book it.
                caller = self._callers.get(event.entry_id)
                if caller is not None:
                    message = MaxWait if isinstance(event, TimedOut) else NoAgents
                    caller.notify(message(caller.queue))

    def owned_legs(self) -> set[str]:
        """The uuids of the legs this runtime originated and still answers
        for: agent legs of offers under way and of answered calls not yet
        over, and the legs being watched (callback customers among them)."""
        answered = {c.offer.agent_uuid for c in self._callers.values() if c.offer is not None and c.offer.holds_leg}
        return self.offers.held_legs() | answered | self.legs.watched()

    def report(self, report: Callable[[], list]) -> list | None:
        """Tell the ACD about an offer; None when the core no longer has it
        (it expired or was cancelled meanwhile)."""
        try:
            events = report()
        except (UnknownOffer, UnknownEntry):
            return None
        self.handle(events)
        return events

    def call_ended(self, offer_id: int) -> None:
        try:
            self.handle(self.acd.call_ended(offer_id, self.now()))
        except UnknownOffer:
            pass

    def now(self) -> float:
        """The clock, never going back (the ACD refuses time running backwards)."""
        self._last = max(self._last, self._clock())
        return self._last
