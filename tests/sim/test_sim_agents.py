"""Agent legs over a real inbound socket: originate, uuid_bridge, uuid_broadcast, uuid_kill.

Sequences and reply texts follow the recorded ``inbound_bridge.txt``.
"""

from __future__ import annotations

import random

import gevent
from sim_helpers import WAIT, api, bgapi, caller_router, collect, expect, inbound

from fsrouter.esl.codec import parse_event
from fsrouter.sim import AgentScript, CallerScript, HangUp, InboundListener, Press, Switch
from fsrouter.sim.agent import parse_originate

SCALE = 0.02
AGENT_UUID = "2f193219-897e-487f-a026-82ff30779d99"
WHISPER = "tone_stream://%(300,100,800);loops=2"


def names_for(events, uuid: str) -> list[str]:
    return [e.name for e in events if e.uuid == uuid and e.name not in ("CHANNEL_STATE", "CHANNEL_CALLSTATE")]


def test_originate_answered_reports_the_leg_like_freeswitch():
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE)
    switch.add_agent(AgentScript("user/1001", answer_after=2.0))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener)
        body = bgapi(peer, f"originate {{origination_uuid={AGENT_UUID},origination_caller_id_number=9000,"
                           f"origination_caller_id_name=lab,fsr_skill=es}}user/1001 &park()")
        assert body == f"+OK {AGENT_UUID}\n"
        expect(peer, "CHANNEL_PARK", Unique_ID=AGENT_UUID)
        assert api(peer, f"uuid_exists {AGENT_UUID}") == "true"
        assert api(peer, f"uuid_getvar {AGENT_UUID} fsr_skill") == "es"
        assert api(peer, f"uuid_kill {AGENT_UUID}") == "+OK\n"
        expect(peer, "CHANNEL_DESTROY", Unique_ID=AGENT_UUID)
        assert api(peer, f"uuid_exists {AGENT_UUID}") == "false"
    events = collect(peer)
    assert names_for(events, AGENT_UUID) == [
        "CHANNEL_OUTGOING", "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_PROGRESS", "CHANNEL_ANSWER",
        "CHANNEL_OUTGOING", "CALL_UPDATE", "CHANNEL_EXECUTE", "CHANNEL_PARK", "CHANNEL_HANGUP", "CHANNEL_UNPARK",
        "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY"]
    create = next(e for e in events if e.name == "CHANNEL_CREATE")
    assert (create.get("Call-Direction"), create.get("Caller-Caller-ID-Number"), create.get("Caller-Caller-ID-Name"),
            create.get("Channel-Name"), create.get("variable_fsr_skill"), create.get("variable_origination_uuid")) == \
        ("outbound", "9000", "lab", "sofia/internal/1001@127.0.0.1:5080", "es", AGENT_UUID)
    # BACKGROUND_JOB comes after CHANNEL_ANSWER, before the park (as recorded)
    order = [e.name for e in events if e.name in ("CHANNEL_ANSWER", "BACKGROUND_JOB", "CHANNEL_PARK")]
    assert order[:3] == ["CHANNEL_ANSWER", "BACKGROUND_JOB", "CHANNEL_PARK"]
    [leg] = switch.agent_calls
    assert leg.answered_at is not None and leg.answered_at >= 1.9  # sim time measured in real time: no upper bound
    assert (leg.hangup_cause, leg.hung_up_by, leg.endpoint) == ("NORMAL_CLEARING", "fsrouter", "user/1001")


def test_originate_failures_give_the_freeswitch_causes():
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE)
    switch.add_agent(AgentScript("user/1001", answer_after=None))
    switch.add_agent(AgentScript("user/1002", busy=True))
    switch.add_agent(AgentScript("user/1003", reject=True))
    switch.add_agent(AgentScript("user/1004", unregistered=True))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener)
        assert bgapi(peer, "originate {originate_timeout=5}user/1001 &park()") == "-ERR NO_ANSWER\n"
        assert bgapi(peer, "originate user/1002 &park()") == "-ERR USER_BUSY\n"
        assert bgapi(peer, "originate user/1003 &park()") == "-ERR CALL_REJECTED\n"
        assert bgapi(peer, "originate user/1004 &park()") == "-ERR USER_NOT_REGISTERED\n"
        assert bgapi(peer, "originate user/1999 &park()") == "-ERR SUBSCRIBER_ABSENT\n"
        assert api(peer, "originate user/1002 &park()") == "-ERR USER_BUSY\n"
        assert api(peer, "show channels count") == "\n0 total.\n"
    no_answer, busy, rejected, busy_again = switch.agent_calls
    assert (no_answer.hangup_cause, no_answer.answered_at) == ("NO_ANSWER", None)
    assert no_answer.ended_at >= 5.0
    assert (busy.hangup_cause, rejected.hangup_cause) == ("USER_BUSY", "CALL_REJECTED")
    # the unregistered phone never got a channel
    assert len(switch.agent_calls) == 4


def test_broadcast_to_the_agent_leg_only_then_agent_hangs_up():
    """Whisper on the agent leg, uuid_bridge, the agent hangs up: the caller is unbridged and hung up."""
    uuids: list[str] = []
    router = caller_router(uuids)
    switch = Switch(router.address, time_scale=SCALE, answer_in_dialplan=True)
    switch.add_agent(AgentScript("user/1001", answer_after=1.0, hang_up_after=40.0,
                                 press=[Press(at=20.0, keys="4")]))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener)
        call = switch.place_call(CallerScript(actions=[HangUp(at=100)]))
        expect(peer, "CHANNEL_PARK", Unique_ID=call.uuid)
        assert bgapi(peer, f"originate {{origination_uuid={AGENT_UUID}}}user/1001 &park()") == f"+OK {AGENT_UUID}\n"
        assert api(peer, f"uuid_broadcast {AGENT_UUID} {WHISPER} aleg") == "+OK Message sent\n"
        expect(peer, "PLAYBACK_STOP", Unique_ID=AGENT_UUID)
        assert api(peer, f"uuid_bridge {AGENT_UUID} {call.uuid}") == f"+OK {call.uuid}\n"
        bridge = expect(peer, "CHANNEL_BRIDGE")
        assert (bridge.uuid, bridge.get("Bridge-A-Unique-ID"), bridge.get("Bridge-B-Unique-ID"),
                bridge.get("Other-Leg-Unique-ID")) == (AGENT_UUID, AGENT_UUID, call.uuid, call.uuid)
        expect(peer, "DTMF", Unique_ID=call.uuid, DTMF_Digit="4")  # the agent's digit on both legs
        unbridge = expect(peer, "CHANNEL_UNBRIDGE")
        assert unbridge.uuid == AGENT_UUID
        expect(peer, "CHANNEL_HANGUP_COMPLETE", Unique_ID=call.uuid)
        assert call.wait(WAIT)
    router.check()
    router.stop()
    leg = switch.agent_call(AGENT_UUID)
    assert leg.sounds == [WHISPER] and [r.source for r in leg.apps if r.name == "playback"] == ["broadcast"]
    assert call.sounds == [] and uuids == [call.uuid]
    assert (leg.bridged_with, call.bridged_with) == (call.uuid, AGENT_UUID)
    assert [d for _, d in leg.digits] == ["4"]
    assert (leg.hangup_cause, leg.hung_up_by) == ("NORMAL_CLEARING", "agent")
    assert (call.hangup_cause, call.hung_up_by) == ("NORMAL_CLEARING", "switch")
    assert not call.continued_dialplan


def test_broadcast_both_and_park_after_bridge():
    uuids: list[str] = []
    router = caller_router(uuids)
    switch = Switch(router.address, time_scale=SCALE, answer_in_dialplan=True)
    switch.add_agent(AgentScript("user/1001", answer_after=0.5))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener)
        call = switch.place_call(CallerScript(actions=[HangUp(at=100)]))
        expect(peer, "CHANNEL_PARK", Unique_ID=call.uuid)
        assert api(peer, f"uuid_setvar {call.uuid} park_after_bridge true") == "+OK\n"
        bgapi(peer, f"originate {{origination_uuid={AGENT_UUID}}}user/1001 &park()")
        assert api(peer, f"uuid_bridge {AGENT_UUID} {call.uuid}") == f"+OK {call.uuid}\n"
        expect(peer, "CHANNEL_BRIDGE")
        assert api(peer, f"uuid_broadcast {AGENT_UUID} {WHISPER} both") == "+OK Message sent\n"
        expect(peer, "PLAYBACK_STOP", Unique_ID=call.uuid)
        assert api(peer, f"uuid_send_dtmf {AGENT_UUID} 9") == f"+OK {AGENT_UUID} sent DTMF 9.\n"
        assert api(peer, f"uuid_kill {AGENT_UUID}") == "+OK\n"
        expect(peer, "CHANNEL_UNBRIDGE")
        expect(peer, "CHANNEL_PARK", Unique_ID=call.uuid)  # parked again, still up
        assert api(peer, f"uuid_exists {call.uuid}") == "true"
        assert api(peer, f"uuid_kill {call.uuid}") == "+OK\n"
        assert call.wait(WAIT)
    router.check()
    router.stop()
    assert call.sounds == [WHISPER] and switch.agent_call(AGENT_UUID).sounds == [WHISPER]
    assert call.hung_up_by == "fsrouter"
    assert switch.agent_call(AGENT_UUID).sent_dtmf == ["9"]
    assert not any(e.name == "DTMF" for e in collect(peer))  # uuid_send_dtmf fires no DTMF event


def test_caller_hangs_up_while_agent_rings_and_the_leg_is_cancelled():
    uuids: list[str] = []
    router = caller_router(uuids)
    switch = Switch(router.address, time_scale=SCALE, answer_in_dialplan=True)
    switch.add_agent(AgentScript("user/1001", answer_after=None))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener)
        # the caller hangs up 25 sim seconds after fsrouter's answer, while the agent rings
        call = switch.place_call(CallerScript(actions=[HangUp(after_app_count=1, delay=25.0)]))
        expect(peer, "CHANNEL_PARK", Unique_ID=call.uuid)
        job = peer.command(f"bgapi originate {{origination_uuid={AGENT_UUID}}}user/1001 &park()").header("Job-UUID")
        expect(peer, "CHANNEL_PROGRESS", Unique_ID=AGENT_UUID)
        expect(peer, "CHANNEL_HANGUP", Unique_ID=call.uuid)
        assert api(peer, f"uuid_kill {AGENT_UUID} ORIGINATOR_CANCEL") == "+OK\n"
        expect(peer, "CHANNEL_DESTROY", Unique_ID=AGENT_UUID)
        result = expect(peer, "BACKGROUND_JOB", Job_UUID=job)  # the job and the leg's end race, as in FS
        assert result.body == b"-ERR ORIGINATOR_CANCEL\n"
        hangup = expect(peer, "CHANNEL_HANGUP_COMPLETE", Unique_ID=AGENT_UUID)
        assert hangup.get("Hangup-Cause") == "ORIGINATOR_CANCEL"
        assert call.wait(WAIT)
    router.check()
    router.stop()
    leg = switch.agent_call(AGENT_UUID)
    assert (leg.hangup_cause, leg.hung_up_by, leg.answered_at) == ("ORIGINATOR_CANCEL", "fsrouter", None)
    assert call.hung_up_by == "caller"


def test_handle_time_distribution_is_seeded():
    def draw(rng: random.Random) -> float:
        return rng.uniform(1.0, 3.0)

    def handle_times(seed: int) -> list[float]:
        switch = Switch(("127.0.0.1", 9), time_scale=SCALE, seed=seed)
        switch.add_agent(AgentScript("user/1001", answer_after=0.1, hang_up_after=draw))
        with switch:
            for _ in range(2):
                assert switch.originate("user/1001 &park()").startswith("+OK ")
            gevent.wait([gevent.spawn(c.wait, WAIT) for c in switch.agent_calls])
        assert all(c.hung_up_by == "agent" for c in switch.agent_calls)
        return [c.handle_time for c in switch.agent_calls]

    first = handle_times(7)
    assert first == handle_times(7) and all(1.0 <= t <= 3.0 for t in first)


def test_parse_originate():
    assert parse_originate("{a=1,b='x,y'}user/1001 &playback(/tmp/x.wav)") == \
        ({"a": "1", "b": "x,y"}, "user/1001", "&playback(/tmp/x.wav)")
    assert parse_originate("user/1001 5000 XML default") == ({}, "user/1001", "5000 XML default")


def test_originate_with_playback_or_an_extension():
    """``&playback(file)`` plays on the agent leg, which then hangs up; an extension parks it there."""
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE)
    switch.add_agent(AgentScript("user/1001", answer_after=0.2))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener)
        tone = "tone_stream://%(500,0,440);loops=1"
        answered = bgapi(peer, f"originate {{origination_uuid={AGENT_UUID}}}user/1001 &playback({tone})")
        assert answered == f"+OK {AGENT_UUID}\n"
        expect(peer, "CHANNEL_HANGUP_COMPLETE", Unique_ID=AGENT_UUID)
        other = bgapi(peer, "originate user/1001 5000 XML default").split()[1]
        expect(peer, "CHANNEL_PARK", Unique_ID=other)
        assert api(peer, f"uuid_kill {other}") == "+OK\n"
        expect(peer, "CHANNEL_DESTROY", Unique_ID=other)
    played, parked = switch.agent_calls
    assert played.sounds == [tone] and (played.hangup_cause, played.hung_up_by) == ("NORMAL_CLEARING", "switch")
    assert parked.transferred_to == "5000" and parked.hung_up_by == "fsrouter"


def test_bridge_sequence_on_the_originated_leg_follows_the_recording():
    """The park application completes before the bridge: UNPARK, EXECUTE_COMPLETE, then CHANNEL_BRIDGE."""
    router = caller_router([])
    switch = Switch(router.address, time_scale=SCALE, answer_in_dialplan=True)
    switch.add_agent(AgentScript("user/1001", answer_after=0.2))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener)
        call = switch.place_call(CallerScript(actions=[HangUp(at=100)]))
        expect(peer, "CHANNEL_PARK", Unique_ID=call.uuid)
        bgapi(peer, f"originate {{origination_uuid={AGENT_UUID}}}user/1001 &park()")
        api(peer, f"uuid_bridge {AGENT_UUID} {call.uuid}")
        expect(peer, "CHANNEL_BRIDGE")
        assert api(peer, f"uuid_kill {call.uuid}") == "+OK\n"  # now the caller ends first
        expect(peer, "CHANNEL_DESTROY", Unique_ID=AGENT_UUID)
        assert call.wait(WAIT)
    router.check()
    router.stop()
    agent = [e for e in collect(peer) if e.uuid == AGENT_UUID]
    after_park = [(e.name, e.get("Channel-State") if e.name == "CHANNEL_STATE" else e.get("Application"))
                  for e in agent[[e.name for e in agent].index("CHANNEL_UNPARK"):]]
    assert after_park[:7] == [
        ("CHANNEL_UNPARK", None), ("CHANNEL_EXECUTE_COMPLETE", "park"), ("CHANNEL_STATE", "CS_HIBERNATE"),
        ("CHANNEL_STATE", "CS_RESET"), ("CHANNEL_STATE", "CS_SOFT_EXECUTE"), ("CHANNEL_EXECUTE", "uuid_bridge"),
        ("CHANNEL_BRIDGE", None)]
    names = [e.name for e in agent]
    assert names.index("CHANNEL_UNBRIDGE") < names.index("CHANNEL_HANGUP_COMPLETE")
    leg = switch.agent_call(AGENT_UUID)
    assert (leg.hangup_cause, leg.hung_up_by) == ("NORMAL_CLEARING", "switch")
    assert (call.hangup_cause, call.hung_up_by) == ("NORMAL_CLEARING", "fsrouter")


def test_caller_first_bridge_is_seen_on_the_callers_outbound_socket():
    """``uuid_bridge <caller> <agent>`` (fsrouter's order): the caller is the A leg, its socket sees it all."""
    router = caller_router([])
    switch = Switch(router.address, time_scale=SCALE, answer_in_dialplan=True)
    switch.add_agent(AgentScript("user/1001", answer_after=0.2, hang_up_after=10.0))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener)
        call = switch.place_call(CallerScript(actions=[HangUp(at=100)]))
        expect(peer, "CHANNEL_PARK", Unique_ID=call.uuid)
        bgapi(peer, f"originate {{origination_uuid={AGENT_UUID},fsrouter_caller_uuid={call.uuid}}}user/1001 &park()")
        assert api(peer, f"uuid_broadcast {AGENT_UUID} {WHISPER} aleg") == "+OK Message sent\n"
        expect(peer, "PLAYBACK_STOP", Unique_ID=AGENT_UUID)
        assert api(peer, f"uuid_bridge {call.uuid} {AGENT_UUID}") == f"+OK {AGENT_UUID}\n"
        bridge = expect(peer, "CHANNEL_BRIDGE")
        assert (bridge.uuid, bridge.get("Other-Leg-Unique-ID")) == (call.uuid, AGENT_UUID)
        assert expect(peer, "CHANNEL_UNBRIDGE").uuid == call.uuid
        assert call.wait(WAIT)
    router.check()
    router.stop()
    on_socket = [parse_event(f).name for f in router.peers[0].frames if f.content_type == "text/event-plain"]
    assert "CHANNEL_BRIDGE" in on_socket and "CHANNEL_UNBRIDGE" in on_socket
    assert on_socket.index("CHANNEL_UNBRIDGE") < on_socket.index("CHANNEL_HANGUP_COMPLETE")
    assert call.sounds == [] and switch.agent_call(AGENT_UUID).sounds == [WHISPER]
    assert switch.agent_call(AGENT_UUID).hung_up_by == "agent" and call.hung_up_by == "switch"
