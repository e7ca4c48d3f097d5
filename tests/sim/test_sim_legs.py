"""Legs fsrouter originates itself, over a real inbound socket: an agent's leg with an
inline-dialplan whisper, a customer dialled through a gateway for a callback,
and phones registering and unregistering.
"""

from __future__ import annotations

import json

import pytest
from sim_helpers import WAIT, api, bgapi, caller_router, collect, expect, inbound

from fsrouter.sim import AgentScript, CallerScript, CustomerScript, Distribution, HangUp, InboundListener, Switch
from fsrouter.sim.agent import target_apps
from fsrouter.sim.media import speech_seconds

SCALE = 0.02
AGENT = "2f193219-897e-487f-a026-82ff30779d99"
CUSTOMER = "7d4bbf0e-26a4-4a40-9c1f-4d1a1f7c7c01"
WHISPER = "Acme. Billing. waited 2 minutes"
LEG_EVENTS = "CHANNEL_PARK CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB"
GATEWAY = "sofia/gateway/carrier/+306912345678"


def whisper_originate(uuid: str = AGENT, endpoint: str = "user/1001") -> str:
    return (f"originate {{origination_uuid={uuid},originate_timeout=20}}{endpoint} "
            f"'speak:flite|kal|{WHISPER},park' inline")


def test_target_apps_reads_inline_dialplans_applications_and_extensions():
    assert target_apps("'speak:flite|kal|Hi: you. there,park' inline") == \
        ([("speak", "flite|kal|Hi: you. there"), ("park", None)], None)
    assert target_apps("'playback:/abs/intro.wav,park' inline") == \
        ([("playback", "/abs/intro.wav"), ("park", None)], None)
    assert target_apps("&park()") == ([("park", None)], None)
    assert target_apps("5000 XML default") == ([("park", None)], "5000")


def test_the_whisper_is_spoken_on_the_agent_leg_then_it_parks_and_bridges():
    router = caller_router([])
    switch = Switch(router.address, time_scale=SCALE, answer_in_dialplan=True)
    switch.add_agent(AgentScript("user/1001", answer_after=0.5, hang_up_after=30.0))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener, LEG_EVENTS)
        call = switch.place_call(CallerScript(actions=[HangUp(at=100)]))
        expect(peer, "CHANNEL_PARK", Unique_ID=call.uuid)
        assert bgapi(peer, whisper_originate()) == f"+OK {AGENT}\n"
        expect(peer, "CHANNEL_PARK", Unique_ID=AGENT)  # the whisper is over
        assert api(peer, f"uuid_bridge {call.uuid} {AGENT}") == f"+OK {AGENT}\n"
        expect(peer, "CHANNEL_HANGUP_COMPLETE", Unique_ID=AGENT)
        assert call.wait(WAIT)
    router.check()
    router.stop()
    leg = switch.agent_call(AGENT)
    assert leg.sounds == [f"tts:{WHISPER}"] and call.sounds == []  # the caller heard none of it
    speak, park = leg.apps
    assert (speak.name, speak.arg, park.name) == ("speak", f"flite|kal|{WHISPER}", "park")
    assert speak.duration >= speech_seconds(WHISPER) - 0.1
    assert leg.bridged_at >= speak.end and leg.bridged_with == call.uuid
    assert leg.hung_up_by == "agent"
    # only what the listener subscribed to
    assert {e.name for e in collect(peer)} == {"CHANNEL_PARK", "CHANNEL_HANGUP_COMPLETE", "BACKGROUND_JOB"}


def test_an_agent_hanging_up_during_the_whisper_ends_the_leg_before_it_parks():
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE)
    switch.add_agent(AgentScript("user/1001", answer_after=0.2, hang_up_after=0.5))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener, LEG_EVENTS)
        assert bgapi(peer, whisper_originate()) == f"+OK {AGENT}\n"
        hangup = expect(peer, "CHANNEL_HANGUP_COMPLETE", Unique_ID=AGENT)
        assert hangup.get("Hangup-Cause") == "NORMAL_CLEARING"
    assert not any(e.name == "CHANNEL_PARK" for e in collect(peer))
    leg = switch.agent_call(AGENT)
    assert leg.hung_up_by == "agent" and [run.name for run in leg.apps] == ["speak"]


def test_a_customer_is_dialled_through_the_gateway_attempt_by_attempt():
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE)
    switch.add_customer(CustomerScript(GATEWAY, attempts=(None, "busy", 1.0), hang_up_after=20.0))
    intro = "silence_stream://500"  # no commas: they would split the inline dialplan
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener, LEG_EVENTS)
        dial = (f"originate {{origination_uuid={{uuid}},origination_caller_id_number=+302101234567,"
                f"originate_timeout=5}}{GATEWAY} 'playback:{intro},park' inline")
        assert bgapi(peer, dial.replace("{uuid}", "u1")) == "-ERR NO_ANSWER\n"
        assert bgapi(peer, dial.replace("{uuid}", "u2")) == "-ERR USER_BUSY\n"
        assert bgapi(peer, dial.replace("{uuid}", CUSTOMER)) == f"+OK {CUSTOMER}\n"
        expect(peer, "CHANNEL_PARK", Unique_ID=CUSTOMER)  # the intro is over
        assert api(peer, f"uuid_kill {CUSTOMER}") == "+OK\n"
        expect(peer, "CHANNEL_HANGUP_COMPLETE", Unique_ID=CUSTOMER)
        assert bgapi(peer, dial.replace("{uuid}", "u4")) == "-ERR NO_ANSWER\n"  # beyond the script
    first, busy, answered, fourth = switch.dials(GATEWAY)
    assert [d.attempt for d in switch.dials(GATEWAY)] == [1, 2, 3, 4]
    assert (first.hangup_cause, first.ended_at >= 5.0, busy.hangup_cause) == ("NO_ANSWER", True, "USER_BUSY")
    assert (first.hung_up_by, busy.hung_up_by) == ("switch", "customer")
    assert answered.origination["origination_caller_id_number"] == "+302101234567"
    assert answered.sounds == [intro] and answered.answered_at is not None
    assert switch.customer_calls == switch.dials(GATEWAY) and switch.agent_calls == []


def test_a_customer_is_bridged_to_an_agent():
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE)
    switch.add_agent(AgentScript("user/1001", answer_after=0.2))
    switch.add_customer(CustomerScript(GATEWAY, attempts=(0.5,), hang_up_after=10.0))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener, LEG_EVENTS)
        assert bgapi(peer, f"originate {{origination_uuid={CUSTOMER}}}{GATEWAY} &park()") == f"+OK {CUSTOMER}\n"
        assert bgapi(peer, whisper_originate()) == f"+OK {AGENT}\n"
        expect(peer, "CHANNEL_PARK", Unique_ID=AGENT)
        assert api(peer, f"uuid_bridge {CUSTOMER} {AGENT}") == f"+OK {AGENT}\n"
        expect(peer, "CHANNEL_HANGUP_COMPLETE", Unique_ID=CUSTOMER)
        expect(peer, "CHANNEL_HANGUP_COMPLETE", Unique_ID=AGENT)
    [customer] = switch.dials(GATEWAY)
    assert customer.bridged_with == AGENT and customer.hung_up_by == "customer"
    assert customer.sounds == [] and switch.agent_call(AGENT).sounds == [f"tts:{WHISPER}"]


@pytest.mark.parametrize("endpoint, cause", [
    ("sofia/gateway/carrier/+306900000000", "UNALLOCATED_NUMBER"),  # the carrier says 404
    ("sofia/gateway/nowhere/+306912345678", "INVALID_GATEWAY"),
    ("user/1999", "SUBSCRIBER_ABSENT"),
])
def test_unscripted_endpoints_fail_as_freeswitch_does(endpoint, cause):
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE)
    switch.add_customer(CustomerScript(GATEWAY))
    with switch:
        assert switch.originate(f"{endpoint} &park()") == f"-ERR {cause}\n"
    assert switch.customer_calls == []


def test_customer_attempts_are_checked():
    with pytest.raises(ValueError, match="an attempt is None, 'busy', 'reject' or seconds"):
        CustomerScript(GATEWAY, attempts=("engaged",))


def test_registration_events_follow_sofia_and_gate_originate():
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE)
    switch.add_agent(AgentScript("user/1001", answer_after=0.2))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener, "CUSTOM sofia::register sofia::unregister sofia::expire")
        other = inbound(switch, listener, "CUSTOM sofia::register")
        switch.unregister("user/1001")
        gone = expect(peer, "CUSTOM", Event_Subclass="sofia::unregister")
        assert api(peer, "originate user/1001 &park()") == "-ERR USER_NOT_REGISTERED\n"
        switch.register("user/1001")
        back = expect(peer, "CUSTOM", Event_Subclass="sofia::register")
        uuid = api(peer, "originate user/1001 &park()").split()[1]
        assert api(peer, f"uuid_kill {uuid}") == "+OK\n"
        switch.unregister("user/1001", expired=True)
        lapsed = expect(peer, "CUSTOM", Event_Subclass="sofia::expire")
        assert api(peer, "originate user/1001 &park()") == "-ERR USER_NOT_REGISTERED\n"
        assert expect(other, "CUSTOM").get("Event-Subclass") == "sofia::register"
    assert (gone.get("profile-name"), gone.get("from-user"), gone.get("from-host"), gone.get("expires")) == \
        ("internal", "1001", switch.identity.ipv4, "0")
    assert gone.get("contact") == '"1001" <sip:1001@127.0.0.1:5080>' and gone.get("call-id")
    assert (back.get("from-user"), back.get("expires"), back.get("status"), back.get("network-port")) == \
        ("1001", "3600", "Registered(UDP)", "5080")
    assert back.get("call-id") == gone.get("call-id") == lapsed.get("call-id")
    assert (lapsed.get("user"), lapsed.get("host"), lapsed.get("from-user")) == ("1001", switch.identity.ipv4, None)
    assert lapsed.get("Event-Calling-Function") == "sofia_reg_del_callback"
    assert [e.get("Event-Subclass") for e in collect(other)] == ["sofia::register"]  # the others were not asked for


# ------------------------------------------------------------ caller patience


def test_an_impatient_caller_abandons_if_nobody_is_bridged_in_time():
    router = caller_router([])
    switch = Switch(router.address, time_scale=SCALE, answer_in_dialplan=True, seed=3)
    with switch:
        call = switch.place_call(CallerScript(patience=lambda rng: rng.uniform(4.0, 6.0)))
        assert call.wait(WAIT)
    router.check()
    router.stop()
    assert 4.0 <= call.patience <= 6.0
    assert call.hung_up_by == "caller" and call.bridged_at is None
    assert call.ended_at - call.answered_at >= call.patience - 0.1


def test_a_caller_bridged_in_time_stays_past_their_patience():
    router = caller_router([])
    switch = Switch(router.address, time_scale=SCALE, answer_in_dialplan=True)
    switch.add_agent(AgentScript("user/1001", answer_after=0.2, hang_up_after=40.0))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener, LEG_EVENTS)
        call = switch.place_call(CallerScript(patience=30.0))
        expect(peer, "CHANNEL_PARK", Unique_ID=call.uuid)
        assert bgapi(peer, f"originate {{origination_uuid={AGENT}}}user/1001 &park()") == f"+OK {AGENT}\n"
        assert api(peer, f"uuid_bridge {call.uuid} {AGENT}") == f"+OK {AGENT}\n"
        assert call.wait(WAIT)
    router.check()
    router.stop()
    assert call.bridged_at < 30.0 and call.hung_up_by == "switch"  # the agent's hangup ended it, at ~40 s
    assert call.ended_at > 40.0


def test_seeded_patience_does_not_depend_on_what_else_drew_from_the_switch():
    def patiences(seed: int, noise: int) -> list[float]:
        with Switch(("127.0.0.1", 9), time_scale=SCALE, seed=seed) as switch:
            for _ in range(noise):
                switch.rng.random()  # e.g. handle times drawn meanwhile, in whatever order
            calls = [switch.place_call(CallerScript(patience=Distribution("exponential", (60.0,))))
                     for _ in range(3)]
            return [call.patience for call in calls]

    assert patiences(5, 0) == patiences(5, 7) != patiences(6, 0)


# ------------------------------------------------------------ what show reads from the core database


def test_show_registrations_lists_the_registered_phones_as_the_core_database_holds_them():
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE)
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener, "CUSTOM sofia::register")
        assert api(peer, "show registrations as json") == '{"row_count": 0}\n'
        switch.add_agent(AgentScript("user/1001"))  # a phone that comes up registers
        switch.add_agent(AgentScript("user/1002", unregistered=True))
        switch.add_customer(CustomerScript("sofia/gateway/carrier/+306900000000"))
        added = expect(peer, "CUSTOM", Event_Subclass="sofia::register")
        answer = json.loads(api(peer, "show registrations as json"))
        delimited = api(peer, "show registrations")
        switch.unregister("user/1001")
        after = api(peer, "show registrations as json")
        count = api(peer, "show registrations count")
    assert added.get("from-user") == "1001"
    assert answer["row_count"] == 1
    [row] = answer["rows"]
    assert list(row) == ["reg_user", "realm", "token", "url", "expires", "network_ip", "network_port",
                         "network_proto", "hostname", "metadata"]
    assert row["reg_user"] == "1001" and row["realm"] == switch.identity.ipv4
    assert row["token"] == added.get("call-id") and row["url"] == "sofia/internal/sip:1001@127.0.0.1:5080"
    assert int(row["expires"]) > 3600 and row["hostname"] == switch.identity.hostname and row["metadata"] == ""
    assert delimited.splitlines()[0] == ",".join(row) and delimited.endswith("\n\n1 total.\n")
    assert after == '{"row_count": 0}\n' and count == "\n0 total.\n"


def test_show_channels_like_finds_a_leg_by_its_presence_data():
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE)
    switch.add_agent(AgentScript("user/1001", answer_after=0.1))
    switch.add_agent(AgentScript("user/1002", answer_after=0.1))
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener, "CHANNEL_PARK")
        marked = api(peer, "originate {presence_data=fsrouter:agent:fs-a}user/1001 &park()").split()[1]
        plain = api(peer, "originate user/1002 &park()").split()[1]
        parked = expect(peer, "CHANNEL_PARK", Unique_ID=marked)
        found = json.loads(api(peer, "show channels like fsrouter:%:fs-a as json"))
        anywhere = json.loads(api(peer, "show channels like agent:fs as json"))  # no %: matched anywhere
        everyone = json.loads(api(peer, "show channels as json"))
        nobody = api(peer, "show channels like fsrouter:%:fs-b as json")
    assert parked.get("Channel-Presence-Data") == "fsrouter:agent:fs-a"
    assert [r["uuid"] for r in found["rows"]] == [marked] == [r["uuid"] for r in anywhere["rows"]]
    row = found["rows"][0]
    assert (row["presence_data"], row["direction"], row["name"], row["application"]) == (
        "fsrouter:agent:fs-a", "outbound", "sofia/internal/1001@127.0.0.1:5080", "park")
    assert list(row)[:6] == ["uuid", "direction", "created", "created_epoch", "name", "state"]
    assert len(row) == 38 and row["accountcode"] == ""
    assert {r["uuid"] for r in everyone["rows"]} == {marked, plain}
    assert nobody == '{"row_count": 0}\n'


def test_show_without_the_core_database_says_so():
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE, sql=False)
    with switch, InboundListener(switch) as listener:
        peer = inbound(switch, listener, "CHANNEL_PARK")
        assert api(peer, "show registrations as json") == "-ERR SQL disabled, no data available!\n"
        assert api(peer, "show channels count") == "-ERR SQL disabled, no data available!\n"
