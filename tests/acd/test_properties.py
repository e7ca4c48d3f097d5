"""Property tests of dispatch against a reference model kept by the test.

The model re-derives, from the specs and the reported events only, each
entry's order key and current relaxation stage and which agents admit it;
it does not use the ACD's indexes.  Against it, after every dispatch:

* no offer goes to an agent the entry's current (relaxed) requirement refuses;
* no agent is booked twice (in one dispatch, or while holding an offer or a call);
* every offer respects the ordering: its agent admits no waiting entry with a
  smaller key, and no offerable agent is left beside an entry it admits;
* announced positions never rise.

And separately: positions order entries exactly as dispatch serves them.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from fsrouter.acd import (
    AgentMissed,
    AgentPolicy,
    AgentSpec,
    AgentState,
    InMemoryAcd,
    Offer,
    OfferCancelled,
    Outcome,
    Queued,
    RelaxStep,
    Strategy,
)

from fsrouter.acd.memory import compile_layout

from .helpers import agent, queue

SKILLS = ("a", "b", "c")
levels = st.sampled_from([2, 4, 6, 8, 10])  # around the thresholds below


@st.composite
def queue_specs(draw):
    count = draw(st.integers(1, 3))
    specs = []
    for number in range(count):
        require = draw(st.dictionaries(st.sampled_from(SKILLS), st.sampled_from([3, 5, 7, 9]), min_size=1, max_size=2))
        steps, current, after = [], dict(require), 0.0
        for _ in range(draw(st.integers(0, 2))):
            after += draw(st.sampled_from([10.0, 30.0, 60.0]))
            skill = draw(st.sampled_from(sorted(current))) if current else None
            kind = draw(st.sampled_from(["lower", "drop", "add"]))
            if kind == "lower" and skill and current[skill] > 1:
                current[skill] = draw(st.integers(1, current[skill] - 1))
                steps.append(RelaxStep(after, require={skill: current[skill]}))
            elif kind == "drop" and skill:
                del current[skill]
                steps.append(RelaxStep(after, drop={skill}))
            elif count > 1:
                other = draw(st.sampled_from([n for n in range(count) if n != number]))
                steps.append(RelaxStep(after, add_queue=f"q{other}"))
        specs.append(
            queue(
                f"q{number}",
                require,
                relax=tuple(steps),
                strategy=draw(st.sampled_from(list(Strategy))),
                max_wait=draw(st.sampled_from([100.0, 400.0])),
                leave_when_empty=draw(st.booleans()),
            )
        )
    return specs


policies = st.builds(
    AgentPolicy,
    wrap_up=st.sampled_from([0.0, 10.0]),
    no_answer_delay=st.sampled_from([0.0, 20.0]),
    busy_delay=st.just(0.0),
    max_misses=st.integers(0, 3),
)
agent_specs = st.lists(
    st.builds(
        lambda n, policy, skills: agent(f"x{n}", policy, **skills),
        st.integers(0, 10**6),
        policies,
        st.dictionaries(st.sampled_from(SKILLS), levels),
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda spec: spec.id,
)


def stage_requirements(spec, specs):
    """The reference: alternatives (requirement dicts) per stage, written out plainly."""
    own, pools, stages = dict(spec.require), [], [[dict(spec.require)]]
    for step in spec.relax:
        own = {skill: step.require.get(skill, level) for skill, level in own.items() if skill not in step.drop}
        if step.add_queue:
            pools.append(dict(specs[step.add_queue].require))
        stages.append([own, *pools])
    return stages


class Entries:
    """What the test knows of waiting entries, from the events it was given."""

    def __init__(self, specs):
        self.specs = specs
        self.stages = {name: stage_requirements(spec, specs) for name, spec in specs.items()}
        self.waiting: dict[str, dict] = {}
        self.order = 0

    def key(self, entry):
        return (entry["arrival"] - self.specs[entry["queue"]].credit_seconds(entry["priority"]), entry["seq"])

    def admits(self, skills, entry, now):
        spec = self.specs[entry["queue"]]
        stage = sum(1 for step in spec.relax if entry["arrival"] + step.after <= now)
        return any(
            all(skills.get(skill, 0) >= level for skill, level in needed.items())
            for needed in self.stages[entry["queue"]][stage]
        )


class Centre(RuleBasedStateMachine):
    @initialize(specs=queue_specs(), agents=agent_specs)
    def build(self, specs, agents):
        self.acd = InMemoryAcd(specs, agents)
        self.agents: dict[str, AgentSpec] = {spec.id: spec for spec in agents}
        self.entries = Entries({spec.name: spec for spec in specs})
        self.now = 0.0
        self.offers: dict[int, Offer] = {}  # outstanding
        self.calls: dict[int, Offer] = {}
        self.announced: dict[str, int] = {}
        self.next_id = 0

    def feed(self, events):
        for event in events:
            if isinstance(event, Queued):
                self.entries.waiting[event.entry_id] = {
                    "queue": event.queue,
                    "arrival": event.arrival,
                    "priority": event.priority,
                    "seq": self.entries.order,
                    "offer": None,
                }
                self.entries.order += 1
            elif isinstance(event, Outcome):
                self.entries.waiting.pop(event.entry_id)
                self.announced.pop(event.entry_id, None)
            elif isinstance(event, (AgentMissed, OfferCancelled)):
                self.offers.pop(event.offer_id)
                if event.entry_id in self.entries.waiting:
                    self.entries.waiting[event.entry_id]["offer"] = None

    @rule(queue_number=st.integers(0, 2), priority=st.integers(0, 3), back=st.sampled_from([0, 50, 200]),
          is_callback=st.booleans())
    def enqueue(self, queue_number, priority, back, is_callback):
        name = f"q{queue_number % len(self.entries.specs)}"
        self.next_id += 1
        arrival = max(self.now - back, 0.0)
        self.feed(self.acd.enqueue(f"e{self.next_id}", name, self.now, priority=priority,
                                   arrival=arrival, is_callback=is_callback))

    @rule(seconds=st.sampled_from([0.5, 5.0, 10.0, 30.0, 60.0, 150.0]))
    def wait(self, seconds):
        self.now += seconds
        self.feed(self.acd.tick(self.now))

    @rule(index=st.integers(0, 9), state=st.sampled_from(["available", "paused", "logged_out"]))
    def set_state(self, index, state):
        agent_id = sorted(self.agents)[index % len(self.agents)]
        self.feed(self.acd.set_agent_state(agent_id, state, self.now, "test"))

    @rule()
    def shift_starts(self):
        for agent_id in sorted(self.agents):
            if self.acd.agent_status(agent_id).state is AgentState.LOGGED_OUT:
                self.feed(self.acd.set_agent_state(agent_id, "available", self.now))

    @rule(index=st.integers(0, 9), reachable=st.booleans())
    def registration(self, index, reachable):
        agent_id = sorted(self.agents)[index % len(self.agents)]
        report = self.acd.agent_reachable if reachable else self.acd.agent_unreachable
        self.feed(report(agent_id, self.now))

    @rule()
    def dispatch(self):
        offers = self.acd.dispatch(self.now)
        booked = {offer.agent_id for offer in (*self.offers.values(), *self.calls.values())}
        assert len({o.agent_id for o in offers}) == len(offers), "an agent offered twice at once"
        assert len({o.entry_id for o in offers}) == len(offers), "an entry offered twice at once"
        for offer in offers:
            entry = self.entries.waiting[offer.entry_id]
            assert entry["offer"] is None, "an entry offered while already ringing"
            assert offer.agent_id not in booked, "an agent double-booked"
            assert self.entries.admits(self.agents[offer.agent_id].skills, entry, self.now), "agent lacks skills"
            entry["offer"] = offer.offer_id
            self.offers[offer.offer_id] = offer
        waiting = [e for e in self.entries.waiting.values() if e["offer"] is None]
        for offer in offers:
            taken = self.entries.key(self.entries.waiting[offer.entry_id])
            skills = self.agents[offer.agent_id].skills
            for entry in waiting:
                assert not (self.entries.key(entry) < taken and self.entries.admits(skills, entry, self.now)), (
                    "an agent took a later entry than one it could serve"
                )
        for agent_id, spec in self.agents.items():
            status = self.acd.agent_status(agent_id)
            if status.state is AgentState.AVAILABLE and status.ready_at is None and status.reachable:
                assert not any(self.entries.admits(spec.skills, e, self.now) for e in waiting), (
                    "a free agent left beside a caller it could serve"
                )

    @precondition(lambda self: self.offers)
    @rule(index=st.integers(0, 9), outcome=st.sampled_from(["answer", "ring", "no_answer", "busy", "rejected"]))
    def report(self, index, outcome):
        offer = sorted(self.offers.values(), key=lambda o: o.offer_id)[index % len(self.offers)]
        if outcome == "answer":
            self.feed(self.acd.answered(offer.offer_id, self.now))
            self.calls[offer.offer_id] = self.offers.pop(offer.offer_id)
        elif outcome == "ring":
            self.feed(self.acd.ringing(offer.offer_id, self.now))
        else:
            self.feed(self.acd.missed(offer.offer_id, outcome, self.now))

    @precondition(lambda self: self.calls)
    @rule(index=st.integers(0, 9))
    def hang_up(self, index):
        offer_id = sorted(self.calls)[index % len(self.calls)]
        self.feed(self.acd.call_ended(offer_id, self.now))
        del self.calls[offer_id]

    @rule(specs=queue_specs(), skills=st.lists(st.dictionaries(st.sampled_from(SKILLS), levels),
                                              min_size=5, max_size=5), precompiled=st.booleans())
    def reload(self, specs, skills, precompiled):
        """A rules reload: agents re-skilled; queues re-specified when the new
        draw has the same names (entries then wait under the new steps); the
        layout compiled by the ACD or beforehand, as the service does."""
        if len(specs) != len(self.entries.specs):
            specs = list(self.entries.specs.values())
        agents = [AgentSpec(spec.id, spec.name, spec.dial, levels, spec.policy)
                  for spec, levels in zip(self.agents.values(), skills)]
        compiled = compile_layout(specs, agents) if precompiled else None
        self.feed(self.acd.reconfigure(specs, agents, self.now, compiled=compiled))
        self.agents = {spec.id: spec for spec in agents}
        known = self.entries
        self.entries = Entries({spec.name: spec for spec in specs})
        self.entries.waiting, self.entries.order = known.waiting, known.order

    @precondition(lambda self: self.entries.waiting)
    @rule(index=st.integers(0, 99))
    def abandon(self, index):
        entry_id = sorted(self.entries.waiting)[index % len(self.entries.waiting)]
        self.feed(self.acd.abandon(entry_id, self.now))

    @invariant()
    def announced_positions_never_rise(self):
        if not hasattr(self, "acd"):
            return
        for entry_id in self.entries.waiting:
            said = self.acd.announce_position(entry_id, self.now)
            assert said <= self.announced.get(entry_id, said)
            assert said <= self.acd.position(entry_id, self.now)
            self.announced[entry_id] = said


TestDispatchAgainstTheModel = Centre.TestCase
TestDispatchAgainstTheModel.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


@settings(max_examples=60, deadline=None)
@given(
    specs=queue_specs(),
    callers=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 3), st.sampled_from([0, 20, 90]), st.booleans()),
        min_size=1,
        max_size=12,
    ),
)
def test_position_order_is_dispatch_order(specs, callers):
    """With an agent who can take anyone, dispatch serves callers in position order."""
    anyone = AgentSpec("anyone", "Anyone", "user/anyone", {skill: 10 for skill in SKILLS}, AgentPolicy(wrap_up=0))
    acd = InMemoryAcd(specs, [anyone])
    acd.set_agent_state("anyone", "paused", 0, "not yet")
    now = 100.0
    for number, (queue_number, priority, back, is_callback) in enumerate(callers):
        name = specs[queue_number % len(specs)].name
        acd.enqueue(f"e{number}", name, now, priority=priority, arrival=now - back, is_callback=is_callback)
    acd.set_agent_state("anyone", "available", now)
    by_position = sorted((acd.position(f"e{n}", now), f"e{n}") for n in range(len(callers)))
    assert [p for p, _ in by_position] == list(range(1, len(callers) + 1))
    served = []
    for _ in callers:
        offer, = acd.dispatch(now)
        acd.answered(offer.offer_id, now)
        acd.call_ended(offer.offer_id, now)
        served.append(offer.entry_id)
    assert served == [entry_id for _, entry_id in by_position]
