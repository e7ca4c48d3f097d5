"""What the ACD would refuse at start-up, `check` refuses first, at the
line: strategies, relax steps, skills per binding, agents.  (Each of these
passed `check` and then stopped `fsrouter run` with a traceback.)"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from fsrouter.acd import InMemoryAcd
from fsrouter.acd.from_plan import from_plan
from fsrouter.acd.model import Strategy
from fsrouter.cli import main
from fsrouter.rules import analyse_source
from fsrouter.rules.durations import seconds
from fsrouter.rules.plan import STRATEGIES

ROOT = Path(__file__).parents[2]
BASE = """\
lines: {"1": {flow: main}}
# every call waits in queue q, whose settings each test writes from line 13 on
flows:
  main: [{queue: q}]
agents:
  "1001": {dial: user/1001, skills: {a: 5, lang_el: 5, lang_en: 3}}
queues:
  other:
    require: {"lang_{language}": 1}
    max_wait: {after: 10m, then: {hangup: }}
  q:
    max_wait: {after: 10m, then: {hangup: }}
"""
"""Line 13 onwards is the test's own, inside queue q."""


def problems(extra: str, base: str = BASE) -> list[str]:
    return [str(p) for p in analyse_source(base + extra).problems]


def test_the_rules_know_exactly_the_acds_strategies():
    assert STRATEGIES == tuple(Strategy)


def test_an_unknown_strategy_is_refused_with_the_list():
    assert problems("    strategy: longest_idel\n") == [
        '<rules>:13:15: error: unknown strategy "longest_idel" (did you mean "longest_idle"?) '
        "(expected one of: longest_idle, most_skilled, fewest_calls, least_talk_time, round_robin)"]


def test_every_bad_relax_step_is_reported_at_its_line():
    assert problems("""\
    require: {a: 5}
    relax:
      - {after: 60s, require: {b: 2}}
      - {after: 30s, require: {a: 7}}
      - {after: 90s}
      - {after: 2m, add_queue: q}
      - {after: 3m, add_queue: other}
""") == [
        '<rules>:15:32: warning: no agent has the skill "b" (expected an agent with skills: {b: N})',
        '<rules>:15:32: error: queue "q": relax step 1 relaxes "b", which the queue does not require at that '
        "point (expected one of: a)",
        '<rules>:16:17: error: queue "q": relax step 2 is after 30s, not later than the step before (60s) '
        "(expected steps in increasing order of after)",
        '<rules>:16:32: error: queue "q": relax step 2 raises "a" from 5 to 7 '
        "(expected a level of at most 5: steps may only relax)",
        '<rules>:17:17: error: queue "q": relax step 3 relaxes nothing '
        "(expected require: {...} and/or add_queue: NAME)",
        '<rules>:18:32: error: queue "q": relax step 4 adds the queue "q" itself (expected another queue)',
        '<rules>:19:32: error: queue "q": relax step 5 adds queue "other", whose skills depend on the call '
        "(expected a queue with fixed skills)",
    ]


def test_a_relaxed_skill_must_be_required_at_that_point_even_when_templated():
    assert problems("""\
    require: {"lang_{language}": 5}
    relax: [{after: 1m, require: {lang_el: 2}}]
""") == ['<rules>:14:35: error: queue "q": relax step 1 relaxes "lang_el", which the queue does not require '
         "at that point (expected one of: lang_{language})"]


def test_two_skills_that_become_one_for_some_call_are_refused_for_that_binding():
    assert problems('    require: {"lang_{language}": 3, lang_el: 5}\n') == [
        '<rules>:13:37: error: queue "q": "lang_{language}" and "lang_el" both name the skill "lang_el" '
        "(for language=el) (expected each skill once)"]


def test_skill_names_are_plain_names_with_few_variables():
    assert problems('    require: {"": 3, "a b": 2, "x{y}{z}": 1, "{a}_{b}_{c}_{d}": 1}\n') == [
        '<rules>:13:15: error: bad skill name "" (expected at most 100 letters, digits, _ and -, with {variables})',
        '<rules>:13:22: error: bad skill name "a b" (expected at most 100 letters, digits, _ and -, with {variables})',
        '<rules>:13:32: error: bad skill name "x{y}{z}" (expected at most 3 {variables}, with text between them)',
        '<rules>:13:46: error: bad skill name "{a}_{b}_{c}_{d}" (expected at most 3 {variables}, '
        "with text between them)",
    ]


def test_agents_need_an_id_a_dial_string_and_plain_skill_names():
    agents = BASE.replace('  "1001": {dial: user/1001, skills: {a: 5, lang_el: 5, lang_en: 3}}\n', """\
  "": {dial: user/1}
  "2": {dial: " "}
  "3": {dial: user/3, skills: {"lang_{language}": 3, "x,y": 2}}
""")
    assert problems("", agents) == [
        '<rules>:6:3: error: an agent id must not be empty (expected an id such as "1001")',
        '<rules>:7:15: error: bad value for dial: " " (expected a FreeSWITCH dial string like user/1001:'
        " one endpoint, without , | ' $ {} [] <> ^ or spaces)",
        '<rules>:8:32: error: bad skill name "lang_{language}" (expected letters, digits, _ and - '
        "(an agent's skill names no {variables}))",
        '<rules>:8:54: error: bad skill name "x,y" (expected at most 100 letters, digits, _ and -)',
        '<rules>:11:15: warning: no agent has the skill "lang_en" (expected an agent with skills: {lang_en: N})',
    ]


def test_what_passes_the_check_maps():
    result = analyse_source(BASE + """\
    require: {a: 5, "lang_{language}": 4}
    relax:
      - {after: 1m, require: {a: 5}}
      - {after: 2m, require: {a: 2, "lang_{language}": 1}}
""")
    assert [str(p) for p in result.problems] == []
    specs = {spec.name: spec for spec in from_plan(result.plan).queues}
    assert [(s.after, dict(s.require)) for s in specs["q[language=en]"].relax] == [(120.0, {"a": 2, "lang_en": 1})]


def test_durations_are_finite_and_of_sane_size():
    """An infinite or NaN duration passed every `> 0` test and reached the
    ACD's timers; a 5,000-digit one raised ValueError in the check."""
    assert [seconds(v) for v in (math.inf, math.nan, 10**400, 1e12, "9" * 5000 + "h", 3600, "1h30m")] == [
        None, None, None, None, None, 3600.0, 5400.0]
    [problem] = problems(f"    relax: [{{after: {'9' * 5000}h, add_queue: other}}]\n")
    assert problem.startswith('<rules>:13:21: error: bad value for relax after: "999')
    assert problem.endswith('h" (5,001 characters) (expected seconds or a duration like 45s, 3m, 1h30m)')


@pytest.mark.parametrize("old, new, error", [
    ("strategy: longest_idle\n    announce", "strategy: longest_idel\n    announce",
     'queues.yaml:11:15: error: unknown strategy "longest_idel" (did you mean "longest_idle"?)'),
    ("{after: 2m, require: {tech: 3}}", "{after: 2m, require: {billing: 3}}",
     'queues.yaml:22:31: error: queue "tech": relax step 1 relaxes "billing", which the queue does not require'),
    ('"1003": {name: Sam', '"": {name: Sam',
     'queues.yaml:38:3: error: an agent id must not be empty'),
])
def test_the_examples_that_passed_check_and_failed_run_are_refused(tmp_path, old, new, error):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "config" / "rules", rules)
    queues = rules / "queues.yaml"
    assert old in queues.read_text()
    queues.write_text(queues.read_text().replace(old, new))
    result = CliRunner().invoke(main, ["check", str(rules), "--sounds", str(ROOT / "sounds")])
    assert result.exit_code == 1
    assert any(line.startswith(f"{rules}/{error}") for line in result.output.splitlines()), result.output


SKILLS = ("a", "b", "lang_{language}", "lang_el", "lang_en", "{brand}_x", "acme_x", "{language}", "el",
          "t_{topic}_{language}", "t_billing_el")
HELD = ("a", "b", "lang_el", "lang_en", "acme_x", "el", "en", "t_billing_el", "t_x_en", "lang_")
LEVELS = st.integers(0, 11)


def _levels(names):
    return st.dictionaries(st.sampled_from(names), LEVELS, max_size=4).map(
        lambda levels: "{" + ", ".join(f'"{skill}": {level}' for skill, level in levels.items()) + "}")


_STEP = st.tuples(st.sampled_from(("30", "60", "90", "2m", "45")), st.none() | _levels(SKILLS),
                  st.none() | st.sampled_from(("g", "q", "h"))).map(
    lambda s: "{" + ", ".join([f"after: {s[0]}"] + ([f"require: {s[1]}"] if s[1] else [])
                              + ([f"add_queue: {s[2]}"] if s[2] else [])) + "}")


@settings(max_examples=300, deadline=None)
@given(require=_levels(SKILLS), steps=st.lists(_STEP, max_size=3), agent1=_levels(HELD), agent2=_levels(HELD))
def test_skills_and_relax_steps_that_pass_the_check_always_map(require, steps, agent1, agent2):
    result = analyse_source(f"""
lines: {{"1": {{flow: main}}}}
flows: {{main: [{{queue: q}}]}}
queues:
  q:
    require: {require}
    relax: [{", ".join(steps)}]
    max_wait: {{after: 10m, then: {{hangup: }}}}
  g: {{require: {{a: 1}}, max_wait: {{after: 10m, then: {{hangup: }}}}}}
  h: {{require: {{"lang_{{language}}": 1}}, max_wait: {{after: 10m, then: {{hangup: }}}}}}
agents:
  "1": {{dial: user/1, skills: {agent1}}}
  "2": {{dial: user/2, skills: {agent2}}}
""")
    assert all(p.pos.line for p in result.problems)
    if result.plan is not None:
        layout = from_plan(result.plan)
        InMemoryAcd(layout.queues, layout.agents)


def test_a_queue_may_not_become_too_many_acd_queues():
    def rules(agents: int) -> str:
        declared = "".join(f'  "{n}": {{dial: user/{n}, skills: {{x_{n}_{n + 1}: 1}}}}\n' for n in range(agents))
        return BASE.replace('  "1001": {dial: user/1001, skills: {a: 5, lang_el: 5, lang_en: 3}}\n', declared)

    assert problems('    require: {"x_{a}_{b}": 1}\n', rules(40))[-1] == (
        '<rules>:52:14: error: queue "q": the skills make 1600 ACD queues, one per value of a (40) × b (40) '
        "(expected at most 1000: fewer variables in skill names)")
    assert len(from_plan(analyse_source(rules(30) + '    require: {"x_{a}_{b}": 1}\n').plan).queues) == 30 * 30 + 2
