"""Relaxation steps widen who may answer, exactly from their declared time on."""

import pytest

from fsrouter.acd import InMemoryAcd, RelaxStep, RelaxStepActive

from .helpers import agent, login, only_offer, queue

BILLING = queue(
    "billing",
    {"billing": 5, "greek": 3},
    relax=(
        RelaxStep(60, require={"billing": 2}),
        RelaxStep(120, drop={"greek"}),
        RelaxStep(180, add_queue="general"),
    ),
)
GENERAL = queue("general", {"general": 1})


def centre(*agents):
    acd = InMemoryAcd([BILLING, GENERAL], agents)
    login(acd, *(a.id for a in agents))
    acd.enqueue("caller", "billing", 0)
    return acd


@pytest.mark.parametrize(
    ("skills", "from_time"),
    [
        ({"billing": 3, "greek": 3}, 60),  # lower level
        ({"billing": 3}, 120),  # greek dropped (and billing lowered before)
        ({"general": 1}, 180),  # the general pool added
    ],
)
def test_an_agent_is_offered_only_from_the_step_that_admits_them(skills, from_time):
    acd = centre(agent("a", **skills))
    assert acd.dispatch(from_time - 0.001) == []
    assert only_offer(acd.dispatch(from_time)).agent_id == "a"


def test_tick_reports_each_step_at_its_time_even_when_late():
    acd = centre(agent("nobody", other=1))
    assert acd.next_deadline() == 60
    steps = [e for e in acd.tick(200) if isinstance(e, RelaxStepActive)]
    assert [(e.step, e.at) for e in steps] == [(1, 60), (2, 120), (3, 180)]


def test_the_strict_agent_is_still_preferred_by_the_order_of_waiting():
    """Relaxing widens the pool; it does not reorder callers."""
    acd = centre(agent("weak", billing=2, greek=3))
    acd.enqueue("second", "billing", 30)
    acd.tick(60)  # "caller" relaxed, "second" not yet
    assert only_offer(acd.dispatch(60)).entry_id == "caller"


def test_a_callback_joins_already_relaxed_by_its_original_arrival():
    acd = InMemoryAcd([BILLING, GENERAL], [agent("a", billing=3, greek=3)])
    login(acd, "a", now=500)
    acd.enqueue("cb", "billing", 500, arrival=430, is_callback=True)
    assert only_offer(acd.dispatch(500)).entry_id == "cb"


def test_an_agent_admitted_only_later_is_not_given_an_earlier_stage_entry():
    acd = InMemoryAcd([queue("q", {"billing": 5}, relax=(RelaxStep(60, require={"billing": 2}),))],
                      [agent("weak", billing=3), agent("strong", billing=8)])
    acd.enqueue("old", "q", 0)
    acd.enqueue("vip", "q", 50, priority=2)  # ordered as if at t=-70, but not relaxed yet
    login(acd, "weak", now=70)  # idle longest
    login(acd, "strong", now=70)
    offers = {(o.entry_id, o.agent_id) for o in acd.dispatch(70)}
    assert offers == {("vip", "strong"), ("old", "weak")}
