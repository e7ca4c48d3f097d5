"""Dial strings are checked as `originate` will use them: one endpoint.

`fsvalues.dial_string` refuses at run time a dial string that could add a
leg (`,` `|` `:_:`), a variable block (`{}` `[]` `<>`), an argument (a
space) or an expansion (`$`); `check` refuses the same at the line, so a
file that passes check never has an agent that cannot be dialled."""

from __future__ import annotations

import pytest

from fsrouter.rules import analyse_source

RULES = """\
lines: {"1": {flow: main}}
flows:
  main: [{queue: q}]
agents:
  "1001": {dial: AGENT_DIAL, skills: {a: 5}}
queues:
  q:
    require: {a: 1}
    max_wait: {after: 10m, then: {hangup: }}
    callback:
      offer_when: {wait_over: 1m}
      region: GR
      dial: CALLBACK_DIAL
"""


def errors(agent_dial: str = "user/1001", callback_dial: str = "'sofia/gateway/gw/{number}'") -> list[str]:
    source = RULES.replace("AGENT_DIAL", agent_dial).replace("CALLBACK_DIAL", callback_dial)
    return [str(p) for p in analyse_source(source, "r.yaml").problems if p.severity == "error"]


def test_single_endpoints_pass():
    assert errors() == []
    assert errors(agent_dial="sofia/internal/1001%pbx.example.com", callback_dial="'loopback/{number}/default'") == []


@pytest.mark.parametrize("dial", [
    "'user/1001,user/1002'",        # a second leg, rung at once
    "'user/1001|sofia/gateway/premium/0900'",  # a second leg, rung after
    "'{ignore_early_media=true}user/1001'",  # a variable block
    "'[x=1]user/1001'",
    "'user/1001:_:user/1002'",
    "'user/${x}'",                 # an expansion
    "'user/1001 x'",               # a second argument
    "'user/{language}'",           # an agent's dial has no call to take variables from
])
def test_an_agent_dial_that_is_not_one_endpoint_is_refused_at_its_line(dial):
    [error] = errors(agent_dial=dial)
    assert error.startswith("r.yaml:5:18: error: bad value for dial: "), error


@pytest.mark.parametrize("dial", [
    "'sofia/gateway/gw/{number},user/1001'",
    "'sofia/gateway/gw/{number}|user/1001'",
    "'{origination_caller_id_number=1}sofia/gateway/gw/{number}'",
    "'{number}'",  # a number whose characters are all dropped would dial nothing
])
def test_a_callback_dial_that_is_not_one_endpoint_is_refused_at_its_line(dial):
    [error] = errors(callback_dial=dial)
    assert error.startswith("r.yaml:13:13: error: bad value for callback dial: "), error
