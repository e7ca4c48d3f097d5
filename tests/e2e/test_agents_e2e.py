"""End to end: agents log in, log out and pause by feature code on the phone
and through the API, over real sockets, against `fsrouter run`.

The rules (rules/agents.yaml) declare Ann (1101) and Cy (1103) logged out
at start and Bob (1102) `login: auto`; one queue, `desk`, whose
`no_agents` transfers to `nobody_here`.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from fsrouter.api.client import ClientError
from fsrouter.sim import CallerScript
from fsrouter.sim.agent import AgentScript
from fsrouter.sim.caller import Press
from fsrouter.sim.scenario import prompt_id

RULES = Path(__file__).parent / "rules" / "agents.yaml"
CALL_TIMEOUT = 20


@pytest.fixture
def centre(start_fsrouter):
    running = start_fsrouter(rules=RULES)
    for extension in ("1101", "1102", "1103"):
        running.switch.add_agent(AgentScript(endpoint=f"user/{extension}", answer_after=0.1, hang_up_after=1))
    return running


def dial(fsrouter, destination, caller="+306900000000", actions=()):
    call = fsrouter.switch.place_call(CallerScript(destination=destination, caller_id_number=caller,
                                                   actions=actions))
    assert call.wait(CALL_TIMEOUT), f"call to {destination} did not end\n{fsrouter.log_text()}"
    return call


def feature_code(fsrouter, code, caller, actions=()) -> list[str]:
    """Dial a feature code; the prompts heard."""
    return [prompt_id(s) for s in dial(fsrouter, code, caller, actions).sounds]


def agent(fsrouter, agent_id) -> dict:
    return fsrouter.api("GET", f"/agents/{agent_id}")


def bridged_endpoint(fsrouter, call) -> str | None:
    return fsrouter.switch.agent_call(call.bridged_with).endpoint if call.bridged_with else None


def test_an_agent_logs_in_by_feature_code_and_is_offered_the_next_call(centre):
    assert feature_code(centre, "*51", caller="1102") == ["agent/logged_out"]  # Bob leaves
    assert agent(centre, "1101")["state"] == "logged_out"
    assert feature_code(centre, "*50", caller="1101") == ["agent/logged_in"]  # Ann arrives
    assert agent(centre, "1101")["state"] == "available"
    call = dial(centre, "6001")
    assert bridged_endpoint(centre, call) == "user/1101"
    assert {leg.endpoint for leg in centre.switch.agent_calls} == {"user/1101"}


def test_a_phone_that_is_no_agents_hears_so_and_changes_nothing(centre):
    assert feature_code(centre, "*50", caller="+306999999999") == ["agent/unknown"]
    assert [a["state"] for a in centre.api("GET", "/agents")["agents"]] == ["logged_out", "available", "logged_out"]


def test_a_paused_agent_is_skipped(centre):
    # Cy logs in from any phone with id and PIN (a wrong PIN first).
    heard = feature_code(centre, "*53", caller="anonymous", actions=[
        Press("1103#", after_prompt="agent/enter_id"),
        Press("0000#", after_prompt="agent/enter_pin"),
        Press("1103#", after_prompt="agent/enter_id", occurrence=2),
        Press("4711#", after_prompt="agent/enter_pin", occurrence=2),
    ])
    assert heard == ["agent/enter_id", "agent/enter_pin", "agent/bad_pin", "agent/enter_id",
                     "agent/enter_pin", "agent/logged_in"]
    # Bob, idle the longest, would be offered the call: he goes to lunch.
    assert feature_code(centre, "*52", caller="1102") == ["agent/paused"]
    bob = agent(centre, "1102")
    assert (bob["state"], bob["reason"]) == ("paused", "lunch")
    call = dial(centre, "6001")
    assert bridged_endpoint(centre, call) == "user/1103"
    assert "user/1102" not in {leg.endpoint for leg in centre.switch.agent_calls}
    assert feature_code(centre, "*52", caller="1102") == ["agent/unpaused"]
    assert agent(centre, "1102")["state"] == "available"


def test_agent_states_survive_a_restart(centre):
    centre.api("POST", "/agents/1101/login")
    centre.api("POST", "/agents/1102/pause", {"reason": "training"})
    centre.kill()  # SIGKILL: nothing is written on the way out
    centre.start()
    states = {a["id"]: (a["state"], a["reason"]) for a in centre.api("GET", "/agents")["agents"]}
    assert states == {"1101": ("available", ""), "1102": ("paused", "training"), "1103": ("logged_out", "")}
    call = dial(centre, "6001")
    assert bridged_endpoint(centre, call) == "user/1101"


def test_the_last_agent_logging_out_sends_new_callers_to_no_agents(centre):
    first = dial(centre, "6001")
    assert bridged_endpoint(centre, first) == "user/1102"  # Bob serves
    assert feature_code(centre, "*51", caller="1102") == ["agent/logged_out"]
    call = dial(centre, "6001")
    assert call.bridged_with is None
    assert [prompt_id(s) for s in call.sounds] == ["queue/no_agents"]
    assert call.transferred_to is not None and call.transferred_to.startswith("nobody_here")


def test_the_api_refuses_what_the_state_forbids_and_unknown_agents(centre):
    with pytest.raises(ClientError) as forbidden:
        centre.api("POST", "/agents/1101/pause", {"reason": "lunch"})
    assert forbidden.value.status == 409 and "logged out" in str(forbidden.value)
    with pytest.raises(ClientError) as unknown:
        centre.api("POST", "/agents/9999/login")
    assert unknown.value.status == 404
    assert agent(centre, "1101")["state"] == "logged_out"


def test_a_reload_keeps_agent_states_and_new_agents_start_as_the_rules_say(centre):
    centre.api("POST", "/agents/1101/login")
    centre.api("POST", "/agents/1102/pause", {"reason": "training"})
    text = centre.rules.read_text().replace(
        "agents:\n", 'agents:\n  "1104": {name: Di, dial: user/1104, skills: {desk: 5}, login: auto}\n')
    centre.rules.write_text(text)
    centre.proc.send_signal(signal.SIGHUP)
    centre.wait_until(lambda: "1104" in {a["id"] for a in centre.api("GET", "/agents")["agents"]}, 10,
                      "the reload did not add agent 1104")
    states = {a["id"]: (a["state"], a["reason"]) for a in centre.api("GET", "/agents")["agents"]}
    assert states == {"1101": ("available", ""), "1102": ("paused", "training"), "1103": ("logged_out", ""),
                      "1104": ("available", "")}
