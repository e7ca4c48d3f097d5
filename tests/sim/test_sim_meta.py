"""``bind_meta_app`` on an originated agent leg, over a real inbound socket:
``*N`` keyed on the phone is swallowed and runs the bound ``event``
application on the leg (also inside a bridge), which fires a
CHANNEL_APPLICATION event with the leg's Unique-ID."""

from __future__ import annotations

from sim_helpers import WAIT, api, bgapi, caller_router, collect, expect, inbound

from fsrouter.sim import AgentScript, CallerScript, HangUp, InboundListener, Press, Switch

SCALE = 0.02
AGENT = "3a7c1f0e-26a4-4a40-9c1f-4d1a1f7c7c02"
BIND = "bind_meta_app:1 a s event::Fsrouter-Transfer=1"


def run(press, target=f"'{BIND},park' inline", bridge=True):
    """An agent leg bound as `target` says, bridged to a parked caller; the
    inbound events, the caller's and the agent's calls."""
    router = caller_router([])
    switch = Switch(router.address, time_scale=SCALE, answer_in_dialplan=True)
    switch.add_agent(AgentScript("user/1001", answer_after=0.5, hang_up_after=40.0, press=press))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener, "CHANNEL_PARK CHANNEL_HANGUP_COMPLETE CHANNEL_APPLICATION DTMF "
                                         "BACKGROUND_JOB")
        call = switch.place_call(CallerScript(actions=[HangUp(at=100)]))
        expect(peer, "CHANNEL_PARK", Unique_ID=call.uuid)
        assert bgapi(peer, f"originate {{origination_uuid={AGENT}}}user/1001 {target}") == f"+OK {AGENT}\n"
        expect(peer, "CHANNEL_PARK", Unique_ID=AGENT)
        if bridge:
            assert api(peer, f"uuid_bridge {call.uuid} {AGENT}") == f"+OK {AGENT}\n"
        expect(peer, "CHANNEL_HANGUP_COMPLETE", Unique_ID=AGENT)
        assert call.wait(WAIT)
        events = collect(peer)
    router.stop()
    return events, call, switch.agent_call(AGENT)


def applications(events):
    return [(e.get("Unique-ID"), e.get("Fsrouter-Transfer")) for e in events if e.name == "CHANNEL_APPLICATION"]


def digits(events, uuid):
    return [e.get("DTMF-Digit") for e in events if e.name == "DTMF" and e.get("Unique-ID") == uuid]


def test_star_and_a_bound_key_in_a_bridge_fire_the_event_and_reach_nobody():
    events, call, leg = run([Press(at=10, keys="*1")])
    assert applications(events) == [(AGENT, "1")]
    assert digits(events, AGENT) == digits(events, call.uuid) == [] and call.digits == []
    assert ("event", "Fsrouter-Transfer=1") in [(a.name, a.arg) for a in leg.apps]
    assert leg.errors == []


def test_an_unbound_key_after_the_star_is_swallowed_and_ignored():
    events, call, leg = run([Press(at=10, keys="*7")])
    assert applications(events) == [] and digits(events, AGENT) == []


def test_a_plain_key_and_a_doubled_star_pass_through():
    events, call, leg = run([Press(at=10, keys="5**")])
    assert applications(events) == []
    assert digits(events, AGENT) == ["5", "*"]  # the second * ends the meta sequence and goes on


def test_the_bound_key_more_than_5_seconds_after_the_star_passes_through():
    events, call, leg = run([Press(at=10, keys="*"), Press(at=16, keys="1")])
    assert applications(events) == [] and digits(events, AGENT) == ["1"]


def test_an_unsimulated_binding_is_an_error_not_a_guess():
    events, call, leg = run([Press(at=10, keys="*1")], target="'bind_meta_app:1 b o event::X=1,park' inline")
    assert applications(events) == []
    assert leg.errors == ["bind_meta_app b o: not simulated (only a s / a a)"]
