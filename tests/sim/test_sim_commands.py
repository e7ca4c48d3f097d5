"""Command replies, api/bgapi and auth: the texts and shapes FreeSWITCH 1.10 uses."""

from __future__ import annotations

from fixtures.transcripts import load_transcript
from sim_helpers import WAIT, FakeRouter, connect_inbound, is_event

from fsrouter.esl.codec import Frame, Parser, encode_command, parse_event
from fsrouter.sim import CallerScript, HangUp, InboundListener, Switch

SCALE = 0.02


def recorded_frames(name: str) -> list[Frame]:
    parser = Parser()
    parser.feed(load_transcript(name).stream("FS->APP"))
    return list(parser.frames())


def names(frame: Frame) -> list[str]:
    return [k for k, _ in frame.headers]


def event_names(frame: Frame) -> list[str]:
    """Header names inside an event, its own Content-Length included."""
    return [line.split(": ", 1)[0] for line in frame.body.split(b"\n\n")[0].decode().split("\n")]


def test_outbound_command_replies():
    replies = {}

    def handler(peer):
        uuid = peer.command("connect").header("Unique-ID")
        for line in [
            "myevents", "myevents", "linger", "linger 5", "nolinger", "foo bar",
            "event plain", "event plain CHANNEL_ANSWER DTMF", "event xml ALL", "nixevent DTMF",
            "nixevent NOT_AN_EVENT", "noevents", "noevents", "filter Unique-ID abc",
            "filter delete Unique-ID abc", "filter delete", "getvar sip_from_user", "getvar no_such_var",
            "sendmsg 00000000-0000-0000-0000-000000000000", "resume", "log info",
            f"api uuid_getvar {uuid} sip_req_user", f"api uuid_getvar {uuid} no_such_var",
            f"api uuid_setvar {uuid} topic billing", f"api uuid_getvar {uuid} topic",
            f"api uuid_break {uuid}", "api uuid_break 00000000-0000-0000-0000-000000000000",
            "api uuid_kill 00000000-0000-0000-0000-000000000000", "api no_such_command x",
            f"api uuid_exists {uuid}",
        ]:
            frame = peer.command(line)
            replies[line.replace(uuid, "<uuid>")] = (
                frame.header("Reply-Text") if frame.content_type == "command/reply" else frame.body.decode())
        peer.send(b"exit\n\n")
        replies["exit"] = peer.reply().header("Reply-Text")
        replies["after exit"] = [(f.content_type, f.header("Content-Disposition"), f.body) for f in [peer.frame()]]
        assert peer.frame() is None

    router = FakeRouter(handler)
    with Switch(router.address, time_scale=SCALE, dialplan_tail=0.5) as switch:
        call = switch.place_call(CallerScript(caller_id_number="1001", destination="5000"))
        assert call.wait(WAIT)
    router.check()

    assert replies == {
        "myevents": "-ERR aready enabled.",  # the second one (FreeSWITCH's own spelling)
        "linger": "+OK will linger",
        "linger 5": "+OK will linger 5 seconds",
        "nolinger": "+OK will not linger",
        "foo bar": "-ERR command not found",
        "event plain": "-ERR no keywords supplied",
        "event plain CHANNEL_ANSWER DTMF": "+OK event listener enabled plain",
        "event xml ALL": "-ERR the simulator does not produce XML events (use plain or json)",
        "nixevent DTMF": "+OK events nixed",
        "nixevent NOT_AN_EVENT": "-ERR no keywords supplied",
        "noevents": "-ERR not listening for events",  # the second one
        "filter Unique-ID abc": "+OK filter added. [Unique-ID]=[abc]",
        "filter delete Unique-ID abc": "+OK filter deleted. [Unique-ID][abc]",
        "filter delete": "-ERR invalid syntax",
        "getvar sip_from_user": "1001",
        "getvar no_such_var": "-ERR command not found",  # an empty value is "not found"
        "sendmsg 00000000-0000-0000-0000-000000000000":
            "-ERR invalid session id [00000000-0000-0000-0000-000000000000]",
        "resume": "+OK",
        "log info": "-ERR command not found",
        "api uuid_getvar <uuid> sip_req_user": "5000",
        "api uuid_getvar <uuid> no_such_var": "_undef_",
        "api uuid_setvar <uuid> topic billing": "+OK\n",
        "api uuid_getvar <uuid> topic": "billing",
        "api uuid_break <uuid>": "-ERR no reply\n",  # uuid_break writes nothing, even on success
        "api uuid_break 00000000-0000-0000-0000-000000000000": "-ERR No Such Channel!\n",
        "api uuid_kill 00000000-0000-0000-0000-000000000000": "-ERR No such channel!\n",
        "api no_such_command x": "-ERR no_such_command Command not found!\n",
        "api uuid_exists <uuid>": "true",
        "exit": "+OK bye",
        "after exit": [("text/disconnect-notice", "disconnect",
                        b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n")],
    }
    # exit lets go of the parked channel: the dialplan goes on (README fact 6)
    assert call.socket_closed_by_client and call.continued_dialplan and call.hung_up_by == "switch"


def test_inbound_auth_events_api_and_bgapi_look_like_the_recording():
    recorded = recorded_frames("inbound_bridge.txt")
    fs_bgapi = next(f for f in recorded if (f.header("Reply-Text") or "").startswith("+OK Job-UUID"))
    fs_job = next(f for f in recorded if is_event(f, "BACKGROUND_JOB"))
    fs_api = next(f for f in recorded if is_event(f, "API"))

    switch = Switch(("127.0.0.1", 9), time_scale=SCALE)
    with InboundListener(switch) as listener:
        peer = connect_inbound(listener.address)
        assert peer.frame().content_type == "auth/request"
        assert peer.command("auth ClueCon").header("Reply-Text") == "+OK accepted"
        assert peer.command("linger").header("Reply-Text") == "-ERR not controlling a session"
        assert peer.command("connect").header("Reply-Text") == "-ERR command not found"
        assert peer.command("event plain API BACKGROUND_JOB").header("Reply-Text") == \
            "+OK event listener enabled plain"

        response = peer.command("api show calls count")
        assert names(response) == ["Content-Type", "Content-Length"] and response.body == b"\n0 total.\n"
        api_event = parse_event(peer.until(lambda f: is_event(f, "API")))
        assert (api_event.get("API-Command"), api_event.get("API-Command-Argument")) == ("show", "calls count")
        assert event_names(peer.frames[-1]) == event_names(fs_api)

        reply = peer.command("bgapi uuid_exists 1234", [("Job-UUID", "my-job-1")])
        assert names(reply) == names(fs_bgapi) == ["Content-Type", "Reply-Text", "Job-UUID"]
        assert (reply.header("Reply-Text"), reply.header("Job-UUID")) == ("+OK Job-UUID: my-job-1", "my-job-1")
        job = peer.until(lambda f: is_event(f, "BACKGROUND_JOB"))
        assert event_names(job) == event_names(fs_job)
        assert parse_event(job).get("Job-UUID") == "my-job-1" and parse_event(job).body == b"false"

        own = peer.command("bgapi status").header("Job-UUID")
        status = parse_event(peer.until(lambda f: is_event(f, "BACKGROUND_JOB")))
        assert status.get("Job-UUID") == own and status.body.startswith(b"UP 0 years, 0 days")

        peer.send(b"exit\n\n")
        assert peer.reply().header("Reply-Text") == "+OK bye"
        goodbye = peer.frame()
        assert names(goodbye) == names(recorded[-1]) == ["Content-Type", "Content-Length"]
        assert goodbye.body == recorded[-1].body
        assert peer.frame() is None


def test_inbound_wrong_password_is_refused_and_closed():
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE)
    with InboundListener(switch, password="secret") as listener:
        peer = connect_inbound(listener.address)
        assert peer.frame().content_type == "auth/request"
        assert peer.command("api status").header("Reply-Text") == "-ERR command not found"
        assert peer.command("auth ClueCon").header("Reply-Text") == "-ERR invalid"
        notice = peer.frame()
        assert notice.content_type == "text/disconnect-notice" and notice.header("Content-Disposition") is None
        assert peer.frame() is None


def test_inbound_sees_every_channel_and_can_kill_it():
    """An inbound `event plain ALL` listener gets the whole call, CHANNEL_DESTROY included."""
    switch = Switch(("127.0.0.1", 9), time_scale=SCALE, dialplan_tail=1000.0)  # nobody listens there
    with InboundListener(switch) as listener:
        peer = connect_inbound(listener.address)
        peer.frame()
        peer.command("auth ClueCon")
        peer.command("event json ALL")
        call = switch.place_call(CallerScript(actions=[HangUp(at=1000)]))
        first = parse_event(peer.until(lambda f: f.content_type == "text/event-json"))
        assert (first.name, first.get("Channel-State"), first.uuid) == ("CHANNEL_STATE", "CS_INIT", call.uuid)
        assert parse_event(peer.frame()).name == "CHANNEL_CREATE"
        peer.until(lambda f: parse_event(f).get("Application") == "socket" and
                   parse_event(f).name == "CHANNEL_EXECUTE_COMPLETE")  # fsrouter was not there
        assert peer.command(f"api uuid_kill {call.uuid} USER_BUSY").body == b"+OK\n"
        destroy = peer.until(lambda f: parse_event(f).name == "CHANNEL_DESTROY")
        assert parse_event(destroy).get("Hangup-Cause") == "USER_BUSY"
        assert call.wait(WAIT)
    assert call.continued_dialplan and call.fallback_reason.startswith("socket: cannot connect")
    assert (call.hangup_cause, call.hung_up_by) == ("USER_BUSY", "fsrouter")


def test_sendmsg_with_a_body_and_loops():
    """call-command execute with the argument as a text/plain body; loops repeats it."""
    def handler(peer):
        peer.command("connect")
        peer.command("myevents")
        arg = b"tone_stream://%(600,0,440);loops=1"
        peer.send(encode_command("sendmsg", [("call-command", "execute"), ("execute-app-name", "playback"),
                                             ("loops", "2"), ("content-type", "text/plain")], arg))
        for _ in range(2):
            done = peer.event("CHANNEL_EXECUTE_COMPLETE", Application="playback")
            assert done.get("Application-Data") == arg.decode()
        peer.command("sendmsg", [("call-command", "hangup"), ("hangup-cause", "CALL_REJECTED")])
        peer.drain()

    router = FakeRouter(handler)
    with Switch(router.address, time_scale=SCALE) as switch:
        call = switch.place_call(CallerScript())
        assert call.wait(WAIT)
    router.check()
    assert [run.name for run in call.esl_apps] == ["playback", "playback"]
    assert (call.hangup_cause, call.hung_up_by) == ("CALL_REJECTED", "fsrouter")
