"""Specs refuse what cannot be right, with a message naming the place."""

import pytest

from fsrouter.acd import AgentPolicy, InMemoryAcd, RelaxStep, SpecError

from .helpers import agent, queue


@pytest.mark.parametrize("level", [0, 11, 2.5, True])
def test_skill_levels_are_integers_from_1_to_10(level):
    with pytest.raises(SpecError, match="agent '1'.*billing"):
        agent("1", billing=level)


def test_specs_are_frozen_including_their_skills():
    spec = agent("1", billing=5)
    with pytest.raises(AttributeError):
        spec.name = "x"
    with pytest.raises(TypeError):
        spec.skills["billing"] = 9


def test_relax_steps_must_only_relax():
    with pytest.raises(SpecError, match="raises 'billing' from 5 to 7"):
        queue("q", {"billing": 5}, relax=(RelaxStep(60, require={"billing": 7}),))
    with pytest.raises(SpecError, match="'greek' is not required"):
        queue("q", {"billing": 5}, relax=(RelaxStep(60, require={"greek": 1}),))
    with pytest.raises(SpecError, match="drops 'greek'"):
        queue("q", {"billing": 5}, relax=(RelaxStep(60, drop={"greek"}),))


def test_relax_steps_come_in_time_order_and_each_does_something():
    with pytest.raises(SpecError, match="relax step 2 .*increasing"):
        queue("q", {"billing": 5}, relax=(RelaxStep(60, require={"billing": 4}), RelaxStep(60, drop={"billing"})))
    with pytest.raises(SpecError, match="relaxes nothing"):
        RelaxStep(60)


def test_a_relax_step_cannot_add_an_unknown_queue_or_itself():
    with pytest.raises(SpecError, match="unknown queue 'general'"):
        InMemoryAcd([queue("q", {"billing": 5}, relax=(RelaxStep(60, add_queue="general"),))])
    with pytest.raises(SpecError, match="names the queue itself"):
        queue("q", relax=(RelaxStep(60, add_queue="q"),))


def test_queue_names_are_unique():
    with pytest.raises(SpecError, match="declared twice"):
        InMemoryAcd([queue("q"), queue("q")])


def test_policy_and_queue_times_are_sane():
    with pytest.raises(SpecError, match="ring_timeout"):
        AgentPolicy(ring_timeout=0)
    with pytest.raises(SpecError, match="max_wait"):
        queue("q", max_wait=0)


def test_priority_is_a_time_credit():
    spec = queue("q", credit_per_priority=120)
    assert spec.credit_seconds(3) == 360
    assert spec.leave_destination == "voicemail"
    assert queue("q", empty_destination="general").leave_destination == "general"
