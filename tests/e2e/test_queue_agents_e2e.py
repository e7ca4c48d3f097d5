"""End to end: a queued caller is bridged to a simulated agent.

fsrouter originates the agent leg on its inbound ESL connection while the
caller holds on the outbound session, then bridges the two; a missed agent
costs the caller nothing but time.
"""

from __future__ import annotations

import re

import gevent

from fsrouter.sim import CallerScript, HangUp
from fsrouter.sim.agent import AgentScript
from fsrouter.sim.scenario import prompt_id
from fsrouter.store import open_store

CALL_TIMEOUT = 20
NUMBER = re.compile(r"/numbers/(?:\d+/)?(\d+)\.wav$")  # numbers/N, with or without a rate dir


def queued_call(fsrouter, destination="5001"):
    call = fsrouter.switch.place_call(CallerScript(destination=destination))
    assert call.wait(CALL_TIMEOUT), f"call did not end\n{fsrouter.log_text()}"
    return call


def test_queued_caller_is_bridged_to_an_answering_agent(fsrouter):
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1001", answer_after=0.2, hang_up_after=0.5))
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1002", answer_after=0.2, hang_up_after=0.5))
    call = queued_call(fsrouter)
    legs = fsrouter.switch.agent_calls
    assert len(legs) == 1, legs
    assert call.bridged_with == legs[0].uuid
    assert "queue/max_wait" not in [prompt_id(s) for s in call.sounds]
    assert call.transferred_to is None
    assert call.hung_up_by == "fsrouter"  # the agent left; fsrouter ended the parked caller
    fsrouter.wait_until(lambda: "ended in state finished, outcome ('answered', '100" in fsrouter.log_text(),
                        5, "the call did not end as answered")
    fsrouter.wait_until(lambda: {"offered", "answered"} <= {e.kind for e in statistics(fsrouter, call.uuid)},
                        5, "the queue statistics were not stored")
    answered = next(e for e in statistics(fsrouter, call.uuid) if e.kind == "answered")
    assert answered.queue == "support" and answered.fields["wait"] >= 0


def statistics(fsrouter, entry_id):
    """The queue statistics events fsrouter stored for one call."""
    with open_store(f"sqlite:///{fsrouter.workdir}/fsrouter.db") as store:
        return [e for e in store.queue_events() if e.entry_id == entry_id]


def test_busy_agents_cost_the_caller_only_time(fsrouter):
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1001", busy=True))
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1002", busy=True))
    call = fsrouter.switch.place_call(CallerScript(destination="5001"))
    # Both agents busy: the caller keeps holding and, at max wait, goes on.
    assert call.wait(CALL_TIMEOUT)
    prompts = [prompt_id(s) for s in call.sounds]
    assert prompts[-1] == "queue/max_wait"
    assert call.bridged_with is None
    assert all(leg.answered_at is None for leg in fsrouter.switch.agent_calls)
    log = fsrouter.log_text()
    assert "agent 1001 missed call" in log and "agent 1002 missed call" in log


def test_caller_hanging_up_while_the_agent_rings_cancels_the_agent_leg(fsrouter):
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1001", answer_after=None))
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1002", answer_after=None))
    call = fsrouter.switch.place_call(CallerScript(
        destination="5001", actions=[HangUp(after_prompt="queue/hold_music", delay=0.5)]))
    assert call.wait(CALL_TIMEOUT)
    assert call.hung_up_by == "caller"
    fsrouter.wait_until(lambda: fsrouter.switch.agent_calls and all(
        leg.ended_at is not None for leg in fsrouter.switch.agent_calls), 10, "agent leg still ringing")
    assert {leg.hangup_cause for leg in fsrouter.switch.agent_calls} == {"ORIGINATOR_CANCEL"}
    assert all(leg.answered_at is None for leg in fsrouter.switch.agent_calls)


def test_waiting_callers_hear_their_position_fall_3_2_1(fsrouter):
    # One agent, four callers: each talk lasts 30 sim s (1.5 s at test speed).
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1003", answer_after=0.1, hang_up_after=30))
    calls = []
    for _ in range(4):
        calls.append(fsrouter.switch.place_call(CallerScript(destination="5002")))
        gevent.sleep(0.3)
    for call in calls:
        assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    last = calls[-1]
    positions = [int(m.group(1)) for m in map(NUMBER.search, last.sounds) if m]
    assert positions[0] == 3, positions
    assert {3, 2, 1} <= set(positions), positions
    assert positions == sorted(positions, reverse=True), f"an announced position rose: {positions}"
    assert all(call.bridged_with for call in calls)  # everyone reached the agent in the end
    heard = [prompt_id(s) for s in last.sounds]
    assert heard[heard.index("queue/you_are_caller") + 2] == "queue/thank_you"


def test_waiting_callers_hear_a_wait_estimate_once_service_has_been_timed(fsrouter):
    # Five calls of 10 sim s (0.5 s here) teach the queue its handle time.
    fsrouter.switch.add_agent(AgentScript(endpoint="user/3005", answer_after=0.1, hang_up_after=10))
    for _ in range(5):
        assert queued_call(fsrouter, "5008").bridged_with
    calls = []
    for _ in range(3):
        calls.append(fsrouter.switch.place_call(CallerScript(destination="5008")))
        gevent.sleep(0.1)
    for call in calls:
        assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    heard = [prompt_id(s) for s in calls[-1].sounds]
    positions = [int(m.group(1)) for m in map(NUMBER.search, calls[-1].sounds) if m]
    assert positions and positions[0] == 2 and positions == sorted(positions, reverse=True), positions
    said = heard.index("queue/estimated_wait")
    assert heard[said + 1] == "queue/less_than_a_minute", heard  # 0.5 s calls: under a minute
    assert heard[said + 2] == "queue/thank_you"


def answering(fsrouter, *extensions):
    for extension in extensions:
        fsrouter.switch.add_agent(AgentScript(endpoint=f"user/{extension}", answer_after=0.1,
                                              hang_up_after=4))


def bridged_agent(fsrouter, call) -> str:
    leg = fsrouter.switch.agent_call(call.bridged_with)
    return leg.endpoint


def test_skills_route_to_the_agent_the_strategy_picks_never_one_lacking_them(fsrouter):
    answering(fsrouter, "2001", "2002", "2003")
    first = fsrouter.switch.place_call(CallerScript(destination="5003"))
    gevent.sleep(0.3)
    second = fsrouter.switch.place_call(CallerScript(destination="5003"))
    for call in (first, second):
        assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    # most_skilled: Fay (billing 7, greek 8) first, then Eli (5, 3); never Dora (greek 2).
    assert bridged_agent(fsrouter, first) == "user/2003"
    assert bridged_agent(fsrouter, second) == "user/2002"
    assert all(leg.endpoint != "user/2001" for leg in fsrouter.switch.agent_calls)


def test_relaxation_reaches_a_less_skilled_agent_only_after_the_declared_time(fsrouter):
    answering(fsrouter, "2002")  # billing 5: below the queue's 9 until it relaxes to 2
    call = fsrouter.switch.place_call(CallerScript(destination="5004"))
    assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    leg = fsrouter.switch.agent_call(call.bridged_with)
    assert leg.endpoint == "user/2002"
    waited = (call.bridged_at - call.answered_at) * fsrouter.time_scale  # sim s -> real s
    assert waited >= 1.5, f"bridged after {waited:.2f} s, before the 1.5 s relax step"
    assert waited < 5, f"bridged only after {waited:.2f} s"
