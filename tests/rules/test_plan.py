"""Compiling rules: the example rules, immutability of the plan, the shape
of compiled steps, and robustness against any input."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from fsrouter import speech
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fsrouter.rules import RulesError, analyse_source, compile_rules, compile_source, load_plan
from fsrouter.rules import plan as p
from fsrouter.rules.flows import MENU_KEYS, STEP_KINDS
from fsrouter.rules.sections import QUEUE_KEYS, SECTIONS

ROOT = Path(__file__).parents[2]
E2E = ROOT / "tests" / "rules" / "good" / "e2e.yaml"


@pytest.fixture(scope="module")
def example():
    return compile_rules(ROOT / "config")


def test_example_rules_compile_without_warnings(example):
    assert example.warnings == ()
    assert set(example.flows) == {"main", "tech", "to_operator", "closed", "holiday", "agent_login", "agent_logout",
                                  "agent_pause", "agent_login_pin"}
    assert example.settings.timezone == "Europe/Athens"
    assert len(example.settings.holidays["holidays"]) == 12
    assert example.lines["+441234567890"].brand == "globex"


def test_every_edge_leads_to_a_node(example):
    for node in example.nodes.values():
        assert all(target in example.nodes for target in node.edges.values()), node.id


def test_queue_settings_are_kept_for_the_acd(example):
    billing = example.queues["billing"]
    assert (billing.title, billing.max_wait) == ("Billing", 900.0)
    assert isinstance(example.nodes[billing.max_wait_then].step, p.Play)
    assert billing.require == {"billing": 5, "lang_{language}": 3}
    assert billing.relax == (p.RelaxRule(60.0, {"billing": 2}), p.RelaxRule(180.0, add_queue="general"))
    assert (billing.strategy, billing.priority) == ("longest_idle", 0)
    assert example.agents["1001"].skills["billing"] == 8


def test_the_plan_is_immutable(example):
    with pytest.raises(dataclasses.FrozenInstanceError):
        example.routes = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        example.nodes["x"] = None  # type: ignore[index]
    node = example.nodes["main_menu"]
    with pytest.raises(TypeError):
        node.edges["1"] = "closed.1"  # type: ignore[index]
    with pytest.raises(TypeError):
        example.queues["billing"].require["billing"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        example.queues["billing"].relax[0].require["billing"] = 1  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.step.timeout_ms = 1  # type: ignore[misc]
    assert isinstance(example.routes, tuple)


def test_menu_compiles_to_keys_retries_and_reprompts():
    plan = compile_rules(E2E)
    menu = plan.nodes["main.2"]
    assert menu.step == p.Menu(
        prompt=menu.step.prompt, invalid_retries=2, timeout_retries=1, timeout_ms=5000,
        max_digits=1, terminators="#",
    )
    assert dict(menu.edges) == {
        "1": "main.2/1", "2": "main.2/2", "0": "main.2/0",
        "invalid": "main.2/invalid", "too_many_invalid": "main.2/invalid/then",
        "timeout": "main.2/timeout", "too_many_timeouts": "main.2/timeout/then",
    }
    assert dict(plan.nodes["main.2/invalid"].edges) == {"done": "main.2"}


def test_step_forms():
    plan = compile_source("""
lines: {"1": {flow: main}}
queues:
  sales: {max_wait: {after: 90, then: {hangup: }}}
flows:
  main:
    - notice: {scope: queue, queue: sales}
    - condition: {vars: {vip: {in: ["1", "2"]}}, then: {set: {priority: high}, queue: sales}}
    - if: {all: [{days: [sat, sun]}, {not: {hours: ["10:00-12:00", "14:00-16:00"]}}]}
      then: {transfer: {extension: night, context: public, dialplan: XML}}
    - menu:
        prompt: menu/main
        options: {"0": {queue: {name: sales}}}
        on_invalid: {retries: 0}
        default: {hangup: {cause: user_busy}}
""")
    nodes = plan.nodes
    assert nodes["main.1"].step.key.source == "queue:sales"
    assert [type(nodes[i].step) for i in ("main.2/then.1", "main.2/then.2")] == [p.SetVars, p.Enqueue]
    assert nodes["main.2"].edges["else"] == "main.3"
    assert nodes["main.3"].step.test.describe() == (
        "days sat,sun and not hours 10:00-12:00,14:00-16:00"
    )
    assert nodes["main.3/then"].step == p.Transfer("night", "public", "XML")
    assert nodes["main.4/default"].step == p.Hangup("USER_BUSY")
    assert "invalid" not in nodes["main.4"].edges
    assert nodes[plan.queues["sales"].max_wait_then].step == p.Hangup("NORMAL_CLEARING")


def test_all_errors_are_reported_at_once():
    with pytest.raises(RulesError) as caught:
        compile_source("""
lines: {"1": {flow: nope}}
flows:
  main:
    - play: 42.wav
    - hangup: FOO
queues:
  q: {name: Q}
agents:
  a: {dial: user/a, skills: {x: 11}}
colors: blue
""")
    assert [str(problem) for problem in caught.value.problems] == [
        '<rules>:2:21: error: undefined flow "nope" (expected one of: main)',
        '<rules>:4:3: warning: flow "main" is never used (expected a line, route or goto that leads to it)',
        '<rules>:5:13: error: bad prompt id "42.wav" (expected a sound id like menu/main (letters, '
        "digits, _ and -, separated by /; no language, rate or .wav))",
        '<rules>:6:15: error: unknown hangup cause "FOO" (expected a Q.850 cause name such as '
        "NORMAL_CLEARING, USER_BUSY, NO_ANSWER, CALL_REJECTED)",
        '<rules>:8:6: error: queue "q" has no "max_wait"',
        '<rules>:10:33: error: bad value for level of skill "x": 11 (expected an integer from 1 to 10)',
        '<rules>:11:1: error: unknown key "colors" in the top level (expected one of: settings, '
        "lines, routes, flows, queues, agents)",
    ]


def test_load_plan_refuses_missing_prompts(tmp_path):
    with pytest.raises(RulesError) as caught:
        load_plan(E2E, tmp_path)
    reported = set(re.findall(r'missing sound files for prompt "([^"]+)"', str(caught.value)))
    assert {"greeting/acme", "menu/main", "queue/hold_music", "queue/you_are_caller"} <= reported
    assert re.search(r'missing sound files for what queue "\w+" says \(numbers, minutes, keys\): \S+/en/numbers/8000/1.wav',
                     str(caught.value))
    # Provide what was reported missing, and the numbers English speaks: then it loads.
    for prompt in reported | speech.grammar("en").vocabulary():
        folder, name = prompt.split("/")
        for rate in ("8000", "16000"):
            (tmp_path / "en" / folder / rate).mkdir(parents=True, exist_ok=True)
            (tmp_path / "en" / folder / rate / f"{name}.wav").write_bytes(b"")
    assert {"main", "support", "sales"} <= set(load_plan(E2E, tmp_path).flows)


KEYS = st.sampled_from(
    [*SECTIONS, *STEP_KINDS, *MENU_KEYS, *QUEUE_KEYS, "main", "then", "else", "id", "flow", "match",
     "hours", "days", "holiday", "after", "retries", "0", "1", "*", "x"]
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 30), st.sampled_from(
        ["main", "menu/main", "operator", "08:00-18:00", "mon-fri", "15m", "NORMAL_CLEARING", "{x}", "q"]
    ),
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from(SECTIONS), VALUES, max_size=6))
def test_any_rules_compile_or_report_problems(document):
    result = analyse_source(yaml.safe_dump(document))
    assert result.plan is not None or any(p.severity == "error" for p in result.problems)


def test_rules_nobody_can_call_are_refused_at_a_line():
    """Every error has a line, also this one about the rules as a whole."""
    assert [str(p) for p in analyse_source("# only flows\n\nflows: {main: [{hangup: }]}\n").problems] == [
        "<rules>:3:1: error: no lines and no routes: no call can reach a flow (expected a lines or routes section)",
        '<rules>:3:9: warning: flow "main" is never used (expected a line, route or goto that leads to it)',
    ]
