"""Compiled rules -> ACD specs (pure)."""

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from fsrouter.acd import InMemoryAcd, Strategy
from fsrouter.acd.from_plan import PlanMappingError, from_plan
from fsrouter.rules.compiler import compile_rules, compile_source
from fsrouter.rules.plan import RelaxRule

ROOT = Path(__file__).parents[2]

RULES = """
settings: {timezone: UTC, language: en}
lines:
  "5000": {brand: acme, language: en, flow: main}
flows:
  main:
    - queue: billing
queues:
  billing:
    require: {billing: 5, "lang_{language}": 3}
    relax:
      - {after: 60s, require: {billing: 2}}
      - {after: 3m, add_queue: general}
    strategy: most_skilled
    whisper: "{brand}, {queue}"
    announce: {position: {first: 15s}}
    priority: 3
    max_wait: {after: 15m, then: {queue: general}}
    no_agents: {queue: general}
  general:
    require: {general: 1}
    max_wait: {after: 10m, then: {hangup: NORMAL_CLEARING}}
agents:
  "1001": {name: Becky, dial: user/1001, skills: {billing: 8, general: 5, lang_el: 10, lang_en: 7}}
  "1002": {name: Sam, dial: user/1002, skills: {general: 5, lang_fr: 10}}
"""


@pytest.fixture(scope="module")
def plan():
    return compile_source(RULES)


def test_agents_are_mapped_with_their_dial_string_and_skills(plan):
    agents = {a.id: a for a in from_plan(plan).agents}
    assert agents["1001"].dial == "user/1001"
    assert agents["1001"].name == "Becky"
    assert dict(agents["1002"].skills) == {"general": 5, "lang_fr": 10}


def test_plain_queue_maps_to_itself(plan):
    acd = from_plan(plan)
    general = {q.name: q for q in acd.queues}["general"]
    assert dict(general.require) == {"general": 1}
    assert general.max_wait == 600.0
    assert general.max_wait_destination == "general"
    assert general.strategy is Strategy.LONGEST_IDLE
    assert general.join_empty and not general.leave_when_empty
    assert acd.queue_for("general", {"language": "el"}) == "general"


def test_templated_skills_become_one_queue_per_binding_agents_can_meet(plan):
    acd = from_plan(plan)
    specs = {q.name: q for q in acd.queues}
    assert set(specs) == {
        "general", "billing", "billing[language=el]", "billing[language=en]", "billing[language=fr]",
    }
    el = specs["billing[language=el]"]
    assert dict(el.require) == {"billing": 5, "lang_el": 3}
    assert el.strategy is Strategy.MOST_SKILLED
    assert el.max_wait == 900.0 and el.max_wait_destination == "billing"
    assert [(s.after, dict(s.require), s.add_queue) for s in el.relax] == [
        (60.0, {"billing": 2}, None),
        (180.0, {}, "general"),
    ]
    assert acd.queue_for("billing", {"language": "el"}) == "billing[language=el]"
    # a language no agent speaks waits in the bare queue nobody can serve
    assert acd.queue_for("billing", {"language": "de"}) == "billing"
    assert dict(specs["billing"].require) == {"billing": 5, "lang_{language}": 3}


def test_no_agents_makes_the_queue_refuse_and_leave_when_empty(plan):
    spec = {q.name: q for q in from_plan(plan).queues}["billing[language=en]"]
    assert not spec.join_empty and spec.leave_when_empty


def test_priority_is_the_queues_unless_the_call_sets_one(plan):
    acd = from_plan(plan)
    assert acd.priority_for("billing", {}) == 3
    assert acd.priority_for("billing", {"priority": "10"}) == 10
    assert acd.priority_for("billing", {"priority": "high"}) == 3
    assert acd.priority_for("general", {}) == 0
    # a value a caller may have set: never an exception on a live call
    assert acd.priority_for("billing", {"priority": "²"}) == 3
    assert acd.priority_for("billing", {"priority": "9" * 5000}) == 3


def test_the_specs_build_an_acd(plan):
    acd = from_plan(plan)
    InMemoryAcd(acd.queues, acd.agents)


def test_unknown_queue_is_an_error(plan):
    with pytest.raises(PlanMappingError, match="no queue 'nope'"):
        from_plan(plan).queue_for("nope", {})


GOOD_RULES = [ROOT / "config" / "rules", ROOT / "tests" / "rules" / "good" / "e2e.yaml",
              ROOT / "tests" / "e2e" / "rules" / "callbacks.yaml", ROOT / "bench" / "centre" / "rules.yaml"]


@pytest.mark.parametrize("path", GOOD_RULES, ids=lambda path: path.name)
def test_every_good_rules_file_maps_and_builds_an_acd(path):
    layout = from_plan(compile_rules(path))
    InMemoryAcd(layout.queues, layout.agents)


def test_relax_naming_the_current_level_is_a_no_op():
    same = compile_source(RULES.replace("require: {general: 1}\n",
                                        "require: {general: 1}\n    relax: [{after: 30, require: {general: 1}}]\n"))
    assert {q.name: q for q in from_plan(same).queues}["general"].relax == ()


def _with(plan, name, **changes):
    queues = MappingProxyType({**plan.queues, name: replace(plan.queues[name], **changes)})
    return replace(plan, queues=queues)


@pytest.mark.parametrize("changes", [
    {"strategy": "ring_all"},
    {"relax": (RelaxRule(60.0, {"general": 4}),)},
    {"relax": (RelaxRule(30.0, {"billing": 1}),)},
    {"relax": (RelaxRule(30.0, add_queue="billing"),)},
    {"relax": (RelaxRule(30.0, add_queue="nowhere"),)},
    {"require": {"general": 11}},
], ids=str)
def test_a_plan_the_check_would_refuse_is_an_internal_error(plan, changes):
    """Only a plan built around the check can get here: the mapping still
    refuses to run something else than the rules say."""
    bad = _with(plan, "general", **changes)
    with pytest.raises(PlanMappingError, match="internal error: checked rules do not map"):
        layout = from_plan(bad)
        InMemoryAcd(layout.queues, layout.agents)
