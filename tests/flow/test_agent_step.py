"""The `agent:` step in a call: identification, the change asked of the
runtime, what is said; the machine alone, time passed by hand."""

from __future__ import annotations

import pytest

from fsrouter.flow import CallMachine
from fsrouter.flow.commands import Answer, ChangeAgentState, Collect, Hangup, Play
from fsrouter.flow.events import AgentChanged, CallerHungUp, CommandFailed, MediaDone
from fsrouter.rules import compile_source
from fsrouter.rules.agent_step import by_caller_id, dial_user

RULES = """
lines:
  "*50": {flow: login}
  "*52": {flow: pause}
  "*53": {flow: pin_login}
  "*54": {flow: no_pin}
flows:
  login:
    - agent: {action: login}
    - hangup:
  pause:
    - agent: {action: toggle_pause, reason: lunch}
    - hangup:
  pin_login:
    - agent: {action: login, identify: {ask: agent/enter_id, pin: true}}
    - hangup:
  no_pin:
    - agent: {action: logout, identify: {ask: agent/enter_id, pin: false}}
    - hangup:
queues:
  q: {max_wait: {after: 10s, then: {hangup: }}}
agents:
  "1001": {dial: user/1001, pin: "4711"}
  "1002": {dial: "sofia/gateway/gw/+30210", caller_id: "+302101111111"}
  "1003": {dial: user/1003@example.com}
"""
T0 = 1_000.0


@pytest.fixture(scope="module")
def plan():
    return compile_source(RULES)


def call(plan, number, caller="1001") -> tuple[CallMachine, list]:
    m = CallMachine(plan, {"destination_number": number, "caller_id_number": caller, "uuid": "u1"}, now=T0)
    return m, m.start(T0)


def said(commands) -> list[str]:
    return [s for c in commands if isinstance(c, Play) for s in c.sounds]


def test_an_agent_is_identified_by_the_user_of_their_dial_string(plan):
    m, commands = call(plan, "*50", caller="1001")
    assert commands == [Answer(), ChangeAgentState("1001", "login", "")]
    commands = m.feed(AgentChanged("logged_in"), T0)
    assert said(commands) == ["en/agent/logged_in.wav"]
    assert m.feed(MediaDone(commands[-1].command_id), T0) == [Hangup("NORMAL_CLEARING")]


def test_a_declared_caller_id_identifies_the_agent_and_the_pause_carries_its_reason(plan):
    m, commands = call(plan, "*52", caller="+302101111111")
    assert commands[-1] == ChangeAgentState("1002", "toggle_pause", "lunch")
    assert said(m.feed(AgentChanged("paused"), T0)) == ["en/agent/paused.wav"]


def test_an_unknown_caller_hears_so_and_nothing_is_asked_of_the_runtime(plan):
    m, commands = call(plan, "*50", caller="+306900000000")
    assert not any(isinstance(c, ChangeAgentState) for c in commands)
    assert said(commands) == ["en/agent/unknown.wav"]
    assert m.feed(MediaDone(commands[-1].command_id), T0) == [Hangup("NORMAL_CLEARING")]


def test_the_runtime_refusing_the_change_is_said(plan):
    m, _ = call(plan, "*50")
    assert said(m.feed(AgentChanged("refused"), T0)) == ["en/agent/refused.wav"]


def test_id_and_pin_are_asked_and_a_matching_pair_changes_the_state(plan):
    m, commands = call(plan, "*53", caller="anonymous")
    ask = commands[-1]
    assert isinstance(ask, Collect) and ask.sounds == ("en/agent/enter_id.wav",)
    pin = m.feed(MediaDone(ask.command_id, digits="1001"), T0)[-1]
    assert isinstance(pin, Collect) and pin.sounds == ("en/agent/enter_pin.wav",)
    assert m.feed(MediaDone(pin.command_id, digits="4711"), T0) == [ChangeAgentState("1001", "login", "")]


def test_a_wrong_pin_is_asked_again_then_refused(plan):
    m, commands = call(plan, "*53")
    for attempt in range(3):
        ask = commands[-1]
        pin = m.feed(MediaDone(ask.command_id, digits="1001"), T0)[-1]
        commands = m.feed(MediaDone(pin.command_id, digits="0000"), T0)
        assert said(commands) == ["en/agent/bad_pin.wav"]
        assert not any(isinstance(c, ChangeAgentState) for c in commands)
        commands = m.feed(MediaDone(commands[-1].command_id), T0)
        if attempt < 2:
            assert isinstance(commands[-1], Collect)  # asked again
    assert commands == [Hangup("NORMAL_CLEARING")]


def test_an_agent_without_a_pin_cannot_be_identified_by_keying(plan):
    m, commands = call(plan, "*53")
    pin = m.feed(MediaDone(commands[-1].command_id, digits="1003"), T0)[-1]
    assert said(m.feed(MediaDone(pin.command_id, digits=""), T0)) == ["en/agent/bad_pin.wav"]


def test_without_a_pin_the_id_alone_identifies_and_a_failed_question_counts_as_wrong(plan):
    m, commands = call(plan, "*54")
    commands = m.feed(CommandFailed(commands[-1].command_id, "FILE NOT FOUND"), T0)
    assert said(commands) == ["en/agent/bad_pin.wav"]
    ask = m.feed(MediaDone(commands[-1].command_id), T0)[-1]
    assert m.feed(MediaDone(ask.command_id, digits="1003"), T0) == [ChangeAgentState("1003", "logout", "")]


def test_a_caller_hanging_up_mid_step_ends_the_machine_quietly(plan):
    m, _ = call(plan, "*50")
    assert m.feed(CallerHungUp(), T0) == []
    assert m.finished
    assert m.feed(AgentChanged("logged_in"), T0) == []


def test_stale_completions_are_ignored(plan):
    m, commands = call(plan, "*53")
    assert m.feed(MediaDone(999, digits="1001"), T0) == []
    assert m.feed(AgentChanged("logged_in"), T0) == []  # nothing was asked yet


def test_matching_helpers():
    assert dial_user("user/1001") == "1001" and dial_user("user/1003@example.com") == "1003"
    assert dial_user("sofia/gateway/gw/1001") is None
    agents = compile_source(RULES).agents
    assert by_caller_id(agents, "1003") == "1003"
    assert by_caller_id(agents, "+302101111111") == "1002"
    assert by_caller_id(agents, "") is None
