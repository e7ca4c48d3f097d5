"""Each strategy picks the agent it promises, and never one lacking a skill.

The queue asks billing >= 5 and greek >= 3.  Two agents are there to tempt a
wrong choice: one who has waited longest and has the most billing but too
little greek, and one with too little billing.
"""

import pytest

from fsrouter.acd import InMemoryAcd, Strategy

from .helpers import agent, login, only_offer, queue, serve

REQUIRE = {"billing": 5, "greek": 3}

AGENTS = [
    agent("no_greek", billing=10, greek=2),
    agent("low_billing", billing=4, greek=10),
    agent("a1", billing=5, greek=3),
    agent("a2", billing=9, greek=8),
    agent("a3", billing=6, greek=4),
]


def centre(strategy):
    acd = InMemoryAcd([queue("billing_el", REQUIRE, strategy=strategy)], AGENTS)
    login(acd, "no_greek", "low_billing", now=0)  # idle longest of all
    login(acd, "a3", now=1)
    login(acd, "a1", now=2)
    login(acd, "a2", now=3)
    return acd


def first_choice(acd, now=100):
    acd.enqueue("caller", "billing_el", now)
    return only_offer(acd.dispatch(now)).agent_id


def test_longest_idle():
    assert first_choice(centre(Strategy.LONGEST_IDLE)) == "a3"


def test_most_skilled_sums_the_levels_the_queue_requires():
    assert first_choice(centre(Strategy.MOST_SKILLED)) == "a2"


def test_fewest_calls():
    acd = centre(Strategy.FEWEST_CALLS)
    # a3 (longest idle) and a1 take one call each; a2 has taken none.
    assert serve(acd, "c1", "billing_el", 10).agent_id == "a3"
    assert serve(acd, "c2", "billing_el", 100).agent_id == "a1"
    assert first_choice(acd, now=200) == "a2"


def test_least_talk_time():
    acd = centre(Strategy.LEAST_TALK_TIME)
    assert serve(acd, "c1", "billing_el", 10, talk=300).agent_id == "a3"
    assert serve(acd, "c2", "billing_el", 320, talk=30).agent_id == "a1"
    assert serve(acd, "c3", "billing_el", 400, talk=90).agent_id == "a2"
    assert first_choice(acd, now=600) == "a1"


def test_round_robin_rotates_in_declaration_order():
    acd = centre(Strategy.ROUND_ROBIN)
    chosen = [serve(acd, f"c{n}", "billing_el", 100 * n).agent_id for n in range(1, 5)]
    assert chosen == ["a1", "a2", "a3", "a1"]


@pytest.mark.parametrize("strategy", list(Strategy))
def test_no_strategy_offers_an_agent_lacking_a_skill(strategy):
    acd = InMemoryAcd([queue("billing_el", REQUIRE, strategy=strategy)], AGENTS)
    login(acd, "no_greek", "low_billing")
    acd.enqueue("caller", "billing_el", 10)
    assert acd.dispatch(10) == []
    login(acd, "a1", now=20)
    assert only_offer(acd.dispatch(20)).agent_id == "a1"


def test_a_free_agent_takes_the_oldest_entry_it_can_serve():
    acd = InMemoryAcd(
        [queue("billing_el", REQUIRE), queue("billing", {"billing": 5}), queue("tech", {"tech": 1})],
        [*AGENTS, agent("techie", tech=5)],
    )
    acd.enqueue("tech_caller", "tech", 0)
    acd.enqueue("billing_caller", "billing", 1)
    acd.enqueue("greek_caller", "billing_el", 2)
    login(acd, "low_billing", now=3)
    assert acd.dispatch(3) == []
    login(acd, "a2", now=4)
    assert only_offer(acd.dispatch(4)).entry_id == "billing_caller"
