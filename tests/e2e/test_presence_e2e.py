"""End to end: agents' presence as the switch tells it, and legs left behind.

fsrouter reads the switch's registrations whenever its inbound connection
comes up, so a phone that is not registered is not offered calls (and a
queue nobody registered can serve sends callers to `no_agents` at once); an
originate refused USER_NOT_REGISTERED says the same.  A leg whose originate
was cut off with the inbound connection is hung up after the reconnect,
before its agent is dialled again.
"""

from __future__ import annotations

from pathlib import Path

import gevent

from fsrouter.sim import CallerScript, HangUp, Press
from fsrouter.sim.agent import AgentScript, CustomerScript
from fsrouter.sim.scenario import prompt_id

PRESENCE_RULES = Path(__file__).parent / "rules" / "presence.yaml"
CALLBACK_RULES = Path(__file__).parent / "rules" / "callbacks.yaml"  # Kim (user/4001) calls back
LINE = "+302101234567"
OWN = "+306971234567"
CALL_TIMEOUT = 20
NOBODY = "5007"  # e2e.yaml's registered_only queue: Jo (user/3004) or `no_agents`


def prompts(call) -> list[str]:
    return [prompt_id(s) for s in call.sounds]


def served(fsrouter, destination: str):
    """A caller who stays until an agent is bridged (or 20 sim s pass)."""
    call = fsrouter.switch.place_call(CallerScript(destination=destination, actions=[HangUp(at=20)]))
    assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    return call


def test_a_phone_not_registered_at_start_sends_callers_to_no_agents_until_it_registers(fsrouter):
    fsrouter.switch.add_agent(AgentScript(endpoint="user/3004", unregistered=True))
    first = fsrouter.switch.place_call(CallerScript(destination=NOBODY))
    assert first.wait(CALL_TIMEOUT), fsrouter.log_text()
    assert prompts(first) == ["queue/no_agents"] and first.transferred_to == "operator"
    assert fsrouter.switch.agent_calls == []  # never rung
    fsrouter.switch.register("user/3004")
    fsrouter.wait_until(lambda: "agent 3004: phone registered" in fsrouter.log_text(), 5, "register not heard")
    second = served(fsrouter, NOBODY)
    [leg] = fsrouter.switch.agent_calls
    assert second.bridged_with == leg.uuid


def test_registrations_changed_while_fsrouter_was_down_are_read_at_start(fsrouter):
    fsrouter.switch.add_agent(AgentScript(endpoint="user/3004", answer_after=0.1, hang_up_after=1))
    fsrouter.kill()
    fsrouter.switch.unregister("user/3004")  # nobody hears it
    fsrouter.start()
    gone = fsrouter.switch.place_call(CallerScript(destination=NOBODY))
    assert gone.wait(CALL_TIMEOUT), fsrouter.log_text()
    assert prompts(gone) == ["queue/no_agents"] and fsrouter.switch.agent_calls == []
    fsrouter.kill()
    fsrouter.switch.register("user/3004")  # nobody hears it either
    fsrouter.start()
    assert served(fsrouter, NOBODY).bridged_with is not None


def test_an_originate_refused_user_not_registered_makes_the_agent_unreachable(start_fsrouter):
    # Without the core database (freeswitch -nosql) the registrations cannot
    # be read, so fsrouter takes the phone as reachable until told otherwise.
    fsrouter = start_fsrouter(switch_options={"sql": False})
    fsrouter.switch.add_agent(AgentScript(endpoint="user/3004", unregistered=True))
    first = fsrouter.switch.place_call(CallerScript(destination=NOBODY))
    assert first.wait(CALL_TIMEOUT), fsrouter.log_text()
    assert prompts(first)[-1] == "queue/no_agents" and first.transferred_to == "operator"
    log = fsrouter.log_text()
    assert "could not read the registrations" in log
    assert "agent 3004 missed call" in log and "USER_NOT_REGISTERED" in log
    second = fsrouter.switch.place_call(CallerScript(destination=NOBODY))
    assert second.wait(CALL_TIMEOUT), fsrouter.log_text()
    assert prompts(second) == ["queue/no_agents"]
    assert fsrouter.log_text().count("agent 3004 missed call") == 1  # not tried again
    fsrouter.switch.register("user/3004")
    fsrouter.wait_until(lambda: "agent 3004: phone registered" in fsrouter.log_text(), 5, "register not heard")
    assert served(fsrouter, NOBODY).bridged_with is not None


def test_a_leg_cut_off_with_the_inbound_connection_is_hung_up_before_its_agent_is_dialled_again(start_fsrouter):
    fsrouter = start_fsrouter(rules=PRESENCE_RULES)
    # Alice answers 0.2 s after the ring; the connection drops while it rings.
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1001", answer_after=4, hang_up_after=40))
    caller = fsrouter.switch.place_call(CallerScript(destination="6001", actions=[HangUp(at=100)]))
    fsrouter.wait_until(lambda: fsrouter.switch.agent_calls, 5, "Alice was never rung")
    fsrouter.inbound.sessions[-1].abort()
    fsrouter.wait_until(lambda: caller.bridged_with is not None, 10, "the caller was never bridged")
    first, second = fsrouter.switch.agent_calls
    assert first.answered_at is not None and first.bridged_with is None  # it answered, then waited parked
    assert (first.hangup_cause, first.hung_up_by) == ("ORIGINATOR_CANCEL", "fsrouter")
    assert second.placed_at >= first.placed_at + first.ended_at  # never two legs to Alice at once
    assert caller.bridged_with == second.uuid
    assert f"leg {first.uuid}: originated by this fsrouter, owned by no call: hung up" in fsrouter.log_text()
    gevent.sleep(0.5)
    assert len(fsrouter.switch.agent_calls) == 2


def test_callback_legs_cut_off_with_the_inbound_connection_are_hung_up_and_the_callback_kept(start_fsrouter):
    fsrouter = start_fsrouter(rules=CALLBACK_RULES)
    fsrouter.switch.add_agent(AgentScript(endpoint="user/4001", answer_after=0.2, hang_up_after=30))
    customer = f"sofia/gateway/carrier/{OWN}"
    # The first dial answers 0.2 s after the ring; the connection drops while it rings.
    fsrouter.switch.add_customer(CustomerScript(endpoint=customer, attempts=(4.0, 1.0), hang_up_after=10))
    busy = fsrouter.switch.place_call(CallerScript(destination=LINE, caller_id_number="+306900000000"))
    fsrouter.wait_until(lambda: busy.bridged_with is not None, 5, "the first caller was not bridged")
    caller = fsrouter.switch.place_call(CallerScript(destination=LINE, caller_id_number=OWN, actions=[
        Press("1", after_prompt="callback/offer"), Press("1", after_prompt="callback/confirm_keys")]))
    assert caller.wait(CALL_TIMEOUT), fsrouter.log_text()
    assert prompts(caller)[-1] == "callback/booked"
    fsrouter.wait_until(lambda: fsrouter.switch.dials(customer), 10, "the customer was never dialled")
    fsrouter.inbound.sessions[-1].abort()
    fsrouter.wait_until(lambda: len(fsrouter.switch.dials(customer)) == 2 and fsrouter.switch.dials(customer)[1]
                        .bridged_with is not None, 10, "the callback was not dialled again")
    first, second = fsrouter.switch.dials(customer)
    assert first.answered_at is not None and first.bridged_with is None
    assert (first.hangup_cause, first.hung_up_by) == ("ORIGINATOR_CANCEL", "fsrouter")
    agent_legs = [leg for leg in fsrouter.switch.agent_calls if leg.uuid != busy.bridged_with]
    whispered = agent_legs[0]  # Kim's leg for the callback, parked after the whisper
    assert whispered.bridged_with is None and whispered.hung_up_by == "fsrouter"
    log = fsrouter.log_text()
    assert f"leg {first.uuid}: originated by this fsrouter, owned by no call: hung up" in log
    assert f"leg {whispered.uuid}: originated by this fsrouter, owned by no call: hung up" in log
