"""Agent life: misses, delays, wrap-up, auto-pause, pending changes, reachability."""

from dataclasses import replace
from pathlib import Path

import pytest

from fsrouter.acd import (
    AgentMissed,
    AgentPolicy,
    AgentState,
    AgentStateChanged,
    InMemoryAcd,
    InvalidTransition,
    MissReason,
    OfferCancelled,
    UnknownOffer,
    state_diagram,
)
from fsrouter.acd.events import CallEnded
from fsrouter.acd.memory import OFFER_GRACE

from .helpers import QUICK, agent, login, only_offer, queue

BILLING = queue("billing", {"billing": 5})


def centre(*agents, queues=(BILLING,)):
    acd = InMemoryAcd(queues, agents)
    for n, spec in enumerate(agents):
        login(acd, spec.id, now=n)  # declaration order is also longest-idle order
    return acd


def test_a_missed_agent_is_skipped_and_the_entry_keeps_its_place():
    acd = centre(agent("a", billing=5), agent("b", billing=5))
    acd.set_agent_state("b", "paused", 5, "coffee")
    acd.enqueue("c1", "billing", 10)
    first = only_offer(acd.dispatch(10))
    assert first.agent_id == "a"
    acd.enqueue("c2", "billing", 11)
    events = acd.missed(first.offer_id, "no_answer", 15)
    assert isinstance(events[0], AgentMissed) and events[0].consecutive == 1
    assert acd.agent_status("a").ready_at == 15 + QUICK.no_answer_delay
    assert [acd.position(e, 15) for e in ("c1", "c2")] == [1, 2]
    assert acd.dispatch(15) == []  # a waits out its delay
    acd.set_agent_state("b", "available", 16)
    retry = only_offer(acd.dispatch(16))
    assert (retry.entry_id, retry.agent_id) == ("c1", "b")  # c1 first in line, a skipped
    acd.answered(retry.offer_id, 17)
    assert acd.dispatch(44) == []
    last = only_offer(acd.dispatch(45))
    assert (last.entry_id, last.agent_id) == ("c2", "a")


def test_delays_follow_the_reason():
    acd = centre(agent("a", replace(QUICK, max_misses=0), billing=5))
    now = 100
    for reason, delay in [("busy", QUICK.busy_delay), ("rejected", QUICK.reject_delay), ("failed", QUICK.failed_delay)]:
        acd.enqueue(reason, "billing", now)
        offer = only_offer(acd.dispatch(now))
        [_, change] = acd.missed(offer.offer_id, reason, now)
        assert (change.reason, change.ready_at) == (reason, now + delay)
        acd.remove(reason, now)
        now += delay


def test_wrap_up_keeps_the_agent_from_the_next_call():
    acd = centre(agent("a", billing=5))
    acd.enqueue("c1", "billing", 10)
    offer = only_offer(acd.dispatch(10))
    acd.ringing(offer.offer_id, 11)
    acd.answered(offer.offer_id, 12)
    [ended, change] = acd.call_ended(offer.offer_id, 100)
    assert ended == CallEnded(entry_id="c1", queue="billing", agent_id="a", at=100, talked=88)
    assert (change.new, change.ready_at) == (AgentState.WRAP_UP, 105)
    acd.enqueue("c2", "billing", 101)
    assert acd.dispatch(104.9) == []
    assert acd.tick(105) == [
        AgentStateChanged(
            agent_id="a", at=105, old=AgentState.WRAP_UP, new=AgentState.AVAILABLE, reason="wrap_up_over"
        )
    ]
    assert only_offer(acd.dispatch(105)).entry_id == "c2"


def test_auto_pause_after_consecutive_misses():
    acd = centre(agent("a", AgentPolicy(no_answer_delay=0, max_misses=2), billing=5))
    acd.enqueue("c1", "billing", 10)
    first = only_offer(acd.dispatch(10))
    acd.missed(first.offer_id, "no_answer", 30)
    second = only_offer(acd.dispatch(30))  # no delay: the same caller again
    *_, change = acd.missed(second.offer_id, "no_answer", 50)
    assert (change.old, change.new, change.reason) == (AgentState.RESERVED, AgentState.PAUSED, "missed 2 offers in a row")
    assert acd.dispatch(500) == []
    acd.set_agent_state("a", "available", 501)
    assert only_offer(acd.dispatch(501)).entry_id == "c1"
    assert acd.agent_status("a").consecutive_misses == 0


def test_a_lost_offer_costs_the_agent_nothing():
    acd = centre(agent("a", AgentPolicy(no_answer_delay=0, max_misses=2), billing=5))
    acd.enqueue("c1", "billing", 10)
    acd.missed(only_offer(acd.dispatch(10)).offer_id, "no_answer", 30)
    lost = only_offer(acd.dispatch(30))
    missed, change = acd.missed(lost.offer_id, "lost", 35)
    assert (missed.reason, missed.consecutive) == (MissReason.LOST, 1)  # reported, not counted
    assert (change.new, change.reason, change.ready_at) == (AgentState.AVAILABLE, "lost", None)
    assert acd.agent_status("a").consecutive_misses == 1  # not reset either
    again = only_offer(acd.dispatch(35))  # no delay
    *_, change = acd.missed(again.offer_id, "no_answer", 55)
    assert (change.new, change.reason) == (AgentState.PAUSED, "missed 2 offers in a row")


def test_lost_offers_never_pause_the_agent():
    acd = centre(agent("a", AgentPolicy(max_misses=1), billing=5))
    acd.enqueue("c1", "billing", 10)
    for now in (10, 11, 12):
        [_, change] = acd.missed(only_offer(acd.dispatch(now)).offer_id, MissReason.LOST, now)
        assert change.new is AgentState.AVAILABLE
    assert acd.agent_status("a").consecutive_misses == 0


def test_after_a_lost_offer_the_entry_keeps_its_place_and_the_agent_its_turn():
    acd = centre(agent("a", billing=5), agent("b", billing=5))
    acd.enqueue("c1", "billing", 10)
    first = only_offer(acd.dispatch(10))
    acd.enqueue("c2", "billing", 11)
    acd.missed(first.offer_id, "lost", 15)
    assert [acd.position(e, 15) for e in ("c1", "c2")] == [1, 2]
    retry, second = acd.dispatch(15)
    assert [(o.entry_id, o.agent_id) for o in (retry, second)] == [("c1", "a"), ("c2", "b")]


def test_an_unreported_offer_expires_as_no_answer():
    acd = centre(agent("a", billing=5))
    acd.enqueue("c1", "billing", 10)
    offer = only_offer(acd.dispatch(10))
    expiry = 10 + QUICK.ring_timeout + OFFER_GRACE
    assert acd.next_deadline() == expiry
    missed = [e for e in acd.tick(expiry) if isinstance(e, AgentMissed)]
    assert [(m.offer_id, m.reason) for m in missed] == [(offer.offer_id, "no_answer")]
    with pytest.raises(UnknownOffer):
        acd.answered(offer.offer_id, expiry + 1)


def test_a_whisper_keeps_the_offer_open_past_the_ring_timeout_and_the_caller_in_line():
    acd = centre(agent("a", billing=5))
    acd.enqueue("c1", "billing", 10)
    offer = only_offer(acd.dispatch(10))
    acd.ringing(offer.offer_id, 11)
    answered_at = 10 + QUICK.ring_timeout  # the agent picked up at the last ring
    assert acd.connecting(offer.offer_id, answered_at, 30.0) == []
    assert acd.next_deadline() == answered_at + 30.0
    assert acd.tick(answered_at + 29.0) == []
    assert acd.position("c1", answered_at + 29.0) == 1  # still waiting until answered
    acd.answered(offer.offer_id, answered_at + 29.5)
    assert acd.agent_status("a").state is AgentState.ON_CALL


def test_a_pause_asked_during_a_call_waits_for_the_end_of_wrap_up():
    acd = centre(agent("a", billing=5))
    acd.enqueue("c1", "billing", 10)
    offer = only_offer(acd.dispatch(10))
    acd.answered(offer.offer_id, 12)
    assert acd.set_agent_state("a", "paused", 20, "lunch") == []
    assert acd.agent_status("a").pending == "pause"
    acd.call_ended(offer.offer_id, 100)
    [change] = acd.tick(105)
    assert (change.old, change.new, change.reason) == (AgentState.WRAP_UP, AgentState.PAUSED, "lunch")


def test_a_caller_hanging_up_while_the_agent_rings_costs_the_agent_nothing():
    acd = centre(agent("a", billing=5), agent("b", billing=5))
    acd.enqueue("c1", "billing", 10)
    offer = only_offer(acd.dispatch(10))
    assert offer.agent_id == "a"
    events = acd.abandon("c1", 12)
    assert any(isinstance(e, OfferCancelled) and e.offer_id == offer.offer_id for e in events)
    assert acd.agent_status("a").consecutive_misses == 0
    acd.enqueue("c2", "billing", 13)
    assert only_offer(acd.dispatch(13)).agent_id == "a"  # keeps the turn it had


def test_an_agent_in_two_queues_is_one_agent():
    acd = centre(agent("a", billing=5, greek=5), queues=(BILLING, queue("greek", {"greek": 3})))
    acd.enqueue("g", "greek", 10)
    acd.enqueue("b", "billing", 11)
    assert acd.queue_status("greek", 11).serving_agents == acd.queue_status("billing", 11).serving_agents == 1
    offer = only_offer(acd.dispatch(12))
    assert offer.entry_id == "g"
    assert acd.dispatch(13) == []
    acd.answered(offer.offer_id, 14)
    acd.call_ended(offer.offer_id, 50)
    assert acd.dispatch(54) == []  # wrap-up
    assert only_offer(acd.dispatch(55)).entry_id == "b"


def test_an_unreachable_agent_is_not_offered_calls():
    acd = centre(agent("a", billing=5))
    acd.agent_unreachable("a", 5)
    acd.enqueue("c1", "billing", 10)
    assert acd.dispatch(10) == []
    acd.agent_reachable("a", 20)
    assert only_offer(acd.dispatch(20)).agent_id == "a"


def test_skills_change_at_run_time():
    acd = centre(agent("a", billing=4))
    acd.enqueue("c1", "billing", 10)
    assert acd.dispatch(10) == []
    acd.set_skills("a", {"billing": 6}, 20)
    assert only_offer(acd.dispatch(20)).agent_id == "a"


def test_transitions_the_table_lacks_are_refused_by_name():
    acd = centre(agent("a", billing=5))
    with pytest.raises(InvalidTransition, match="cannot be set to on_call while available"):
        acd.set_agent_state("a", "on_call", 1)
    with pytest.raises(InvalidTransition, match="cannot remove while available"):
        acd.remove_agent("a", 1)
    acd.set_agent_state("a", "logged_out", 2)
    acd.remove_agent("a", 3)


def test_the_documented_diagram_is_generated_from_the_table():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "acd.md").read_text()
    assert state_diagram() in doc
