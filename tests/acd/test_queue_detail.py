"""`queue_detail`: a queue's entries by position with their waits, the
agents it admits, and the wait a caller joining now would be told."""

from fsrouter.acd import AgentPolicy, EwtPolicy, InMemoryAcd
from .helpers import agent, login, only_offer, queue

NO_WRAP = AgentPolicy(wrap_up=0.0)


def centre():
    acd = InMemoryAcd(
        [queue("q", {"s": 1}, ewt=EwtPolicy(min_samples=1)), queue("other", {"x": 1})],
        [agent("a0", NO_WRAP, s=1), agent("a1", NO_WRAP, s=1), agent("x0", NO_WRAP, x=1)])
    login(acd, "a0")
    acd.enqueue("past", "q", 0.0)  # one handle time of 120 s
    offer = only_offer(acd.dispatch(0.0))
    acd.answered(offer.offer_id, 0.0)
    acd.call_ended(offer.offer_id, 120.0)
    acd.tick(120.0)
    return acd


def test_entries_by_position_with_their_waits_and_the_offered_one_marked():
    acd = centre()
    for n, at in enumerate((130.0, 140.0, 150.0)):
        acd.enqueue(f"c{n}", "q", at)
    offer = only_offer(acd.dispatch(150.0))  # c0 rings a0
    detail = acd.queue_detail("q", 160.0)
    assert [(e.entry_id, e.position, e.offered, e.arrival) for e in detail.entries] == [
        ("c0", 1, True, 130.0), ("c1", 2, False, 140.0), ("c2", 3, False, 150.0)]
    assert [e.estimate.seconds for e in detail.entries] == [120.0, 240.0, 360.0]
    assert detail.status.waiting == 2 and detail.status.ringing == 1
    assert detail.estimate.seconds == 4 * 120.0  # after the three in line
    assert offer.entry_id == "c0"


def test_the_agents_a_queue_admits_whatever_their_state():
    acd = centre()
    assert acd.queue_detail("q", 130.0).agent_ids == ("a0", "a1")  # a1 logged out, still listed
    assert acd.queue_detail("other", 130.0).agent_ids == ("x0",)


def test_no_estimate_while_nobody_serves_and_entries_skipped_when_not_asked():
    acd = centre()
    acd.enqueue("c", "q", 130.0)
    acd.set_agent_state("a0", "paused", 130.0, "break")
    detail = acd.queue_detail("q", 140.0, entries=False)
    assert detail.entries == () and detail.estimate is None
    assert detail.status.waiting == 1 and detail.status.longest_wait == 10.0


def test_queue_names_include_a_retired_queue_while_callers_wait_in_it():
    acd = centre()
    acd.enqueue("c", "other", 130.0)
    acd.reconfigure([queue("q", {"s": 1})], [agent("a0", NO_WRAP, s=1)], 131.0)
    assert acd.queue_names() == ["q", "other"]
    acd.remove("c", 132.0)
    assert acd.queue_names() == ["q"]


def test_every_queue_at_once_is_each_queue_alone():
    acd = centre()
    acd.enqueue("c", "q", 130.0)
    acd.enqueue("d", "other", 131.0)
    acd.set_agent_state("a1", "available", 131.0)
    assert acd.queue_details(140.0) == [acd.queue_detail(name, 140.0) for name in acd.queue_names()]
    assert [d.status.offerable_agents for d in acd.queue_details(140.0)] == [2, 0]
    assert acd.queue_details(140.0, entries=False)[0].entries == ()
