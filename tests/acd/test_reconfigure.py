"""A rules reload applied to the running ACD: `InMemoryAcd.reconfigure`.

The clock is the `now` each call is given, so every test walks through time
by hand.
"""

from __future__ import annotations

import pytest

from fsrouter.acd import (
    AgentState,
    AgentStateChanged,
    InMemoryAcd,
    LeftEmpty,
    RelaxStep,
    SpecError,
    UnknownAgent,
    UnknownQueue,
)

from .helpers import agent, login, only_offer, queue

BILLING = queue("billing", {"billing": 5})


def centre(*agents, queues=(BILLING,), now=0.0):
    acd = InMemoryAcd(queues, agents)
    login(acd, *(a.id for a in agents), now=now)
    return acd


def test_a_new_queue_and_a_new_agent_take_calls_after_the_reload():
    acd = centre(agent("a", billing=5))
    acd.reconfigure([BILLING, queue("sales", {"sales": 3})], [agent("a", billing=5), agent("b", sales=4)], 1.0)
    assert acd.agent_status("b").state is AgentState.LOGGED_OUT  # declared as at start-up
    login(acd, "b", now=2.0)
    acd.enqueue("c1", "sales", 3.0)
    assert only_offer(acd.dispatch(3.0)).agent_id == "b"


def test_new_required_skills_pick_the_agent_for_the_next_offer():
    acd = centre(agent("a", billing=5), agent("b", billing=1, greek=5))
    acd.reconfigure([queue("billing", {"greek": 3})], [agent("a", billing=5), agent("b", billing=1, greek=5)], 1.0)
    acd.enqueue("c1", "billing", 2.0)
    assert only_offer(acd.dispatch(2.0)).agent_id == "b"


def test_new_agent_skills_pick_the_agent_for_the_next_offer():
    acd = centre(agent("a", billing=5), agent("b", billing=1))
    acd.reconfigure([BILLING], [agent("a", billing=1), agent("b", billing=9)], 1.0)
    acd.enqueue("c1", "billing", 2.0)
    assert only_offer(acd.dispatch(2.0)).agent_id == "b"
    assert acd.agent_status("b").skills == {"billing": 9}


def test_waiting_callers_keep_their_place_and_agents_their_state():
    acd = centre(agent("a", billing=5), agent("b", billing=5), agent("p", billing=5))
    acd.set_agent_state("p", "paused", 0.5, "lunch")
    acd.enqueue("c1", "billing", 1.0)
    talk = only_offer(acd.dispatch(1.0))
    acd.answered(talk.offer_id, 2.0)
    acd.set_agent_state("b", "paused", 2.0, "break")
    for n, at in ((2, 3.0), (3, 4.0), (4, 5.0)):
        acd.enqueue(f"c{n}", "billing", at)
    acd.reconfigure([queue("billing", {"billing": 4}, strategy="most_skilled")],
                    [agent("a", billing=6), agent("b", billing=5), agent("p", billing=5)], 6.0)
    assert [acd.position(f"c{n}", 6.0) for n in (2, 3, 4)] == [1, 2, 3]
    status = acd.agent_status("a")
    assert (status.state, status.calls, status.offer_id) == (AgentState.ON_CALL, 1, talk.offer_id)
    assert (acd.agent_status("p").state, acd.agent_status("p").reason) == (AgentState.PAUSED, "lunch")
    acd.call_ended(talk.offer_id, 7.0)  # the call goes on and ends as before the reload
    acd.set_agent_state("b", "available", 7.0)
    assert only_offer(acd.dispatch(7.0)).entry_id == "c2"  # the first in line is served first


def test_an_offer_outstanding_at_the_reload_goes_on():
    acd = centre(agent("a", billing=5))
    acd.enqueue("c1", "billing", 1.0)
    offer = only_offer(acd.dispatch(1.0))
    acd.ringing(offer.offer_id, 1.5)
    acd.reconfigure([BILLING], [agent("a", billing=2)], 2.0)  # "a" no longer qualifies
    acd.answered(offer.offer_id, 3.0)
    assert acd.agent_status("a").state is AgentState.ON_CALL
    acd.enqueue("c2", "billing", 4.0)
    acd.call_ended(offer.offer_id, 5.0)
    assert acd.dispatch(100.0) == []  # ... but the next offer follows the new skills


def test_a_removed_queue_serves_who_waits_but_takes_nobody_new():
    acd = centre(agent("a", billing=5), queues=(BILLING, queue("old", {"billing": 1})))
    acd.set_agent_state("a", "paused", 0.5)
    acd.enqueue("c1", "old", 1.0)
    acd.enqueue("c2", "old", 2.0)
    acd.reconfigure([BILLING], [agent("a", billing=5)], 3.0)
    with pytest.raises(UnknownQueue):
        acd.enqueue("c3", "old", 3.5)
    assert acd.queue_status("old", 4.0).waiting == 2
    assert acd.is_staffed("old", 4.0) is False  # "a" is paused
    acd.set_agent_state("a", "available", 5.0)
    first = only_offer(acd.dispatch(5.0))
    assert (first.entry_id, first.queue) == ("c1", "old")
    acd.answered(first.offer_id, 6.0)
    acd.abandon("c2", 7.0)
    with pytest.raises(UnknownQueue):  # the last caller gone, the queue goes too
        acd.queue_status("old", 8.0)


def test_a_removed_queue_declared_again_keeps_its_callers():
    acd = centre(queues=(BILLING, queue("old", {"billing": 1})))
    acd.enqueue("c1", "old", 1.0)
    acd.reconfigure([BILLING], [], 2.0)
    acd.reconfigure([BILLING, queue("old", {"sales": 1})], [agent("s", sales=2)], 3.0)
    login(acd, "s", now=4.0)
    assert only_offer(acd.dispatch(4.0)).entry_id == "c1"


def test_a_removed_free_agent_is_logged_out_and_forgotten_at_once():
    acd = centre(agent("a", billing=5), agent("b", billing=5))
    events = acd.reconfigure([BILLING], [agent("a", billing=5)], 1.0)
    assert [(e.agent_id, e.new, e.reason) for e in events if isinstance(e, AgentStateChanged)] == [
        ("b", AgentState.LOGGED_OUT, "removed from the rules")]
    with pytest.raises(UnknownAgent):
        acd.agent_status("b")


def test_a_removed_agent_finishes_its_call_and_wrap_up_then_goes():
    acd = centre(agent("a", billing=5), agent("b", billing=5))
    acd.enqueue("c1", "billing", 1.0)
    offer = only_offer(acd.dispatch(1.0))
    acd.answered(offer.offer_id, 2.0)
    acd.reconfigure([BILLING], [agent(x, billing=5) for x in ("a", "b") if x != offer.agent_id], 3.0)
    assert acd.agent_status(offer.agent_id).state is AgentState.ON_CALL  # not cut off
    acd.call_ended(offer.offer_id, 10.0)
    assert acd.agent_status(offer.agent_id).state is AgentState.WRAP_UP
    acd.set_agent_state("a" if offer.agent_id == "b" else "b", "paused", 11.0)  # nobody else free
    acd.enqueue("c2", "billing", 11.0)
    assert acd.dispatch(11.0) == []  # never offered another call
    events = acd.tick(20.0)  # wrap-up (5 s) over
    assert any(isinstance(e, AgentStateChanged) and e.agent_id == offer.agent_id
               and e.new is AgentState.LOGGED_OUT for e in events)
    with pytest.raises(UnknownAgent):
        acd.agent_status(offer.agent_id)
    assert acd.dispatch(21.0) == []


def test_a_removed_agent_declared_again_before_its_call_ends_stays():
    acd = centre(agent("a", billing=5))
    acd.enqueue("c1", "billing", 1.0)
    offer = only_offer(acd.dispatch(1.0))
    acd.answered(offer.offer_id, 2.0)
    acd.reconfigure([BILLING], [], 3.0)
    acd.reconfigure([BILLING], [agent("a", billing=5)], 4.0)
    acd.call_ended(offer.offer_id, 5.0)
    acd.tick(11.0)
    assert acd.agent_status("a").state is AgentState.AVAILABLE


def test_new_relax_steps_apply_to_callers_already_waiting():
    acd = centre(agent("junior", billing=2))
    acd.enqueue("c1", "billing", 0.0)
    assert acd.dispatch(30.0) == []
    relaxed = queue("billing", {"billing": 5}, relax=(RelaxStep(after=60.0, require={"billing": 2}),))
    acd.reconfigure([relaxed], [agent("junior", billing=2)], 70.0)  # waited 70 s: the step is in force
    assert only_offer(acd.dispatch(70.0)).agent_id == "junior"


def test_a_reload_that_leaves_nobody_able_to_serve_sends_callers_on():
    lonely = queue("billing", {"billing": 5}, leave_when_empty=True, join_empty=False)
    acd = centre(agent("a", billing=5), queues=(lonely,))
    acd.enqueue("c1", "billing", 1.0)  # "a" could take it (not dispatched yet)
    events = acd.reconfigure([lonely], [agent("a", greek=5)], 3.0)
    assert [e.entry_id for e in events if isinstance(e, LeftEmpty)] == ["c1"]


def test_an_impossible_layout_is_refused_and_nothing_changes():
    acd = centre(agent("a", billing=5))
    acd.enqueue("c1", "billing", 1.0)
    broken = queue("billing", {"billing": 5}, relax=(RelaxStep(after=5.0, add_queue="nowhere"),))
    with pytest.raises(SpecError):
        acd.reconfigure([broken], [agent("b", billing=5)], 2.0)
    with pytest.raises(SpecError):
        acd.reconfigure([BILLING, BILLING], [], 2.0)
    with pytest.raises(SpecError):
        acd.reconfigure([BILLING], [agent("a", billing=5), agent("a", billing=6)], 2.0)
    assert acd.agent_status("a").state is AgentState.AVAILABLE
    with pytest.raises(UnknownAgent):
        acd.agent_status("b")
    assert only_offer(acd.dispatch(3.0)).agent_id == "a"
