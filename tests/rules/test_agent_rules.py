"""Rules for agents at the phone: `agent:` steps and the agent fields they use."""

from __future__ import annotations

import pytest

from fsrouter.rules import compile_source
from fsrouter.rules.compiler import analyse_source

BASE = """
lines: {{"*50": {{flow: f}}}}
flows:
  f:
    - {step}
    - hangup:
queues:
  q: {{max_wait: {{after: 10s, then: {{hangup: }}}}}}
agents:
  "1001": {{dial: user/1001{agent}}}
{extra}"""


def errors(step="agent: {action: login}", agent="", extra=""):
    result = analyse_source(BASE.format(step=step, agent=agent, extra=extra), "r.yaml")
    return [str(p) for p in result.problems if p.severity == "error"]


def test_good_agent_rules_compile():
    assert errors(step="agent: {action: pause, reason: lunch, identify: {ask: agent/enter_id}}",
                  agent=', pin: "0042", caller_id: "+302101234567", login: auto') == []


@pytest.mark.parametrize("step, agent, extra, expected", [
    ("agent: {action: dance}", "", "", 'r.yaml:5:23: error: bad value for agent action: "dance" (expected one of: login, logout'),
    ("agent: {action: login, reason: x}", "", "", "a reason only with action: pause"),
    ("agent: {action: pause, reason: '$(rm -rf)'}", "", "", "bad value for pause reason"),
    ("agent: {}", "", "", 'agent has no "action"'),
    ("agent: {action: login, identify: phone}", "", "", 'bad value for identify: "phone"'),
    ("agent: {action: login, identify: {pin: true}}", "", "", 'identify has no "ask"'),
    ("agent: {action: login, identify: {ask: false}}", "", "", "bad value for identify ask"),
    ("agent: {action: login}", ", pin: 12", "", "bad value for pin: 12"),
    ("agent: {action: login}", ", pin: '12ab'", "", "bad value for pin"),
    ("agent: {action: login}", ", login: always", "", 'r.yaml:10:36: error: bad value for login: "always" (expected one of: manual, auto)'),
    ("agent: {action: login}", ", caller_id: 'a b'", "", "bad value for caller_id"),
    ("agent: {action: login}", ", caller_id: '2000'", '  "1002": {dial: user/1002, caller_id: "2000"}',
     'caller_id "2000" is also agent "1001"\'s'),
    ("agent: {action: login}", "", "settings: {agent_login: sometimes}", "bad value for agent_login"),
])
def test_bad_agent_rules_are_refused_at_their_position(step, agent, extra, expected):
    found = errors(step, agent, extra)
    assert any(expected in e for e in found), found


def test_agents_start_logged_out_unless_the_rules_say_otherwise():
    source = BASE.format(step="agent: {action: login}", agent="", extra='  "1002": {dial: user/1002, login: auto}')
    agents = compile_source(source).agents
    assert not agents["1001"].auto_login and agents["1002"].auto_login
    everyone = compile_source(source + "\nsettings: {agent_login: auto}\n").agents
    assert everyone["1001"].auto_login


def test_the_step_says_its_prompts_so_check_finds_missing_sounds():
    result = analyse_source(BASE.format(step="agent: {action: login}", agent="", extra=""))
    used = {use.template.source for use in result.prompts}
    assert {"agent/logged_in", "agent/paused", "agent/unknown", "agent/refused", "agent/bad_pin"} <= used
