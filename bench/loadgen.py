"""A lean FreeSWITCH stand-in for load: thousands of queued callers, an agent pool, and a wire meter.

`fsrouter.sim` models a call in detail (channel states, media loops, DTMF,
the core database) and costs about 5 ms of CPU per queued caller-second:
it cannot drive 5,000 callers on a shared 2-core machine.  `LeanSwitch`
does only what fsrouter sees of a queued caller, over the same real sockets:

* each call connects to fsrouter's outbound listener as ``socket <addr>
  async full`` does and answers ``connect`` with the channel data recorded
  from FreeSWITCH 1.10.12 (tests/fixtures/esl-transcripts/outbound_basic.txt),
  its Unique-ID replaced;
* socket commands get FreeSWITCH's replies (``linger``, ``myevents``,
  ``nixevent``, ``event``, ``filter``; texts as in the transcripts and
  fsrouter.sim.session); ``sendmsg`` executions run one after another
  (``event-lock``) with the recorded CHANNEL_EXECUTE / CHANNEL_EXECUTE_COMPLETE
  events (4-9 KB, headers replaced), a playback lasting as long as its WAV
  files (`fsrouter.sim.media`), ``local_stream://`` endless; ``api
  uuid_break`` ends the playback;
* events go out only when the call's subscription wants them, with
  mod_event_socket's semantics for ``myevents``, ``nixevent`` and
  ``filter`` (`fsrouter.sim.events.Subscription`);
* a minimal inbound event socket serves fsrouter's own connection: every
  agent registered, ``bgapi originate`` answered after `answer_after`
  (BACKGROUND_JOB, then CHANNEL_PARK once the whisper would be said),
  ``uuid_bridge`` bridging, and the caller hanging up `talk` seconds later.

No media timing beyond one timer per playback, no channel state machine, no
dialplan.  What it records: per call the TCP connect, fsrouter's
``connect`` and its first command after it; when the caller joined the
queue (fsrouter sets ``park_after_bridge`` just before) and when each
announcement started; the events and bytes sent on the call sockets (and
what bare ``myevents`` would have sent), and the commands and bytes
received.
"""

from __future__ import annotations

import math
import re
import sys
import time
import uuid as uuidlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import gevent
import gevent.server
from gevent import socket

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from fixtures.transcripts import load_transcript  # noqa: E402

from fsrouter.esl.codec import (  # noqa: E402
    Frame,
    Parser,
    encode_api_response,
    encode_auth_request,
    encode_disconnect_notice,
    encode_event_plain,
    encode_reply,
)
from fsrouter.sim import tables  # noqa: E402
from fsrouter.sim.events import MYEVENTS, Subscription  # noqa: E402
from fsrouter.sim.media import SoundNotFound, open_sounds  # noqa: E402

_ORIGINATION_UUID = re.compile(r"origination_uuid=([0-9a-fA-F-]{36})")
_DIAL_USER = re.compile(r"\}user/([^ @']+)")


# ------------------------------------------------------------ recorded events


class Recorded:
    """The connect reply and channel events of one recorded call, as text templates."""

    def __init__(self, transcript: str = "outbound_basic.txt") -> None:
        messages = [m.data for m in load_transcript(transcript).messages if m.direction == "FS->APP"]
        self.connect_reply = messages[0].decode("utf-8")
        self.uuid = re.search(r"\nUnique-ID: (\S+)", self.connect_reply).group(1)
        self.events: dict[str, str] = {}
        for data in messages[1:]:
            if b"text/event-plain" not in data[:80]:
                continue
            body = data.partition(b"\n\n")[2].decode("utf-8")
            name = re.search(r"^Event-Name: (\S+)", body, re.M).group(1)
            self.events.setdefault(name, body)

    def connect(self, uuid: str, destination: str) -> bytes:
        text = self.connect_reply.replace(self.uuid, uuid)
        text = _set_header(text, "Caller-Destination-Number", destination)
        return _set_header(text, "Channel-Destination-Number", destination).encode("utf-8")

    def event(self, name: str, uuid: str, changes: dict[str, str]) -> bytes:
        """The recorded `name` event (CHANNEL_EXECUTE_COMPLETE's for events not
        recorded) for call `uuid`, with `changes` to its headers, framed."""
        text = self.events.get(name) or self.events["CHANNEL_EXECUTE_COMPLETE"]
        text = _set_header(text.replace(self.uuid, uuid), "Event-Name", name)
        for header, value in changes.items():
            text = _set_header(text, header, value)
        body = text.encode("utf-8")
        return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(body), body)


def _set_header(text: str, name: str, value: str) -> str:
    """`text` (``name: value`` lines) with `name` set to `value` (url-encoded
    as FreeSWITCH does for the few characters our values carry)."""
    value = value.replace("%", "%25").replace(" ", "%20").replace(":", "%3A").replace("\n", "%0A")
    key = f"\n{name}: "
    at = text.find(key)
    if at < 0:
        head, sep, tail = text.partition("\n\n")
        return f"{head}\n{name}: {value}{sep}{tail}"
    start = at + len(key)
    return text[:start] + value + text[text.index("\n", start):]


class _Probe:
    """What `Subscription.wants` reads of an event: its name and headers."""

    __slots__ = ("name", "_headers")

    def __init__(self, name: str, headers: dict[str, str]) -> None:
        self.name = name
        self._headers = {"Event-Name": name, **headers}

    def get(self, header: str, default: str | None = None) -> str | None:
        return self._headers.get(header, default)


# ------------------------------------------------------------ meters


@dataclass
class Wire:
    """What crossed the call sockets."""

    events_sent: Counter = field(default_factory=Counter)
    bytes_sent: int = 0
    #: What FreeSWITCH would have sent had fsrouter only said ``myevents``.
    events_bare_myevents: int = 0
    bytes_bare_myevents: int = 0
    commands: Counter = field(default_factory=Counter)
    bytes_received: int = 0


@dataclass
class CallRecord:
    """One call as the load generator saw it (monotonic seconds)."""

    uuid: str
    placed: float
    connected: float | None = None  #: TCP connect done
    handshake: float | None = None  #: fsrouter's ``connect``
    first_command: float | None = None  #: fsrouter's first command after ``connect``
    joined: float | None = None  #: ``set park_after_bridge`` (fsrouter joins the queue next)
    announcements: list[float] = field(default_factory=list)
    bridged: float | None = None
    ended: float | None = None
    #: How the call ended: "caller" (we hung up), "fsrouter" (it hung up,
    #: transferred or closed), "refused" (no connection).
    end: str | None = None


def _read_commands(sock: socket.socket, handle, wire: Wire | None = None) -> None:
    """Hand each command fsrouter sends on `sock` to `handle`, until it closes
    (counting the bytes in `wire`, if given)."""
    parser = Parser(commands=True)
    try:
        while data := sock.recv(65536):
            if wire is not None:
                wire.bytes_received += len(data)
            parser.feed(data)
            for frame in parser.frames():
                handle(frame)
    except OSError:
        pass


# ------------------------------------------------------------ calls


class LeanCall:
    """One caller's outbound socket: replies, executions, events."""

    def __init__(self, switch: LeanSwitch, record: CallRecord, destination: str) -> None:
        self.switch = switch
        self.record = record
        self.uuid = record.uuid
        self.destination = destination
        self.subscription = Subscription()
        self.sock: socket.socket | None = None
        self._lingering = False
        self._apps: list[tuple[str, str, str]] = []  # queued (app, arg, event uuid)
        self._running: tuple[str, str, str] | None = None
        self._playing: gevent.Greenlet | None = None
        self._gone = False

    def run(self) -> None:
        record = self.record
        try:
            self.sock = socket.create_connection(self.switch.target, timeout=10)
        except OSError:
            record.end, record.ended = "refused", time.monotonic()
            return
        record.connected = time.monotonic()
        self.sock.settimeout(None)  # the timeout was for the connect; a call may be silent for minutes
        try:
            _read_commands(self.sock, self._command, self.switch.wire)
        finally:
            self._gone = True
            self.switch.calls.pop(self.uuid, None)
            if self._playing is not None:
                self._playing.kill(block=False)
            if record.end is None:
                record.end, record.ended = "fsrouter", time.monotonic()
            self.sock.close()

    # -- what fsrouter sends

    def _command(self, frame: Frame) -> None:
        now = time.monotonic()
        line = frame.command
        word = line.split(" ", 1)[0].lower()
        self.switch.wire.commands[word] += 1
        record = self.record
        if word == "connect":
            record.handshake = now
            self._send(self.switch.recorded.connect(self.uuid, self.destination))
            return
        if record.first_command is None:
            record.first_command = now
        if word == "linger":
            self._lingering = True
            self._reply("+OK will linger")
        elif word == "myevents":
            self.subscription.myevents(self.uuid)
            self._reply("+OK Events Enabled")
        elif word == "nixevent":
            self.subscription.unsubscribe(line.split()[1:])
            self._reply("+OK events nixed")
        elif word == "event":
            self.subscription.subscribe(line.split()[1:])
            self._reply("+OK event listener enabled plain")
        elif word == "filter":
            header, _, value = line.partition(" ")[2].partition(" ")
            self.subscription.add_filter(header, value)
            self._reply(f"+OK filter added. [{header}]=[{value}]")
        elif word == "sendmsg":
            self._sendmsg(frame)
        elif word == "api":
            self._api(line.partition(" ")[2])
        elif word == "exit":
            self._reply("+OK bye")
            self._hang_up("fsrouter")
        else:
            self._reply("-ERR command not found")

    def _sendmsg(self, frame: Frame) -> None:
        if frame.header("call-command") != "execute":
            self._reply("+OK")
            return
        app = frame.header("execute-app-name") or ""
        arg = frame.header("execute-app-arg") or ""
        self._reply("+OK")
        self._apps.append((app, arg, frame.header("Event-UUID") or str(uuidlib.uuid4())))
        if self._running is None:
            self._next_app()

    def _api(self, command: str) -> None:
        if command.startswith("uuid_break"):
            if self._playing is not None:
                self._playing.kill(block=False)
                self._playing = None
            if self._running is not None and self._running[0] in ("playback", "play_and_get_digits"):
                self._complete()  # a local_stream:// playback has no timer: it ends only here
            self._send(encode_api_response("-ERR no reply\n"))
        else:
            self._send(encode_api_response("-ERR no such command\n"))

    # -- applications, one after another

    def _next_app(self) -> None:
        while self._running is None and self._apps and not self._gone:
            self._running = app, arg, event_uuid = self._apps.pop(0)
            now = time.monotonic()
            self._event("CHANNEL_EXECUTE", app, arg, event_uuid)
            if app == "answer":
                self._event("CHANNEL_ANSWER")
            elif app == "set" and arg.startswith("park_after_bridge"):
                self.record.joined = now
            elif app in ("hangup", "transfer"):
                self._complete()
                self._hang_up("fsrouter")
                return
            if app in ("playback", "play_and_get_digits"):
                self._play(arg)
            else:
                self._complete()

    def _play(self, arg: str) -> None:
        record = self.record
        if "hold_music" not in arg and not arg.startswith("local_stream://") and record.joined is not None:
            record.announcements.append(time.monotonic())
        if self._running and self._running[0] == "play_and_get_digits":
            parts = arg.split(" ")
            arg = parts[5] if len(parts) > 5 else ""  # min max tries timeout terminators FILE ...
        seconds = self.switch.seconds(arg)
        if not math.isinf(seconds):
            self._playing = gevent.spawn_later(seconds, self._played)

    def _played(self) -> None:
        self._playing = None
        self._complete()

    def _complete(self) -> None:
        if self._running is None:
            return
        app, arg, event_uuid = self._running
        self._running = None
        self._event("CHANNEL_EXECUTE_COMPLETE", app, arg, event_uuid,
                    response="FILE PLAYED" if app == "playback" else "_none_")
        self._next_app()

    # -- the caller's side

    def bridged(self) -> None:
        self.record.bridged = time.monotonic()
        self._event("CHANNEL_BRIDGE")
        if self._playing is not None:  # the bridge cuts the hold music off
            self._playing.kill(block=False)
            self._playing = None
            self._complete()

    def hang_up(self) -> None:
        """The caller hangs up."""
        self._hang_up("caller")

    def _hang_up(self, by: str) -> None:
        if self._gone:
            return
        record = self.record
        if record.end is None:
            record.end, record.ended = by, time.monotonic()
        if self._playing is not None:
            self._playing.kill(block=False)
            self._playing = None
        self._apps.clear()
        self._event("CHANNEL_HANGUP", changes={"Hangup-Cause": "NORMAL_CLEARING"})
        self._event("CHANNEL_HANGUP_COMPLETE", changes={"Hangup-Cause": "NORMAL_CLEARING"})
        self._gone = True
        if self._lingering:
            self._send(encode_disconnect_notice(self.uuid, "sofia/internal/lean", "linger"))
        # FreeSWITCH closes its side once the session is destroyed (or the linger ends).
        gevent.spawn_later(0.5, self._close)

    def _close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- the wire

    def _event(self, name: str, app: str = "", arg: str = "", event_uuid: str = "", *,
               response: str | None = None, changes: dict[str, str] | None = None) -> None:
        headers = {"Unique-ID": self.uuid}
        if app:
            headers.update({"Application": app, "Application-Data": arg or "_undef_",
                            "Application-UUID": event_uuid})
            if response is not None:
                headers["Application-Response"] = response
        headers.update(changes or {})
        probe = _Probe(name, headers)
        bare = name in MYEVENTS
        wanted = self.subscription.wants(probe)
        if not (bare or wanted):
            return
        data = self.switch.recorded.event(name, self.uuid, {k: v for k, v in headers.items() if k != "Unique-ID"})
        wire = self.switch.wire
        if bare:
            wire.events_bare_myevents += 1
            wire.bytes_bare_myevents += len(data)
        if wanted:
            wire.events_sent[name] += 1
            wire.bytes_sent += len(data)
            self._send(data)

    def _reply(self, text: str) -> None:
        self._send(encode_reply(text))

    def _send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            self._gone = True


# ------------------------------------------------------------ the inbound socket


class LeanInbound:
    """fsrouter's inbound connection: auth, subscriptions, the agents' legs."""

    def __init__(self, switch: LeanSwitch, sock: socket.socket) -> None:
        self.switch = switch
        self.sock = sock
        self.subscription = Subscription()

    def run(self) -> None:
        self._send(encode_auth_request())
        try:
            _read_commands(self.sock, self._command)
        finally:
            self.switch.inbound.discard(self)
            self.sock.close()

    def _command(self, frame: Frame) -> None:
        word, _, rest = frame.command.partition(" ")
        word = word.lower()
        if word == "auth":
            self._send(encode_reply("+OK accepted"))
        elif word == "event":
            self.subscription.subscribe(rest.split())
            self._send(encode_reply("+OK event listener enabled plain"))
        elif word == "api":
            self._send(encode_api_response(self._api(rest)))
        elif word == "bgapi":
            # mod_event_socket takes the client's Job-UUID header when there is one.
            job = frame.header("Job-UUID") or str(uuidlib.uuid4())
            self._send(encode_reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)]))
            self.switch.originate(self, job, rest)
        else:
            self._send(encode_reply("-ERR command not found"))

    def _api(self, command: str) -> str:
        word, _, rest = command.partition(" ")
        switch = self.switch
        if command.startswith("show registrations"):
            rows = [{"reg_user": user, "realm": "lean", "token": user, "url": f"sofia/internal/sip:{user}@127.0.0.1",
                     "expires": "0", "network_ip": "127.0.0.1", "network_port": "5060", "network_proto": "udp",
                     "hostname": "lean", "metadata": ""} for user in switch.agents]
            return tables.write(rows, tables.REGISTRATION_COLUMNS, "json")
        if command.startswith("show channels"):
            return tables.write([], tables.CHANNEL_COLUMNS, "json")
        if word == "uuid_bridge":
            caller_uuid, _, leg = rest.partition(" ")
            return "+OK\n" if switch.bridge(caller_uuid, leg.strip()) else "-ERR no such channel\n"
        if word == "uuid_exists":
            return "true" if rest.strip() in switch.calls else "false"
        if word == "uuid_getvar":
            leg = rest.split(" ")[0]
            return switch.bridges.get(leg, "_undef_")
        if word == "uuid_kill":
            switch.legs.pop(rest.split(" ")[0], None)
            return "+OK\n"
        return "-ERR no reply\n"

    def event(self, name: str, headers: list[tuple[str, str]], body: str = "") -> None:
        probe = _Probe(name, dict(headers))
        if self.subscription.wants(probe):
            self._send(encode_event_plain([("Event-Name", name), *headers], body))

    def _send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            pass


# ------------------------------------------------------------ the switch


class LeanSwitch:
    """Places lean calls into fsrouter and serves its inbound connection.

    `agents` are the users registered; a leg fsrouter originates answers
    after `answer_after` seconds, and `talk` seconds after the bridge the
    caller hangs up.  Everything runs on the calling thread's gevent hub.
    """

    def __init__(self, target: tuple[str, int], *, sounds_dir: str, agents: list[str] = (),
                 answer_after: float = 1.0, talk: float = 20.0, whisper: float = 0.5) -> None:
        self.target = target
        self.sounds_dir = sounds_dir
        self.agents = list(agents)
        self.answer_after = answer_after
        self.talk = talk
        self.whisper = whisper
        self.recorded = Recorded()
        self.wire = Wire()
        self.records: list[CallRecord] = []
        self.calls: dict[str, LeanCall] = {}
        self.legs: dict[str, str] = {}  # agent leg uuid -> user
        self.bridges: dict[str, str] = {}  # agent leg uuid -> caller uuid
        self.inbound: set[LeanInbound] = set()
        self._durations: dict[str, float] = {}
        self._server = gevent.server.StreamServer(("127.0.0.1", 0), self._accept)
        self._greenlets: list[gevent.Greenlet] = []

    @property
    def inbound_address(self) -> tuple[str, int]:
        return self._server.address

    def start(self) -> LeanSwitch:
        self._server.start()
        return self

    def _accept(self, sock, address) -> None:
        session = LeanInbound(self, sock)
        self.inbound.add(session)
        session.run()

    def place_call(self, destination: str) -> CallRecord:
        record = CallRecord(str(uuidlib.uuid4()), time.monotonic())
        call = LeanCall(self, record, destination)
        self.records.append(record)
        self.calls[record.uuid] = call
        self._greenlets.append(gevent.spawn(call.run))
        return record

    def hang_up_all(self) -> None:
        for call in list(self.calls.values()):
            call.hang_up()

    def seconds(self, arg: str) -> float:
        """How long a playback argument plays (cached: callers hear the same prompts)."""
        if arg not in self._durations:  # a local_stream:// is endless (sim.media: open_sound)
            try:
                seconds = sum(s.seconds for s in open_sounds(arg, sounds_dir=self.sounds_dir))
            except SoundNotFound:
                seconds = 0.0
            self._durations[arg] = seconds
        return self._durations[arg]

    # -- agents

    def originate(self, session: LeanInbound, job: str, command: str) -> None:
        leg = _ORIGINATION_UUID.search(command)
        user = _DIAL_USER.search(command)
        if leg is None or user is None or user.group(1) not in self.agents:
            gevent.spawn(session.event, "BACKGROUND_JOB", [("Job-UUID", job)], "-ERR USER_NOT_REGISTERED\n")
            return
        uuid = leg.group(1)
        self.legs[uuid] = user.group(1)

        def answer() -> None:
            if uuid not in self.legs:
                return  # killed while ringing
            session.event("BACKGROUND_JOB", [("Job-UUID", job)], f"+OK {uuid}\n")
            gevent.sleep(self.whisper if "speak" in command else 0)
            session.event("CHANNEL_PARK", [("Unique-ID", uuid)])

        gevent.spawn_later(self.answer_after, answer)

    def bridge(self, caller_uuid: str, leg: str) -> bool:
        call = self.calls.get(caller_uuid)
        if call is None or leg not in self.legs:
            return False
        self.bridges[leg] = caller_uuid
        call.bridged()

        def talk_then_hang_up() -> None:
            call.hang_up()
            self.legs.pop(leg, None)
            for session in list(self.inbound):
                for uuid in (caller_uuid, leg):
                    session.event("CHANNEL_HANGUP_COMPLETE", [("Unique-ID", uuid), ("Hangup-Cause", "NORMAL_CLEARING")])

        gevent.spawn_later(self.talk, talk_then_hang_up)
        return True

    def close(self) -> None:
        self._server.stop()
        gevent.killall(self._greenlets, block=False)
