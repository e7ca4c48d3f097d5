"""Scripted callers against scripted routers: durations, DTMF, hangups, fallbacks, transfers."""

from __future__ import annotations

import gevent
from sim_helpers import WAIT, about, FakeRouter, events, is_event, write_wav

from fsrouter.esl.codec import channel_data, encode_sendmsg
from fsrouter.sim import CallerScript, HangUp, Press, Switch

SCALE = 0.1


def simulate(handler, script: CallerScript = CallerScript(), **options):
    router = FakeRouter(handler)
    options = {"time_scale": SCALE, "dialplan_tail": 1.0, **options}
    with Switch(router.address, **options) as switch:
        call = switch.place_call(script)
        assert call.wait(WAIT)
    router.check()
    router.stop()
    return call, (router.peers[0] if router.peers else None)


def start(peer, *more: str) -> str:
    """connect + myevents (+ more commands); the channel's UUID."""
    uuid = channel_data(peer.command("connect")).uuid
    for line in ("myevents", *more):
        assert peer.command(line).header("Reply-Text").startswith("+OK")
    return uuid


def execute(peer, app: str, arg: str | None = None, app_uuid: str | None = None) -> None:
    """sendmsg execute with event-lock, as fsrouter's call runner sends it."""
    peer.send(encode_sendmsg(app, arg, event_uuid=app_uuid, event_lock=True))


def done(peer, app: str):
    return peer.event("CHANNEL_EXECUTE_COMPLETE", Application=app)


def test_playback_lasts_as_long_as_the_wav_freeswitch_opens(tmp_path):
    write_wav(tmp_path / "en/menu/8000/main.wav", 2.0)
    write_wav(tmp_path / "en/menu/16000/main.wav", 7.0)
    write_wav(tmp_path / "en/other.wav", 1.0)
    responses = []

    def handler(peer):
        start(peer)
        execute(peer, "answer")
        for sound in ("en/menu/main.wav", "en/other.wav", "en/missing.wav"):
            execute(peer, "playback", f"{tmp_path}/{sound}")
            responses.append(done(peer, "playback").get("Application-Response"))
        execute(peer, "hangup")
        peer.drain()

    call, peer = simulate(handler)
    assert responses == ["FILE PLAYED", "FILE PLAYED", "FILE NOT FOUND"]
    assert call.sounds == [f"{tmp_path}/en/menu/8000/main.wav", f"{tmp_path}/en/other.wav"]
    assert call.missing_sounds == [f"{tmp_path}/en/missing.wav"]
    durations = [run.duration for run in call.esl_apps if run.name == "playback"]
    assert durations == [about(2.0), about(1.0), about(0)]
    assert call.answered_at is not None and any(is_event(f, "CHANNEL_ANSWER") for f in peer.frames)


def test_tone_and_file_string_durations(tmp_path):
    write_wav(tmp_path / "a.wav", 0.5)

    def handler(peer):
        start(peer)
        parts = [f"{tmp_path}/a.wav", f"{tmp_path}/gone.wav", "tone_stream://%(250,250,440);loops=2"]
        execute(peer, "playback", "file_string://" + "!".join(parts))
        done(peer, "playback")
        execute(peer, "playback", "silence_stream://1500")
        done(peer, "playback")
        execute(peer, "hangup", "NORMAL_CLEARING")
        peer.drain()

    call, _ = simulate(handler)
    assert call.sounds == [f"{tmp_path}/a.wav", "tone_stream://%(250,250,440);loops=2", "silence_stream://1500"]
    assert [run.duration for run in call.esl_apps[:2]] == [about(1.5)] * 2


def test_a_digit_waits_for_an_application_that_reads_it():
    """README fact 9: sleep stops early but leaves the digit queued; the DTMF event comes when
    play_and_get_digits consumes it."""
    seen = []

    def handler(peer):
        start(peer)
        execute(peer, "sleep", "3000")
        execute(peer, "play_and_get_digits",
                "1 1 1 3000 # silence_stream://5000 silence_stream://250 choice \\d 1000")
        complete = done(peer, "play_and_get_digits")
        seen.extend((e.name, e.get("Application")) for e in events(peer.frames))
        seen.append(complete.get("variable_choice"))
        execute(peer, "hangup")
        peer.drain()

    call, _ = simulate(handler, CallerScript(actions=[Press("5", after_app_count=1, delay=0.5)]),
                       answer_in_dialplan=True)
    sleep, collect = call.esl_apps[:2]
    assert sleep.duration == about(0.5)  # cut short by the digit
    assert seen == [("CHANNEL_EXECUTE", "sleep"), ("CHANNEL_EXECUTE_COMPLETE", "sleep"),
                    ("CHANNEL_EXECUTE", "play_and_get_digits"), ("DTMF", None),
                    ("CHANNEL_EXECUTE_COMPLETE", "play_and_get_digits"), "5"]
    assert [d for _, d in call.digits] == ["5"] and call.digits[0][0] >= collect.start
    assert collect.duration < 0.2


def test_the_socket_park_eats_digits_pressed_between_applications():
    """Transcript outbound_close_linger_park: a parked channel fires DTMF at once, and the digit is gone."""
    def handler(peer):
        start(peer)
        execute(peer, "set", "parked=true")
        peer.event("DTMF", DTMF_Digit="7")
        execute(peer, "play_and_get_digits", "1 1 1 1000 # silence_stream://100 silence_stream://100 choice \\d")
        assert done(peer, "play_and_get_digits").get("variable_choice") is None
        execute(peer, "hangup")
        peer.drain()

    call, _ = simulate(handler, CallerScript(actions=[Press("7", after_app_count=1, delay=0.3)]))
    assert [d for _, d in call.digits] == ["7"]
    assert call.digits[0][0] == about(call.esl_apps[0].end + 0.3)


def test_keys_pressed_after_a_prompt_are_collected(tmp_path):
    write_wav(tmp_path / "en/menu/8000/main.wav", 3.0)

    def handler(peer):
        start(peer)
        execute(peer, "answer")
        execute(peer, "play_and_get_digits",
                f"2 2 1 5000 # {tmp_path}/en/menu/main.wav silence_stream://250 menu [0-9*#]+ 2000")
        assert done(peer, "play_and_get_digits").get("variable_menu") == "42"
        execute(peer, "hangup")
        peer.drain()

    call, _ = simulate(handler, CallerScript(actions=[Press("42", after_prompt="menu/main", delay=1.0)]))
    collect = call.esl_apps[1]
    assert collect.duration == about(1.3)  # prompt cut at 1.0 s, second key 0.3 s later
    assert [d for _, d in call.digits] == ["4", "2"]


def test_uuid_break_cuts_a_playback_short():
    def handler(peer):
        uuid = start(peer, "event plain PLAYBACK_STOP")
        execute(peer, "playback", "tone_stream://%(1000,0,440);loops=10")
        peer.event("CHANNEL_EXECUTE", Application="playback")
        gevent.sleep(1.0 * SCALE)
        assert peer.command(f"api uuid_break {uuid} all").body == b"-ERR no reply\n"
        assert peer.event("PLAYBACK_STOP").get("Playback-Status") == "break"
        complete = done(peer, "playback")
        assert complete.get("Application-Response") == "FILE PLAYED"
        assert int(complete.get("variable_playback_ms")) < 2000
        execute(peer, "hangup")
        peer.drain()

    call, _ = simulate(handler, answer_in_dialplan=True)
    assert call.esl_apps[0].duration == about(1.0)


def test_uuid_break_only_cuts_the_prompt_of_play_and_get_digits():
    """As in FreeSWITCH: digit collection ignores the break and runs to its timeout."""
    def handler(peer):
        uuid = start(peer)
        execute(peer, "play_and_get_digits", "1 1 1 2000 # silence_stream://5000 silence_stream://250 d \\d")
        peer.event("CHANNEL_EXECUTE", Application="play_and_get_digits")
        gevent.sleep(0.5 * SCALE)
        peer.command(f"api uuid_break {uuid}")
        done(peer, "play_and_get_digits")
        execute(peer, "hangup")
        peer.drain()

    call, _ = simulate(handler, answer_in_dialplan=True)
    assert call.esl_apps[0].duration == about(2.75)  # 0.5 prompt + 2 s timeout + 0.25 invalid


def test_caller_hangs_up_during_playback():
    def handler(peer):
        start(peer, "linger")
        execute(peer, "playback", "tone_stream://%(200,100,440);loops=-1")
        peer.until(lambda f: f.content_type == "text/disconnect-notice")
        peer.close()

    call, peer = simulate(handler, CallerScript(actions=[HangUp(after_app_count=1, delay=0.5)]))
    assert (call.hangup_cause, call.hung_up_by, call.socket_closed_by_client) == ("NORMAL_CLEARING", "caller", True)
    assert call.esl_apps[0].response == "PLAYBACK ERROR"
    names = [e.name for e in events(peer.frames)]
    assert names.index("CHANNEL_HANGUP_COMPLETE") == len(names) - 1 and "CHANNEL_DESTROY" not in names


def test_closing_the_socket_while_parked_continues_the_dialplan():
    """README fact 6, and fsrouter's way of refusing a call."""
    call, _ = simulate(lambda peer: (start(peer), peer.close()), dialplan_tail=2.0)
    assert call.socket_closed_by_client and call.continued_dialplan
    assert call.hung_up_by == "switch" and call.ended_at == about(2.0)


def test_closing_the_socket_during_playback_lets_it_finish():
    def handler(peer):
        start(peer)
        execute(peer, "playback", "tone_stream://%(1500,0,440);loops=1")
        peer.event("CHANNEL_EXECUTE", Application="playback")
        peer.close()

    call, _ = simulate(handler, dialplan_tail=0.0)
    assert call.esl_apps[0].response == "FILE PLAYED"
    assert call.esl_apps[0].duration == about(1.5)
    assert call.continued_dialplan and call.socket_closed_by_client


def test_fsrouter_down_falls_back_to_the_dialplan():
    with Switch(("127.0.0.1", 1), time_scale=SCALE, dialplan_tail=0.5) as switch:
        call = switch.place_call(CallerScript())
        assert call.wait(WAIT)
    assert call.continued_dialplan and "cannot connect to 127.0.0.1:1" in call.fallback_reason
    assert [run.name for run in call.apps] == ["socket"] and call.hung_up_by == "switch"


def test_a_client_that_never_says_connect_strands_the_caller():
    call, _ = simulate(lambda peer: peer.close(), CallerScript(actions=[HangUp(at=1.0)]), answer_in_dialplan=True)
    assert "before 'connect'" in call.errors[0]
    assert call.hung_up_by == "caller" and not call.continued_dialplan


def test_transfer_leaves_the_socket_application():
    def handler(peer):
        start(peer, "linger")
        execute(peer, "transfer", "operator XML default", app_uuid="xfer-1")
        peer.until(lambda f: f.content_type == "text/disconnect-notice")
        peer.close()

    call, peer = simulate(handler, answer_in_dialplan=True)
    seen = [(e.name, e.get("Application"), e.get("Channel-State"), e.get("Caller-Destination-Number"))
            for e in events(peer.frames)]
    assert seen[:6] == [
        ("CHANNEL_EXECUTE", "transfer", "CS_EXECUTE", "5000"),
        ("CHANNEL_EXECUTE_COMPLETE", "transfer", "CS_EXECUTE", "operator"),
        ("CHANNEL_UNPARK", None, "CS_EXECUTE", "operator"),
        ("CHANNEL_EXECUTE_COMPLETE", "socket", "CS_EXECUTE", "operator"),
        ("CHANNEL_STATE", None, "CS_ROUTING", "operator"),
        ("CHANNEL_STATE", None, "CS_EXECUTE", "operator"),
    ]
    assert seen[-1][0] == "CHANNEL_HANGUP_COMPLETE"
    assert call.transferred_to == "operator" and not call.continued_dialplan and call.hung_up_by == "switch"


def test_bridge_is_not_simulated_and_says_so():
    def handler(peer):
        start(peer)
        execute(peer, "bridge", "user/1001")
        hangup = peer.event("CHANNEL_HANGUP")
        assert hangup.get("Hangup-Cause") == "DESTINATION_OUT_OF_ORDER"
        peer.drain()

    call, peer = simulate(handler)
    assert not any(is_event(f, "CHANNEL_EXECUTE", Application="bridge") for f in peer.frames)
    assert "not simulated yet" in call.errors[0] and call.hung_up_by == "switch"


def test_a_ringing_channel_until_fsrouter_answers_it():
    def handler(peer):
        reply = peer.command("connect")
        assert channel_data(reply).get("Answer-State") == "ringing"
        peer.command("myevents")
        execute(peer, "sleep", "1000")
        done(peer, "sleep")
        execute(peer, "answer")
        peer.event("CHANNEL_ANSWER")
        peer.event("DTMF", DTMF_Digit="3")
        execute(peer, "hangup")
        peer.drain()

    call, _ = simulate(handler, CallerScript(actions=[Press("3", at=0.3)]))
    sleep, answer = call.esl_apps[:2]
    assert sleep.duration == about(1.0)
    assert answer.start <= call.answered_at <= answer.end
    assert call.digits[0][0] == about(call.answered_at + 0.3)  # `at` counts from the answer
