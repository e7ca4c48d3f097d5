"""The single-node ACD: all state in memory, every call synchronous.

Implements `interface.Acd` (the contract and the meaning of each call are
documented there).  How the pieces fit:

* `queues.py` keeps each queue's entries per stage, sorted by the one order
  key (`ordering.py`), and the bit sets of serving agents;
* `agents.py` holds the agent state table; every change goes through
  `_change`, and `_refresh` then re-derives what follows from an agent's
  state: whether it is serving (bit sets, leave_when_empty) and offerable
  (the dispatcher's fresh agents and pools);
* `dispatch.py` pairs entries with agents; `timers.py` holds deadlines.

Every call first applies the deadlines due by `now` (`_advance`), so
decisions are always taken on the current state; what those deadlines caused
is kept for `tick`, which is the only call that returns it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import count
from typing import Any

from fsrouter.acd.agents import BUSY, DEFERRABLE, NEW_IDLE_PERIOD, Agent, next_state
from fsrouter.acd.dispatch import Dispatcher
from fsrouter.acd.errors import (
    AcdError,
    ClockWentBack,
    DuplicateEntry,
    InvalidTransition,
    SpecError,
    UnknownAgent,
    UnknownEntry,
    UnknownOffer,
    UnknownQueue,
)
from fsrouter.acd.events import (
    Abandoned,
    AgentMissed,
    AgentStateChanged,
    Answered,
    CallEnded,
    Event,
    EwtPromise,
    LeftEmpty,
    Offer,
    OfferCancelled,
    Outcome,
    Queued,
    Refused,
    RelaxStepActive,
    Removed,
    TimedOut,
    Transferred,
)
from fsrouter.acd.ewt import Estimate, estimate
from fsrouter.acd.model import AgentSpec, AgentState, MissReason, QueueSpec
from fsrouter.acd.ordering import Competition, order_key, position, position_of
from fsrouter.acd.queues import Entry, QueueState
from fsrouter.acd.skills import Stage, compile_stages, first_stage
from fsrouter.acd.timers import Timers
from fsrouter.acd.views import AgentStatus, EntryStatus, QueueDetail, QueueStatus

OFFER_GRACE = 5.0
"""Seconds past the ring timeout after which an offer nobody reported on is
treated as not answered: a safety net for a lost report, not the ring timeout."""

_OUTSTANDING = (AgentState.RESERVED, AgentState.RINGING)

REMOVED = "removed from the rules"
"""The reason given when a reload logs out an agent it no longer declares."""

@dataclass(frozen=True)
class Layout:
    """Queues and agents checked to run together, with what only their specs decide."""

    queues: Mapping[str, tuple[QueueSpec, tuple[Stage, ...]]]
    """Each queue's spec and compiled stages, by name."""
    agents: tuple[AgentSpec, ...]
    eligibility: Mapping[str, tuple[tuple[str, int], ...]]
    """Agent id -> (queue name, first stage admitting the agent) for each
    queue that ever admits it: the costly part (agents x queues)."""


def compile_layout(queues: Iterable[QueueSpec], agents: Iterable[AgentSpec] = ()) -> Layout:
    """Check that queues and agents can run together (unique names, relax
    steps adding known queues), compile the queues' stages and who each
    admits; `SpecError` otherwise.  Pure, so a reload runs it off the hub,
    before changing anything."""
    specs: dict[str, QueueSpec] = {}
    for spec in queues:
        if spec.name in specs:
            raise SpecError(f"queue {spec.name!r} is declared twice")
        specs[spec.name] = spec
    agents = tuple(agents)
    ids: set[str] = set()
    for agent in agents:
        if agent.id in ids:
            raise SpecError(f"agent {agent.id!r} is declared twice")
        ids.add(agent.id)
    compiled = {name: (spec, compile_stages(spec, specs)) for name, spec in specs.items()}
    eligibility = {}
    for agent in agents:
        firsts = ((name, first_stage(agent.skills, stages)) for name, (_, stages) in compiled.items())
        eligibility[agent.id] = tuple((name, first) for name, first in firsts if first is not None)
    return Layout(compiled, agents, eligibility)


class InMemoryAcd:
    def __init__(self, queues: Iterable[QueueSpec], agents: Iterable[AgentSpec] = (), *,
                 compiled: Layout | None = None) -> None:
        """`compiled` is `compile_layout(queues, agents)` when already made."""
        layout = compile_layout(queues, agents) if compiled is None else compiled
        self._queues = {name: QueueState(spec, stages) for name, (spec, stages) in layout.queues.items()}
        self._retired: dict[str, QueueState] = {}
        """Queues a reload removed, kept while callers still wait in them."""
        self._competition = Competition(self._queues.values())
        self._agents: dict[str, Agent] = {}
        self._entries: dict[str, Entry] = {}
        self._offers: dict[int, Agent] = {}  # outstanding offers and answered calls
        self._timers = Timers()
        self._dispatcher = Dispatcher(self._entries)
        self._due_events: list[Event] = []
        self._now = -math.inf
        self._seq = count()
        self._offer_ids = count(1)
        self._ordinals = count()
        for agent in layout.agents:
            self._add_agent(agent, layout.eligibility[agent.id])

    # -- entries -------------------------------------------------------------

    def enqueue(
        self,
        entry_id: str,
        queue: str,
        now: float,
        *,
        priority: int = 0,
        arrival: float | None = None,
        is_callback: bool = False,
    ) -> list[Event]:
        self._advance(now)
        if entry_id in self._entries:
            raise DuplicateEntry(f"entry {entry_id!r} is already waiting")
        target = self._queue(queue)
        arrival = now if arrival is None else arrival
        if arrival > now:
            raise AcdError(f"entry {entry_id!r}: arrival {arrival} is later than now ({now})")
        if refused := self._refusal(entry_id, target, is_callback, now):
            return [refused]
        entry = Entry(entry_id, arrival, priority, is_callback, next(self._seq))
        self._entries[entry_id] = entry
        self._join(entry, target, now)
        return [
            Queued(
                entry_id=entry_id,
                queue=queue,
                at=now,
                arrival=arrival,
                priority=priority,
                is_callback=is_callback,
            )
        ]

    def transfer(self, entry_id: str, queue: str, now: float) -> list[Event]:
        self._advance(now)
        entry = self._entry(entry_id)
        target = self._queue(queue)
        events: list[Event] = [
            Transferred(
                entry_id=entry_id,
                from_queue=entry.queue.name,
                to_queue=queue,
                at=now,
                waited=now - entry.arrival,
            )
        ]
        events += self._withdraw(entry, now, "transferred")
        if refused := self._refusal(entry_id, target, entry.is_callback, now):
            del self._entries[entry_id]
            events.append(refused)
        else:
            entry.announced = None  # a new line: positions start afresh
            self._join(entry, target, now)
        return events

    def abandon(self, entry_id: str, now: float) -> list[Event]:
        self._advance(now)
        entry = self._entry(entry_id)
        where = position(entry, self._competition)
        return self._finish(entry, Abandoned(**self._left(entry, now), position=where), "abandoned")

    def remove(self, entry_id: str, now: float, reason: str = "") -> list[Event]:
        self._advance(now)
        entry = self._entry(entry_id)
        return self._finish(entry, Removed(**self._left(entry, now), reason=reason), "removed")

    # -- dispatch and what the IO layer reports back -------------------------

    def dispatch(self, now: float) -> list[Offer]:
        self._advance(now)
        offers = []
        while (pair := self._dispatcher.next_pair()) is not None:
            offers.append(self._reserve(*pair, now))
        return offers

    def ringing(self, offer_id: int, now: float) -> list[Event]:
        self._advance(now)
        agent = self._outstanding(offer_id)
        if agent.state is AgentState.RINGING:
            return []
        return [self._change(agent, "ring", now)]

    def connecting(self, offer_id: int, now: float, hold_for: float) -> list[Event]:
        self._advance(now)
        agent = self._outstanding(offer_id)
        self._set_timer(agent, "offer_expires", now + hold_for)
        return []

    def answered(self, offer_id: int, now: float) -> list[Event]:
        self._advance(now)
        agent = self._outstanding(offer_id)
        entry = self._entries[agent.offer.entry_id]
        events: list[Event] = [self._change(agent, "answer", now)]
        agent.calls += 1
        agent.misses = 0
        agent.answered_at = now
        agent.last_queue = entry.queue
        agent.offer_expires = None
        # The agent is on the call now, so finishing the entry cancels nothing.
        return events + self._finish(entry, Answered(**self._left(entry, now), agent_id=agent.id), "answered")

    def missed(self, offer_id: int, reason: MissReason | str, now: float) -> list[Event]:
        self._advance(now)
        return self._miss(self._outstanding(offer_id), MissReason(reason), now)

    def call_ended(self, offer_id: int, now: float) -> list[Event]:
        self._advance(now)
        agent = self._offers.get(offer_id)
        if agent is None or agent.state is not AgentState.ON_CALL:
            raise UnknownOffer(f"offer {offer_id} is not a call in progress")
        del self._offers[offer_id]
        offer, agent.offer = agent.offer, None
        talked = now - agent.answered_at
        agent.talk_time += talked
        ended = CallEnded(entry_id=offer.entry_id, queue=offer.queue, agent_id=agent.id, at=now, talked=talked)
        return [ended, self._change(agent, "hang_up", now, ready_at=now + agent.spec.policy.wrap_up)]

    def tick(self, now: float) -> list[Event]:
        self._advance(now)
        events, self._due_events = self._due_events, []
        return events

    def next_deadline(self) -> float | None:
        return self._timers.next_due()

    # -- what callers hear ---------------------------------------------------

    def position(self, entry_id: str, now: float) -> int:
        self._advance(now)
        return position(self._entry(entry_id), self._competition)

    def announce_position(self, entry_id: str, now: float) -> int:
        self._advance(now)
        entry = self._entry(entry_id)
        current = position(entry, self._competition)
        entry.announced = current if entry.announced is None else min(entry.announced, current)
        return entry.announced

    def estimate_wait(self, entry_id: str, now: float) -> Estimate | None:
        self._advance(now)
        return self._estimate(self._entry(entry_id))

    def announce_wait(self, entry_id: str, now: float) -> Estimate | None:
        self._advance(now)
        entry = self._entry(entry_id)
        result = self._estimate(entry)
        if result is not None:
            entry.promises.append(EwtPromise(at=now, estimate=result))
        return result

    # -- agents (driven by the admin API and phone registrations) ------------

    def upsert_agent(self, spec: AgentSpec, now: float) -> list[Event]:
        self._advance(now)
        agent = self._agents.get(spec.id)
        if agent is None:
            self._add_agent(spec)
            return []
        previous = list(agent.eligibility)
        self._set_present(agent, False)
        self._dispatcher.agent_withdrawn(agent)
        agent.spec = spec
        self._set_eligibility(agent)
        # Queues the agent no longer qualifies for may have lost their last agent.
        return self._refresh(agent, now) + self._leave_empty(previous, now)

    def set_skills(self, agent_id: str, skills: Mapping[str, int], now: float) -> list[Event]:
        return self.upsert_agent(replace(self._agent(agent_id).spec, skills=skills), now)

    def remove_agent(self, agent_id: str, now: float) -> list[Event]:
        self._advance(now)
        agent = self._agent(agent_id)
        if agent.state is not AgentState.LOGGED_OUT:
            raise InvalidTransition(agent_id, agent.state, "remove")
        self._forget(agent)
        return []

    def set_agent_state(self, agent_id: str, state: AgentState | str, now: float, reason: str = "") -> list[Event]:
        self._advance(now)
        agent = self._agent(agent_id)
        state = AgentState(state)
        event = {
            AgentState.AVAILABLE: "login" if agent.state is AgentState.LOGGED_OUT else "resume",
            AgentState.PAUSED: "pause",
            AgentState.LOGGED_OUT: "logout",
        }.get(state)
        if event is None:
            raise InvalidTransition(agent_id, agent.state, f"be set to {state}")
        if agent.state in BUSY:
            agent.pending = (event, reason) if event in DEFERRABLE else None
            return []
        if state is agent.state and state is not AgentState.PAUSED:
            return []
        return [self._change(agent, event, now, reason), *self._refresh(agent, now)]

    def agent_unreachable(self, agent_id: str, now: float) -> list[Event]:
        self._advance(now)
        agent = self._agent(agent_id)
        agent.reachable = False
        return self._refresh(agent, now)

    def agent_reachable(self, agent_id: str, now: float) -> list[Event]:
        self._advance(now)
        agent = self._agent(agent_id)
        agent.reachable = True
        return self._refresh(agent, now)

    # -- reconfiguration (a rules reload) ---------------------------------------

    def reconfigure(self, queues: Iterable[QueueSpec], agents: Iterable[AgentSpec], now: float, *,
                    compiled: Layout | None = None) -> list[Event]:
        """See `Acd.reconfigure`; `compiled` is `compile_layout(queues,
        agents)` made beforehand (off the hub: it is the costly part)."""
        self._advance(now)
        layout = compile_layout(queues, agents) if compiled is None else compiled  # raises before any change
        declared = {spec.id: spec for spec in layout.agents}
        # Every queue's pools and serving masks are rebuilt below: all agents
        # out of them at once.
        for agent in self._agents.values():
            agent.present = False
        self._dispatcher.withdraw_all(self._agents.values())
        kept = {**self._retired, **self._queues}
        self._queues, self._retired = {}, {}
        for name, (spec, stages) in layout.queues.items():
            queue = kept.pop(name, None)
            if queue is None:
                self._queues[name] = QueueState(spec, stages)
            else:
                self._queues[name] = queue
                self._refile(queue, spec, stages, now)
        for name, queue in kept.items():
            if queue.size:  # no new joins; its callers stay until served or gone
                self._retired[name] = queue
                self._refile(queue, queue.spec, queue.stages, now)
        self._competition = Competition((*self._queues.values(), *self._retired.values()))
        events: list[Event] = []
        for agent in list(self._agents.values()):
            spec = declared.get(agent.id)
            if spec is None:
                events += self._retire(agent, now)
            else:
                agent.spec = spec
                agent.retiring = False
        for agent in self._agents.values():
            self._set_eligibility(agent, layout.eligibility.get(agent.id, ()))
            events += self._refresh(agent, now)
        for spec in layout.agents:
            if spec.id not in self._agents:
                self._add_agent(spec, layout.eligibility[spec.id])
        # Every offerable agent is fresh again: the dispatcher pairs them
        # with whoever waits (no entry needs marking).
        return events + self._leave_empty((*self._queues.values(), *self._retired.values()), now)

    def _refile(self, queue: QueueState, spec: QueueSpec, stages: tuple[Stage, ...], now: float) -> None:
        """Give a kept queue its new spec and file its entries again, each
        at the stage the new relax steps put it (its max wait stays)."""
        entries = [self._entries[entry_id] for entry_id in queue.entry_ids()]
        queue.respecify(spec, stages)
        for entry in entries:
            entry.key = order_key(entry.arrival, entry.priority, spec, entry.seq, entry.id)
            entry.stage = queue.stage_at(entry.arrival, now)
            queue.add(entry)
            due = queue.relax_due(entry.arrival, entry.stage)
            if due != entry.relax_due:
                self._set_timer(entry, "relax_due", due)

    def _retire(self, agent: Agent, now: float) -> list[Event]:
        """An agent the rules no longer declare: logged out and forgotten at
        once when free, else after its current offer or call and wrap-up."""
        agent.retiring = True
        if agent.state in BUSY:
            return []
        events = [] if agent.state is AgentState.LOGGED_OUT else [self._change(agent, "logout", now, REMOVED)]
        self._forget(agent)
        return events

    def _forget(self, agent: Agent) -> None:
        """Drop a logged-out agent (out of pools and masks already)."""
        agent.ready_at = None  # its pending deadline, if any, goes stale
        for queue in (*self._queues.values(), *self._retired.values()):
            queue.last_turn.pop(agent.id, None)
        del self._agents[agent.id]

    def _drop_if_done(self, queue: QueueState) -> None:
        """A queue a reload removed goes once its last caller has."""
        if queue.size or self._retired.get(queue.name) is not queue:
            return
        del self._retired[queue.name]
        for agent in self._agents.values():
            agent.eligibility.pop(queue, None)
        self._competition = Competition((*self._queues.values(), *self._retired.values()))

    # -- snapshots -------------------------------------------------------------

    def has_entry(self, entry_id: str) -> bool:
        return entry_id in self._entries

    def is_staffed(self, queue: str, now: float) -> bool:
        self._advance(now)
        return self._queue(queue, retired=True).staffed

    def agent_status(self, agent_id: str) -> AgentStatus:
        agent = self._agent(agent_id)
        return AgentStatus(
            agent_id=agent.id,
            name=agent.spec.name,
            state=agent.state,
            reason=agent.reason,
            ready_at=agent.ready_at,
            reachable=agent.reachable,
            pending=agent.pending[0] if agent.pending else None,
            skills=agent.spec.skills,
            calls=agent.calls,
            talk_time=agent.talk_time,
            consecutive_misses=agent.misses,
            offer_id=agent.offer.offer_id if agent.offer else None,
        )

    def queue_status(self, queue: str, now: float) -> QueueStatus:
        self._advance(now)
        state = self._queue(queue, retired=True)
        return self._status(state, now, sum(1 for a in self._agents.values() if a.offerable and state in a.eligibility))

    def queue_names(self) -> list[str]:
        return [*self._queues, *self._retired]

    def queue_detail(self, queue: str, now: float, *, entries: bool = True) -> QueueDetail:
        self._advance(now)
        state = self._queue(queue, retired=True)
        admitted = [a for a in self._agents.values() if state in a.eligibility]
        return self._detail(state, now, entries, admitted)

    def queue_details(self, now: float, *, entries: bool = True) -> list[QueueDetail]:
        self._advance(now)
        admitted: dict[QueueState, list[Agent]] = {q: [] for q in (*self._queues.values(), *self._retired.values())}
        for agent in self._agents.values():  # one pass: agents x the queues each is in, not x every queue
            for state in agent.eligibility:
                if state in admitted:  # (a queue dropped after a reload is out of every agent's already)
                    admitted[state].append(agent)
        return [self._detail(state, now, entries, agents) for state, agents in admitted.items()]

    def _status(self, state: QueueState, now: float, offerable: int) -> QueueStatus:
        arrivals = [self._entries[entry_id].arrival for entry_id in state.entry_ids()]
        return QueueStatus(
            queue=state.name,
            waiting=state.waiting_count,
            ringing=state.size - state.waiting_count,
            serving_agents=state.serving[-1].bit_count(),
            offerable_agents=offerable,
            longest_wait=now - min(arrivals) if arrivals else 0.0,
            handle_time_samples=len(state.handle_times),
        )

    def _detail(self, state: QueueState, now: float, entries: bool, admitted: list[Agent]) -> QueueDetail:
        listed = []
        for entry_id in state.entry_ids() if entries else ():
            entry = self._entries[entry_id]
            where = position(entry, self._competition)
            listed.append(EntryStatus(
                entry_id=entry.id, arrival=entry.arrival, position=where, offered=entry.offer is not None,
                is_callback=entry.is_callback,
                estimate=estimate(where, state.serving[entry.stage].bit_count(), state.handle_times,
                                  state.spec.ewt)))
        listed.sort(key=lambda e: (e.position, e.arrival))
        # A caller joining now at priority 0: after every entry that arrived before.
        joining = position_of((now, math.inf, ""), state, 0, self._competition)  # type: ignore[arg-type]
        return QueueDetail(
            status=self._status(state, now, sum(1 for a in admitted if a.offerable)),
            entries=tuple(listed),
            agent_ids=tuple(a.id for a in admitted),
            estimate=estimate(joining, state.serving[0].bit_count(), state.handle_times, state.spec.ewt),
        )

    # -- internals: lookups ----------------------------------------------------

    def _queue(self, name: str, retired: bool = False) -> QueueState:
        """A queue that may be joined; with `retired`, also one a reload
        removed whose callers still wait."""
        found = self._queues.get(name) or (self._retired.get(name) if retired else None)
        if found is None:
            raise UnknownQueue(f"no queue {name!r}")
        return found

    def _agent(self, agent_id: str) -> Agent:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise UnknownAgent(f"no agent {agent_id!r}") from None

    def _entry(self, entry_id: str) -> Entry:
        try:
            return self._entries[entry_id]
        except KeyError:
            raise UnknownEntry(f"no waiting entry {entry_id!r}") from None

    def _outstanding(self, offer_id: int) -> Agent:
        agent = self._offers.get(offer_id)
        if agent is None or agent.state not in _OUTSTANDING:
            raise UnknownOffer(f"offer {offer_id} is not outstanding")
        return agent

    # -- internals: time ---------------------------------------------------------

    def _advance(self, now: float) -> None:
        if now < self._now:
            raise ClockWentBack(f"now={now} is earlier than {self._now}, already seen")
        self._now = now
        for due, field, subject in self._timers.pop_due(now):
            self._due_events += self._ON_DUE[field](self, subject, due)

    def _set_timer(self, subject: Agent | Entry, field: str, due: float | None) -> None:
        setattr(subject, field, due)
        if due is not None:
            self._timers.schedule(due, field, subject)

    def _on_relax_due(self, entry: Entry, due: float) -> list[Event]:
        queue = entry.queue
        queue.unplace(entry)
        entry.stage += 1
        queue.place(entry)
        self._set_timer(entry, "relax_due", queue.relax_due(entry.arrival, entry.stage))
        if entry.offer is None:
            self._dispatcher.entry_waiting(entry)
        return [RelaxStepActive(entry_id=entry.id, queue=queue.name, at=due, step=entry.stage)]

    def _on_max_wait_due(self, entry: Entry, due: float) -> list[Event]:
        entry.max_wait_due = None
        if entry.offer is not None:
            entry.overdue = True  # an agent is ringing: time out only if they do not answer
            return []
        return self._time_out(entry, due)

    def _on_ready_at(self, agent: Agent, due: float) -> list[Event]:
        if agent.state is AgentState.WRAP_UP:
            agent.last_queue.handle_times.add(due - agent.answered_at)
            return self._free(agent, "wrap_up_over", due)
        agent.ready_at = None  # a miss delay is over
        return self._refresh(agent, due)

    def _on_offer_expires(self, agent: Agent, due: float) -> list[Event]:
        return self._miss(agent, MissReason.NO_ANSWER, due)

    _ON_DUE = {
        "relax_due": _on_relax_due,
        "max_wait_due": _on_max_wait_due,
        "ready_at": _on_ready_at,
        "offer_expires": _on_offer_expires,
    }

    # -- internals: entries ----------------------------------------------------

    def _join(self, entry: Entry, queue: QueueState, now: float) -> None:
        entry.queue = queue
        entry.key = order_key(entry.arrival, entry.priority, queue.spec, entry.seq, entry.id)
        entry.stage = queue.stage_at(entry.arrival, now)
        queue.add(entry)
        self._set_timer(entry, "relax_due", queue.relax_due(entry.arrival, entry.stage))
        if not entry.is_callback:
            self._set_timer(entry, "max_wait_due", now + queue.spec.max_wait)
        self._dispatcher.entry_waiting(entry)

    @staticmethod
    def _refusal(entry_id: str, queue: QueueState, is_callback: bool, now: float) -> Refused | None:
        """join_empty off and nobody serving who could ever take the entry (callbacks are owed)."""
        if is_callback or queue.spec.join_empty or queue.staffed:
            return None
        return Refused(entry_id=entry_id, queue=queue.name, at=now, destination=queue.spec.leave_destination)

    @staticmethod
    def _left(entry: Entry, at: float) -> dict[str, Any]:
        """The fields every outcome event shares."""
        return {
            "entry_id": entry.id,
            "queue": entry.queue.name,
            "at": at,
            "waited": at - entry.arrival,
            "promises": tuple(entry.promises),
        }

    def _withdraw(self, entry: Entry, at: float, reason: str) -> list[Event]:
        """Take the entry out of its queue, cancelling an outstanding offer."""
        entry.queue.discard(entry)
        self._drop_if_done(entry.queue)
        entry.relax_due = entry.max_wait_due = None
        entry.overdue = False
        self._dispatcher.entry_withdrawn(entry)
        offer, entry.offer = entry.offer, None
        if offer is None:
            return []
        agent = self._agents[offer.agent_id]
        if agent.state not in _OUTSTANDING:
            return []  # answered: the offer has become the agent's call
        del self._offers[offer.offer_id]
        agent.offer = None
        agent.offer_expires = None
        cancelled = OfferCancelled(
            offer_id=offer.offer_id, entry_id=entry.id, agent_id=agent.id, at=at, reason=reason
        )
        return [cancelled, *self._free(agent, "cancel", at)]

    def _finish(self, entry: Entry, outcome: Outcome, reason: str) -> list[Event]:
        events = [outcome, *self._withdraw(entry, outcome.at, reason)]
        del self._entries[entry.id]
        return events

    def _time_out(self, entry: Entry, at: float) -> list[Event]:
        destination = entry.queue.spec.max_wait_destination
        return self._finish(entry, TimedOut(**self._left(entry, at), destination=destination), "timed_out")

    def _leave_empty(self, queues: Iterable[QueueState], at: float) -> list[Event]:
        """Send live callers away from queues that nobody able to serve them serves."""
        events: list[Event] = []
        for queue in list(queues):  # a retired queue may be dropped meanwhile
            if queue.spec.leave_when_empty and not queue.staffed:
                destination = queue.spec.leave_destination
                for entry_id in queue.entry_ids():
                    entry = self._entries[entry_id]
                    if not entry.is_callback:
                        left = LeftEmpty(**self._left(entry, at), destination=destination)
                        events += self._finish(entry, left, "left_empty")
        return events

    def _estimate(self, entry: Entry) -> Estimate | None:
        queue = entry.queue
        return estimate(
            position(entry, self._competition),
            queue.serving[entry.stage].bit_count(),
            queue.handle_times,
            queue.spec.ewt,
        )

    # -- internals: agents -----------------------------------------------------

    def _add_agent(self, spec: AgentSpec, eligibility: Iterable[tuple[str, int]] | None = None) -> None:
        agent = Agent(spec, next(self._ordinals))
        self._agents[spec.id] = agent
        self._set_eligibility(agent, eligibility)

    def _set_eligibility(self, agent: Agent, compiled: Iterable[tuple[str, int]] | None = None) -> None:
        """Which queues admit the agent, from which stage: `compiled` gives
        it for the active queues (`Layout.eligibility`), else it is worked
        out; for retired queues it always is (they are few)."""
        agent.eligibility = {}
        if agent.retiring:
            return  # serves nobody any more: it only finishes its call
        if compiled is None:
            computed = self._queues.values()
        else:
            agent.eligibility = {self._queues[name]: first for name, first in compiled}
            computed = ()
        for queue in (*computed, *self._retired.values()):
            first = first_stage(agent.spec.skills, queue.stages)
            if first is not None:
                agent.eligibility[queue] = first

    def _change(
        self, agent: Agent, event: str, at: float, reason: str = "", ready_at: float | None = None
    ) -> AgentStateChanged:
        """Apply one transition of the agent table."""
        old = agent.state
        agent.state = next_state(agent.id, old, event)
        agent.reason = reason if agent.state is AgentState.PAUSED else ""
        self._set_timer(agent, "ready_at", ready_at)
        if event in NEW_IDLE_PERIOD:
            agent.idle_since = at if ready_at is None else ready_at
        if event in ("login", "resume"):
            agent.misses = 0
        return AgentStateChanged(
            agent_id=agent.id, at=at, old=old, new=agent.state, reason=reason or event, ready_at=ready_at
        )

    def _free(
        self,
        agent: Agent,
        event: str,
        at: float,
        reason: str = "",
        ready_at: float | None = None,
        then: tuple[str, str] | None = None,
    ) -> list[Event]:
        """Leave a busy state for available, unless a pending pause or logout
        (or `then`, an auto-pause) takes the agent on; reported as one change."""
        old = agent.state
        change = self._change(agent, event, at, reason, ready_at)
        follow, agent.pending = agent.pending or then, None
        if agent.retiring:
            follow = ("logout", REMOVED)
        if follow is not None:
            change = replace(self._change(agent, follow[0], at, follow[1]), old=old)
        events = [change, *self._refresh(agent, at)]
        if agent.retiring:
            self._forget(agent)
        return events

    def _refresh(self, agent: Agent, at: float) -> list[Event]:
        """Re-derive, after any change, whether the agent serves and can be offered."""
        events: list[Event] = []
        if agent.serving != agent.present:
            self._set_present(agent, agent.serving)
            if not agent.present:
                events = self._leave_empty(agent.eligibility, at)
        if agent.offerable:
            self._dispatcher.agent_offerable(agent)
        else:
            self._dispatcher.agent_withdrawn(agent)
        return events

    def _set_present(self, agent: Agent, present: bool) -> None:
        if agent.present != present:
            agent.present = present
            for queue, first in agent.eligibility.items():
                queue.set_serving(first, agent.bit, present)
            self._competition.changed()

    def _reserve(self, entry: Entry, agent: Agent, now: float) -> Offer:
        queue = entry.queue
        policy = agent.spec.policy
        offer = Offer(
            offer_id=next(self._offer_ids),
            entry_id=entry.id,
            agent_id=agent.id,
            queue=queue.name,
            dial=agent.spec.dial,
            ring_timeout=policy.ring_timeout,
            at=now,
            waited=now - entry.arrival,
            is_callback=entry.is_callback,
            priority=entry.priority,
        )
        queue.unplace(entry)
        entry.offer = offer
        queue.place(entry)
        self._dispatcher.entry_withdrawn(entry)
        queue.take_turn(agent.id)
        self._change(agent, "reserve", now)  # not reported: the Offer is the record
        agent.offer = offer
        self._offers[offer.offer_id] = agent
        self._set_timer(agent, "offer_expires", now + policy.ring_timeout + OFFER_GRACE)
        self._refresh(agent, now)
        return offer

    def _miss(self, agent: Agent, reason: MissReason, at: float) -> list[Event]:
        offer = agent.offer
        entry = self._entries[offer.entry_id]
        held_against_agent = reason.is_agents_doing
        if held_against_agent:
            agent.misses += 1
        events: list[Event] = [
            AgentMissed(
                offer_id=offer.offer_id,
                agent_id=agent.id,
                entry_id=entry.id,
                queue=entry.queue.name,
                at=at,
                reason=reason,
                consecutive=agent.misses,
            )
        ]
        del self._offers[offer.offer_id]
        agent.offer = None
        agent.offer_expires = None
        policy = agent.spec.policy
        delay = policy.delay_after(reason)
        auto_pause = None
        if held_against_agent and policy.max_misses and agent.misses >= policy.max_misses:
            auto_pause = ("pause", f"missed {agent.misses} offers in a row")
        # The entry goes back to waiting with its key unchanged: it keeps its place.
        queue = entry.queue
        queue.unplace(entry)
        entry.offer = None
        queue.place(entry)
        if entry.overdue:
            events += self._time_out(entry, at)
        else:
            self._dispatcher.entry_waiting(entry)
        ready_at = at + delay if delay else None
        # A miss that is not the agent's doing frees the agent as a cancelled
        # offer does: without starting a new idle period, so it keeps its turn.
        event = "miss" if held_against_agent else "cancel"
        return events + self._free(agent, event, at, reason, ready_at, then=auto_pause)
