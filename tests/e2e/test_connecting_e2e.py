"""End to end: how a queued caller and an agent are connected.

The agent hears the whisper on their own leg before the bridge (the caller
never does); an agent hanging up during it is a miss and the next agent is
tried; an agent answering mid-announcement is bridged at once; an agent
whose phone unregisters stops being offered calls, and a queue nobody
registered can serve sends callers to its `no_agents` destination.
"""

from __future__ import annotations

import gevent

from fsrouter.sim import CallerScript, HangUp
from fsrouter.sim.agent import AgentScript
from fsrouter.sim.scenario import prompt_id

CALL_TIMEOUT = 20


def spoken(leg) -> list[str]:
    return [s.removeprefix("tts:") for s in leg.sounds if s.startswith("tts:")]


def test_the_whisper_is_heard_by_the_agent_only_before_the_bridge(fsrouter):
    fsrouter.switch.add_agent(AgentScript(endpoint="user/3001", answer_after=0.2, hang_up_after=20))
    call = fsrouter.switch.place_call(CallerScript(destination="5005"))
    assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    leg = fsrouter.switch.agent_call(call.bridged_with)
    assert leg.endpoint == "user/3001"
    whisper = spoken(leg)
    assert len(whisper) == 1 and whisper[0].startswith("acme; Billing; invoices; waited "), leg.sounds
    assert not any(s.startswith("tts:") for s in call.sounds)  # the caller heard none of it
    speak = next(run for run in leg.apps if run.name == "speak")
    assert speak.end is not None and speak.end <= call.bridged_at  # bridged only once it was said


def test_an_agent_hanging_up_during_the_whisper_is_skipped_and_the_caller_keeps_waiting(fsrouter):
    # Gus hangs up a moment into the whisper; Hal, rung next, takes the call.
    fsrouter.switch.add_agent(AgentScript(endpoint="user/3001", answer_after=0.2, hang_up_after=0.3))
    fsrouter.switch.add_agent(AgentScript(endpoint="user/3002", answer_after=0.2, hang_up_after=20))
    call = fsrouter.switch.place_call(CallerScript(destination="5005"))
    assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    assert fsrouter.switch.agent_call(call.bridged_with).endpoint == "user/3002"
    gus = [leg for leg in fsrouter.switch.agent_calls if leg.endpoint == "user/3001"]
    assert gus and all(leg.bridged_with is None for leg in gus)
    assert "agent 3001: hangup during the whisper" in fsrouter.log_text()


def test_an_agent_answering_during_an_announcement_is_bridged_without_waiting_for_it(start_fsrouter):
    # At a fifth of real time the announcement ("you are caller number 1,
    # thank you for waiting", 5.5 sim s) starts at 2.5 sim s; the agent
    # answers at 5.5 sim s, in the middle of the thank-you.
    fsrouter = start_fsrouter(time_scale=0.2)
    fsrouter.switch.add_agent(AgentScript(endpoint="user/3003", answer_after=5.5, hang_up_after=2))
    call = fsrouter.switch.place_call(CallerScript(destination="5006"))
    assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    assert call.bridged_with is not None
    announcement = next(run for run in call.apps if run.arg and "you_are_caller" in run.arg)
    assert "queue/thank_you" in [prompt_id(s) for s in call.sounds]  # it had begun
    natural_end = announcement.start + 5.49
    assert call.bridged_at < natural_end - 1.0, "the bridge waited for the announcement to end"
    assert announcement.end is not None and announcement.end <= call.bridged_at + 0.5


def test_an_unregistered_phone_stops_being_offered_and_no_agents_is_followed(fsrouter):
    fsrouter.switch.add_agent(AgentScript(endpoint="user/3004", answer_after=None))
    waiting = fsrouter.switch.place_call(CallerScript(destination="5007"))
    fsrouter.wait_until(lambda: fsrouter.switch.agent_calls, 5, "the agent was never rung")
    fsrouter.switch.unregister("user/3004")
    assert waiting.wait(CALL_TIMEOUT), fsrouter.log_text()
    heard = [prompt_id(s) for s in waiting.sounds]
    assert heard[-1] == "queue/no_agents" and waiting.transferred_to == "operator"
    assert fsrouter.switch.agent_calls[0].hangup_cause == "ORIGINATOR_CANCEL"
    # Nobody registered now: the next caller is not made to wait at all.
    rung = len(fsrouter.switch.agent_calls)
    late = fsrouter.switch.place_call(CallerScript(destination="5007"))
    assert late.wait(CALL_TIMEOUT), fsrouter.log_text()
    assert [prompt_id(s) for s in late.sounds] == ["queue/no_agents"]
    assert len(fsrouter.switch.agent_calls) == rung
    # Registered again, the agent is offered calls again.
    fsrouter.switch.register("user/3004")
    gevent.sleep(0.2)
    again = fsrouter.switch.place_call(CallerScript(destination="5007", actions=[HangUp(at=20)]))
    fsrouter.wait_until(lambda: len(fsrouter.switch.agent_calls) > rung, 5, "not rung after registering")
    assert again.wait(CALL_TIMEOUT)
