"""Positions follow the dispatch ordering, and what a caller is told never goes up."""

from fsrouter.acd import InMemoryAcd

from .helpers import agent, login, only_offer, queue


def busy_centre():
    """One billing agent, already on a call that ends at t=100 (wrap-up 5 s)."""
    acd = InMemoryAcd([queue("billing", {"billing": 5})], [agent("a", billing=5)])
    login(acd, "a")
    acd.enqueue("earlier", "billing", 0)
    call = only_offer(acd.dispatch(0))
    acd.answered(call.offer_id, 1)
    return acd, call


def test_position_goes_3_2_1_as_the_agent_serves():
    acd, call = busy_centre()
    for n, entry_id in enumerate(["c1", "c2", "c3"]):
        acd.enqueue(entry_id, "billing", 10 + n)
    heard = [acd.announce_position("c3", 20)]
    acd.call_ended(call.offer_id, 100)
    for now in (200, 400):
        offer = only_offer(acd.dispatch(now))  # wrap-up is over
        assert acd.position("c3", now) == heard[-1]  # a ringing entry is still ahead
        acd.answered(offer.offer_id, now + 1)
        heard.append(acd.announce_position("c3", now + 2))
        acd.call_ended(offer.offer_id, now + 50)
    assert heard == [3, 2, 1]


def test_a_vip_raises_the_raw_position_but_not_the_announced_one():
    acd, _ = busy_centre()
    acd.enqueue("c1", "billing", 10)
    acd.enqueue("c2", "billing", 11)
    assert acd.announce_position("c2", 12) == 2
    acd.enqueue("vip", "billing", 13, priority=5)  # 5 minutes of credit: ahead of both
    assert acd.position("c2", 14) == 3
    assert acd.announce_position("c2", 14) == 2
    acd.abandon("c1", 15)
    acd.abandon("vip", 16)
    assert acd.announce_position("c2", 17) == 1


def test_callbacks_take_the_place_of_their_original_arrival():
    acd, call = busy_centre()
    acd.enqueue("live", "billing", 50)
    acd.enqueue("callback", "billing", 60, arrival=30, is_callback=True)
    acd.enqueue("vip", "billing", 70, priority=1)  # 60 s of credit: as if at t=10
    assert [acd.position(e, 70) for e in ("vip", "callback", "live")] == [1, 2, 3]
    acd.call_ended(call.offer_id, 80)
    assert only_offer(acd.dispatch(90)).entry_id == "vip"


def test_entries_of_other_queues_count_when_they_wait_for_the_same_agents():
    acd = InMemoryAcd(
        [queue("billing", {"billing": 5}), queue("billing_el", {"billing": 5, "greek": 3}), queue("tech", {"tech": 1})],
        [agent("both", billing=7, greek=5), agent("techie", tech=3)],
    )
    login(acd, "both", "techie")
    acd.set_agent_state("both", "paused", 0, "meeting")
    acd.set_agent_state("techie", "paused", 0, "meeting")
    acd.enqueue("tech_first", "tech", 1)
    acd.enqueue("billing_first", "billing", 2)
    acd.enqueue("greek", "billing_el", 3)
    # Paused agents serve nobody: only the caller's own line counts.
    assert acd.position("greek", 4) == 1
    acd.set_agent_state("both", "available", 5)
    acd.set_agent_state("techie", "available", 5)
    # "both" serves billing too, so billing_first is ahead; tech_first waits for someone else.
    assert acd.position("greek", 6) == 2
    offers = acd.dispatch(6)
    assert {(o.entry_id, o.agent_id) for o in offers} == {("tech_first", "techie"), ("billing_first", "both")}
