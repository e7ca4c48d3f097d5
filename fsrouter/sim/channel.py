"""A simulated FreeSWITCH channel and its session "thread".

One greenlet per channel plays the part of FreeSWITCH's session thread: it
runs the dialplan (perhaps ``answer``, then ``socket`` to fsrouter), and inside the
socket application it parks, which is where FreeSWITCH executes the
``sendmsg`` commands queued by the event socket.  The rules that decide what
fsrouter observes are FreeSWITCH's (switch_ivr.c, switch_core_session.c):

* A media application's frame loop (`media_wait`) runs queued commands
  *inside* itself unless an ``event-lock`` application is running: a second
  playback without event-lock starts inside the first, which pauses and then
  resumes (transcript ``outbound_eventlock.txt``).
* DTMF waits in a queue until something reads it; reading it fires the DTMF
  event.  The socket's park reads (and discards) digits, `playback` reads
  them (``*`` stops it), `sleep` stops early but leaves them queued, and
  applications without a frame loop do not read at all.
* ``uuid_break`` sets a break flag that the innermost media loop takes; a
  break during a ``sendmsg`` application also breaks whatever it was nested in.
  The flag is cleared when the next application starts.
* A hangup ends every loop; the hangup states, ``CHANNEL_HANGUP_COMPLETE`` and
  (only after the socket closed) ``CHANNEL_DESTROY`` follow.
"""

from __future__ import annotations

import enum
import math
import logging
import re
import uuid as uuidlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import gevent.event

from fsrouter.esl.codec import Frame
from fsrouter.sim import template
from fsrouter.sim.call import AppRun, Recording, SimCall
from fsrouter.sim.caller import CallerDriver, CallerScript
from fsrouter.sim.fsutil import Q850, atoi, hangup_cause, switch_true
from fsrouter.sim.events import SimEvent
from fsrouter.sim.media import Sound, SoundNotFound, open_sounds
from fsrouter.sim.meta import MetaBindings

if TYPE_CHECKING:
    from fsrouter.sim.session import EslSession
    from fsrouter.sim.switch import Switch

log = logging.getLogger(__name__)

#: Events that carry the channel variables (switch_channel_event_set_extended_data).
EXTENDED_EVENTS = frozenset({
    "CHANNEL_CREATE", "CHANNEL_DATA", "CHANNEL_ANSWER", "CHANNEL_PARK", "CHANNEL_UNPARK",
    "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_DESTROY", "PLAYBACK_START",
    "PLAYBACK_STOP", "RECORD_START", "RECORD_STOP",
})
CALLSTATE_NUMBERS = {"DOWN": 0, "RINGING": 2, "EARLY": 3, "ACTIVE": 4, "HANGUP": 7}
RATE = 8000  # the simulated channel is PCMU at 8 kHz

#: A digit reader: called with each digit the loop dequeues; True stops the media.
DigitReader = Callable[[str], bool]


class Outcome(enum.Enum):
    """How a media loop ended."""

    DONE = "done"  #: it ran its course (or its timer expired)
    BREAK = "break"  #: uuid_break, or a digit reader / DTMF stopped it
    HANGUP = "hangup"


class Channel:
    def __init__(self, switch: Switch, script: CallerScript, call: SimCall, session_id: int) -> None:
        self.switch = switch
        self.clock = switch.clock
        self.call = call
        self.uuid = call.uuid
        self._placed_at = call.placed_at = self.clock.now()
        created_us = self._wall_us()
        #: Unix time of CHANNEL_CREATE (the channels table's created_epoch).
        self.created_epoch = created_us / 1_000_000
        self._identity = template.call_identity(
            self.uuid, script.caller_id_number, script.caller_id_name, script.destination,
            created_us, session_id, switch.rng)
        self.name = self._identity["channel_name"]
        self._profile = {
            "dest": script.destination, "rdnis": script.destination, "context": "default",
            "profile_index": "2", "profile_created_us": str(created_us), "answered_us": "0",
            "progress_us": "0", "progress_media_us": "0", "hangup_us": "0", "transfer_us": "0",
        }
        self.variables: dict[str, str] = {}
        self.set_variables(template.INVITE_VARIABLES)
        for name, value in script.variables.items():  # set by the dialplan, as written: no templating
            self.set_variable(name, value)
        self.state, self.state_number = "CS_NEW", 0
        self.call_state = "DOWN"
        self.answer_state = "ringing"
        self.media_up = False
        self.hangup_cause: str | None = None
        self.answered = gevent.event.Event()
        self.destroyed = gevent.event.Event()
        self.controlled = False  # CF_CONTROLLED: an event socket drives the channel
        self.parked = False
        self.transfer_target: tuple[str, str, str] | None = None
        self.session: EslSession | None = None
        #: uuid_bridge asked for: (other channel, this one is the bridge's A leg).
        self.bridge_pending: tuple[Channel, bool] | None = None
        self.bridged_with: Channel | None = None
        #: A socket-controlled caller stays in its park while bridged (fsrouter keeps
        #: control); an originated leg's park application ends first, as recorded.
        self.bridge_in_park = True
        self._dtmf: deque[tuple[str, int]] = deque()
        #: ``bind_meta_app`` keys (sim/meta.py): its hook sees each digit first.
        self.meta: MetaBindings | None = None
        self._dialed: list[str] = []
        self._commands: deque[Frame] = deque()
        self._wake = gevent.event.Event()
        self._event_lock = 0  # CF_EVENT_LOCK, counted like switch_channel_set_flag_recursive
        self._esl_depth = 0  # CF_BROADCAST: inside a sendmsg application
        self._break = False  # CF_BREAK
        self._stop_broadcast = False  # CF_STOP_BROADCAST
        self.driver = CallerDriver(self, script)

    # ------------------------------------------------------------ basics

    @property
    def ready(self) -> bool:
        """switch_channel_ready: not hung up."""
        return self.hangup_cause is None

    @property
    def in_esl_command(self) -> bool:
        return self._esl_depth > 0

    def elapsed(self) -> float:
        """Sim seconds since the call was placed (the time base of `SimCall`)."""
        return self.clock.now() - self._placed_at

    def poke(self) -> None:
        """Wake the session loop: something it waits for may have happened."""
        self._wake.set()

    def _wall_us(self) -> int:
        return int(self.clock.wall() * 1_000_000)

    def set_variable(self, name: str, value: str | None) -> None:
        """switch_channel_set_variable: an empty value unsets; setting moves the variable last."""
        self.variables.pop(name, None)
        if value:
            self.variables[name] = value

    def set_variables(self, pairs: Iterable[tuple[str, str]]) -> None:
        for name, value in template.render(tuple(pairs), self._identity):
            self.set_variable(name, value)

    def expand(self, text: str) -> str:
        """switch_channel_expand_variables for plain ``${name}`` references."""
        return re.sub(r"\$\{([^{}]+)\}", lambda m: self.variables.get(m.group(1), ""), text)

    # ------------------------------------------------------------ events

    def event(self, name: str, pre: Iterable[tuple[str, str | None]] = (),
              post: Iterable[tuple[str, str | None]] = ()) -> SimEvent:
        """A new event about this channel, laid out as switch_channel_event_set_data does."""
        headers = [*pre, *self.channel_headers()]
        if name in EXTENDED_EVENTS:
            headers += [(f"variable_{k}", v) for k, v in self.variables.items()]
        headers += post
        return self.switch.events.create(name, headers)

    def fire(self, name: str, pre: Iterable[tuple[str, str | None]] = (),
             post: Iterable[tuple[str, str | None]] = ()) -> None:
        self.switch.fire(self.event(name, pre, post))

    def channel_headers(self) -> list[tuple[str, str | None]]:
        headers = [
            ("Channel-State", self.state),
            ("Channel-Call-State", self.call_state),
            ("Channel-State-Number", str(self.state_number)),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", "inbound"),
            ("Presence-Call-Direction", "inbound"),
            ("Channel-HIT-Dialplan", "true"),
            ("Channel-Presence-ID", self._identity["cid_number"] + "@" + template.CALLER_HOST),
            # switch_channel_event_set_basic_data: only when the variable is set.
            *([("Channel-Presence-Data", self.variables["presence_data"])] if "presence_data" in self.variables
              else []),
            ("Channel-Call-UUID", self.uuid),
            ("Answer-State", self.answer_state),
            ("Hangup-Cause", self.hangup_cause),
        ]
        if self.media_up:
            headers += template.CODEC_HEADERS
        return headers + self.profile_headers("Caller")

    def profile_headers(self, prefix: str) -> list[tuple[str, str]]:
        values: Mapping[str, str] = {**self._identity, **self._profile}
        return [(f"{prefix}-{name}", value) for name, value in template.render(template.CALLER_PROFILE, values)]

    def _set_state(self, state: str, number: int) -> None:
        self.state, self.state_number = state, number
        self.fire("CHANNEL_STATE")

    def _set_call_state(self, call_state: str) -> None:
        original, self.call_state = self.call_state, call_state
        self.fire("CHANNEL_CALLSTATE", pre=[("Original-Channel-Call-State", original),
                                            ("Channel-Call-State-Number", str(CALLSTATE_NUMBERS[call_state]))])

    # ------------------------------------------------------------ the session thread

    def run(self) -> None:
        """The channel's life: route, hand it to fsrouter, then hang up and report."""
        self.driver.start()
        self._set_state("CS_INIT", 1)
        self.fire("CHANNEL_CREATE")
        self._set_state("CS_ROUTING", 2)
        self._set_call_state("RINGING")
        self._set_state("CS_EXECUTE", 4)
        if self.switch.answer_in_dialplan:
            self.execute("answer", None)
        host, port = self.switch.target
        self.execute("socket", f"{host}:{port} async full")
        if self.ready:
            self._after_socket()
        self._report()
        self._destroy()

    def _after_socket(self) -> None:
        """The dialplan goes on without fsrouter: the transfer target, or what follows `socket`.

        The simulator does not model that part of the dialplan: the channel
        stays there `Switch.dialplan_tail` sim seconds, then it hangs up.
        """
        if self.transfer_target is not None:
            self._set_state("CS_ROUTING", 2)
            self._set_state("CS_EXECUTE", 4)
        else:
            self.call.continued_dialplan = True
        self.media_wait(self.switch.dialplan_tail)
        self.hangup("NORMAL_CLEARING", by="switch")

    def _report(self) -> None:
        """CS_HANGUP and CS_REPORTING, ending with CHANNEL_HANGUP_COMPLETE."""
        self._set_state("CS_HANGUP", 10)
        self._set_call_state("HANGUP")
        # switch_core_session_hangup_state removes every media bug: recordings stop.
        self.stop_recording(None)
        cause = self.hangup_cause or "NORMAL_CLEARING"
        self.set_variable("hangup_cause", cause)
        self.set_variable("hangup_cause_q850", str(Q850.get(cause, 0)))
        self.set_variable("digits_dialed", "".join(self._dialed) or "none")
        self._profile["hangup_us"] = str(self._hangup_us)
        self._set_state("CS_REPORTING", 11)
        cdr = template.cdr_variables(self._identity, int(self._profile["answered_us"]), self._hangup_us,
                                     self.variables.get("current_application"), self.call.hung_up_by == "caller")
        for name, value in cdr:
            self.set_variable(name, value)
        self.fire("CHANNEL_HANGUP_COMPLETE", pre=[("Hangup-Cause", cause)])
        if self.session is not None:
            self.session.channel_down()

    def _destroy(self) -> None:
        """The session is destroyed only once the event socket let go of it (README fact 5)."""
        if self.session is not None:
            self.session.finished.wait()
        self.state, self.state_number = "CS_DESTROY", 12
        self.fire("CHANNEL_DESTROY")
        self.fire("CHANNEL_STATE")
        self.call.ended_at = self.elapsed()
        self.destroyed.set()
        self.switch.forget(self)

    # ------------------------------------------------------------ call control

    def pre_answer(self) -> None:
        if self.media_up:
            return
        self.media_up = True
        self.set_variables(template.MEDIA_VARIABLES)
        self.answer_state = "early"
        self._profile["progress_media_us"] = str(self._wall_us())
        self.fire("CHANNEL_PROGRESS_MEDIA")
        self._set_call_state("EARLY")

    def answer(self) -> None:
        if self.answered.is_set():
            return
        self.pre_answer()
        self.set_variables(template.ANSWER_VARIABLES)
        self.answer_state = "answered"
        self._profile["answered_us"] = str(self._wall_us())
        self.fire("CHANNEL_ANSWER")
        self._set_call_state("ACTIVE")
        self.set_variables(template.ACK_VARIABLES)
        self.call.answered_at = self.elapsed()
        self.answered.set()

    def ring_ready(self) -> None:
        if self._profile["progress_us"] != "0":
            return
        self._profile["progress_us"] = str(self._wall_us())
        self.fire("CHANNEL_PROGRESS")

    def hangup(self, cause: str = "NORMAL_CLEARING", *, by: str) -> None:
        """switch_channel_hangup: CHANNEL_HANGUP at once, the hangup states when the loops unwind."""
        if not self.ready:
            return
        self.hangup_cause = cause
        self._hangup_us = self._wall_us()
        self.answer_state = "hangup"
        self.state_number = 10
        self.call.hangup_cause = cause
        self.call.hung_up_by = by
        self.fire("CHANNEL_HANGUP")
        self.poke()
        if self.bridged_with is not None:
            self.bridged_with.poke()

    def transfer(self, extension: str, dialplan: str, context: str) -> None:
        """switch_ivr_session_transfer: a new caller profile; the channel leaves the park."""
        source = f"{self._wall_us() // 1_000_000}:{self.uuid}:bl_xfer:{extension}/{context}/{dialplan}"
        self.transfer_target = (extension, dialplan, context)
        self.call.transferred_to = extension
        self._profile.update(rdnis=self._profile["dest"], dest=extension, context=context,
                             transfer_us=str(self._wall_us()),
                             profile_index=str(int(self._profile["profile_index"]) + 1))
        self.set_variable("transfer_history", source)
        self.set_variable("transfer_source", source)
        self.state_number = 2
        self.parked = False
        self.poke()

    def release_control(self) -> None:
        """The event socket is gone (listener_run ends): CF_CONTROLLED is cleared."""
        self.controlled = False
        self.poke()

    # ------------------------------------------------------------ DTMF and commands

    def receive_dtmf(self, digit: str, duration_ms: int) -> None:
        """A digit arrived over RTP: queued, no event until an application reads it
        (unless a ``bind_meta_app`` hook swallows it first)."""
        if self.meta is not None and not self.meta.received(self, digit):
            return
        self._dtmf.append((digit, duration_ms * RATE // 1000))
        self.poke()

    def dequeue_dtmf(self) -> str:
        """switch_channel_dequeue_dtmf: the digit is consumed and the DTMF event fires."""
        digit, duration = self._dtmf.popleft()
        self._dialed.append(digit)
        self.call.digits.append((self.elapsed(), digit))
        self.fire("DTMF", post=[("DTMF-Digit", digit), ("DTMF-Duration", str(duration)),
                                ("DTMF-Source", "RTP")])
        return digit

    def queue_command(self, frame: Frame) -> None:
        """switch_core_session_queue_private_event: a sendmsg waits for the session thread."""
        self._commands.append(frame)
        self.poke()

    def break_media(self, flush: bool = False) -> None:
        """uuid_break [all]: stop the media now playing; `flush` also drops queued commands."""
        if flush:
            self._commands.clear()
        if self.in_esl_command:
            self._stop_broadcast = True
        self._break = True
        self.poke()

    def run_commands(self) -> None:
        """switch_ivr_parse_all_events: queued sendmsg commands run here unless event-locked."""
        while self._commands and not self._event_lock:
            item = self._commands.popleft()
            if callable(item):
                item()  # a broadcast (uuid_broadcast): not a sendmsg
            else:
                self._parse_command(item)

    def broadcast(self, path: str) -> None:
        """uuid_broadcast on this leg: a playback queued like a sendmsg execute."""
        self._commands.append(lambda: self.execute("playback", path, source="broadcast"))
        self.poke()

    def start_recording(self, path: str) -> None:
        """A record_session media bug on this leg (see `apps.record_session`)."""
        self.call.recordings.append(Recording(path, self.elapsed()))
        self.fire("RECORD_START", post=[("Record-File-Path", path)])

    def stop_recording(self, path: str | None) -> None:
        """Remove the recording of `path` (None: all); the hangup removes them all too."""
        for recording in self.call.recordings:
            if recording.stopped is None and path in (None, recording.path):
                recording.stopped = self.elapsed()
                self.fire("RECORD_STOP", post=[("Record-File-Path", recording.path)])

    def queue_app(self, app: str, arg: str) -> None:
        """switch_ivr_broadcast ``app::arg`` on this leg: queued like a sendmsg execute."""
        self._commands.append(lambda: self.execute(app, arg or None, source="broadcast"))
        self.poke()

    def request_bridge(self, other: Channel, originator: bool) -> None:
        """uuid_bridge: whatever runs (park, a playback) is left for the bridge."""
        self.bridge_pending = (other, originator)
        self.poke()

    def _bridge(self) -> bool:
        """Stay bridged until a leg hangs up; True if the channel should park again."""
        other, originator = self.bridge_pending
        self.bridge_pending = None
        if not (self.ready and other.ready):
            return self.ready
        self.bridged_with = other
        self.call.bridged_with = other.uuid
        self.call.bridged_at = self.elapsed()
        self._set_state("CS_HIBERNATE", 8)
        self._set_state("CS_RESET", 9)
        self._set_state("CS_SOFT_EXECUTE", 3)
        a_leg, b_leg = (self, other) if originator else (other, self)
        bridge_headers = [("Bridge-A-Unique-ID", a_leg.uuid), ("Bridge-B-Unique-ID", b_leg.uuid)]
        other_headers = [("Other-Type", "originatee"), ("Other-Leg-Unique-ID", other.uuid)]
        if originator:
            self.fire("CHANNEL_EXECUTE", post=[("Application", "uuid_bridge"),
                                               ("Application-UUID", str(uuidlib.uuid4()))])
            self.fire("CHANNEL_BRIDGE", pre=bridge_headers, post=other_headers)
            self.fire("CALL_UPDATE", pre=[("Direction", "RECV"), ("Bridged-To", other.uuid)])

        def relay(digit: str) -> bool:  # a digit keyed on a bridged leg is reported on both
            other.fire("DTMF", post=[("DTMF-Digit", digit), ("DTMF-Duration", "2240"), ("DTMF-Source", "RTP")])
            return False

        while self.ready and other.ready and self.bridge_pending is None:
            self.media_wait(math.inf, relay, breakable=False,
                            stop=lambda: not other.ready or self.bridge_pending is not None)
        self.bridged_with = None
        self.call.unbridged_at = self.elapsed()
        if originator:
            self.fire("CHANNEL_UNBRIDGE", pre=bridge_headers, post=other_headers)
        if not self.ready or self.bridge_pending is not None:
            return self.ready
        if switch_true(self.variables.get("park_after_bridge")):
            return True
        hangup_after = self.variables.get("hangup_after_bridge")
        if hangup_after is not None and not switch_true(hangup_after) and self.controlled:
            return True  # the event socket keeps control of the channel
        self.hangup("NORMAL_CLEARING", by="switch")
        return False

    def _parse_command(self, frame: Frame) -> None:
        command = (frame.header("call-command") or "").lower()
        locked = switch_true(frame.header("event-lock"))
        self._event_lock += locked
        try:
            if command == "execute":
                self._execute_command(frame)
            elif command == "hangup":
                self.hangup(hangup_cause(frame.header("hangup-cause") or "NORMAL_CLEARING"), by="fsrouter")
            else:
                self.call.errors.append(f"sendmsg call-command {command!r} is not simulated")
        finally:
            self._event_lock -= locked

    def _execute_command(self, frame: Frame) -> None:
        """switch_ivr_parse_event, call-command execute: loops, app UUID, broadcast flags."""
        app = frame.header("execute-app-name") or ""
        arg = frame.header("execute-app-arg")
        if not arg and (frame.header("content-type") or "").lower() == "text/plain":
            arg = frame.body.decode("utf-8", "replace")
        loops = atoi(frame.header("loops") or "1")
        self._stop_broadcast = False
        self._esl_depth += 1
        try:
            iteration = 0
            while iteration < loops or loops < 0:
                started = self.clock.now()
                self.set_variable("current_loop", str(iteration + 1))
                self.set_variable("total_loops", str(loops))
                if not self.execute(app, arg, frame.header("Event-UUID"), source="esl"):
                    break
                if not self.ready or self._stop_broadcast or self.clock.now() - started < 0.5:
                    break
                iteration += 1
        finally:
            self._esl_depth -= 1
        self.set_variable("current_loop", None)
        self.set_variable("total_loops", None)
        if self._stop_broadcast:
            self._break = True

    # ------------------------------------------------------------ applications

    def execute(self, app: str, arg: str | None, app_uuid: str | None = None, *, source: str = "dialplan") -> bool:
        """switch_core_session_execute_application + switch_core_session_exec."""
        if not self.ready:
            return False
        function = self.switch.applications.get(app)
        if function is None:
            reason = self.switch.unsupported_applications.get(app, "no such application")
            self.call.errors.append(f"Invalid Application {app}: {reason}")
            log.error("call %s: Invalid Application %s (%s)", self.uuid, app, reason)
            self.hangup("DESTINATION_OUT_OF_ORDER", by="switch")
            return False
        if app in self.switch.media_applications and not self.media_up:
            self.pre_answer()  # "Application %s Requires media! pre_answering channel"
        app_uuid = app_uuid or str(uuidlib.uuid4())
        data = self.expand(arg) if arg else None
        self.set_variable("current_application", app)
        self.set_variable("current_application_data", data)
        self.set_variable("current_application_response", None)
        run = AppRun(app, data, app_uuid, source, start=self.elapsed())
        self.call.apps.append(run)
        self.fire("CHANNEL_EXECUTE", post=[("Application", app), ("Application-Data", data),
                                           ("Application-UUID", app_uuid)])
        self._break = False
        self.set_variable("current_application", app)
        self.driver.on_app_start(run)
        function(self, data or "")
        response = self.variables.get("current_application_response") or "_none_"
        run.end, run.response = self.elapsed(), response
        self.fire("CHANNEL_EXECUTE_COMPLETE", post=[
            ("Application", app), ("Application-Data", data), ("Application-Response", response),
            ("Application-UUID", app_uuid)])
        return True

    def media_wait(self, seconds: float, reader: DigitReader | None = None, *,
                   stop_on_dtmf: bool = False, breakable: bool = True,
                   digit_timeout: float | None = None, stop: Callable[[], bool] | None = None) -> Outcome:
        """A media application's frame loop, `seconds` of sim time long (math.inf: until stopped).

        Each turn: hangup ends it; the break flag ends it (if `breakable`);
        queued commands run nested (unless event-locked) without using up
        its time; a queued digit goes to `reader` (which may stop it), or
        with `stop_on_dtmf` ends it and stays queued.  `digit_timeout`
        restarts the timer after each digit read (digit collection).
        """
        remaining = seconds
        while True:
            self._wake.clear()
            if not self.ready:
                return Outcome.HANGUP
            if (stop is not None and stop()) or (self.bridge_pending is not None and stop is None):
                return Outcome.BREAK
            if breakable and self._break:
                self._break = False
                return Outcome.BREAK
            if self._commands and not self._event_lock:
                self.run_commands()
                continue
            if self._dtmf and stop_on_dtmf:
                return Outcome.BREAK
            if self._dtmf and reader is not None:
                if reader(self.dequeue_dtmf()):
                    return Outcome.BREAK
                if digit_timeout is not None:
                    remaining = digit_timeout
                continue
            if remaining <= 0:
                return Outcome.DONE
            started = self.clock.now()
            self.clock.wait(self._wake, remaining)
            remaining -= self.clock.now() - started

    def park(self) -> None:
        """switch_ivr_park without input arguments: run commands, eat DTMF, until let go."""
        self.controlled = self.parked = True
        self.fire("CHANNEL_PARK")
        while True:
            self._wake.clear()
            self.run_commands()
            if self.ready and self.bridge_pending is not None and not self.bridge_in_park:
                break
            if self.ready and self.bridge_pending is not None:
                self.parked = False
                self.fire("CHANNEL_UNPARK")
                if not self._bridge():
                    self.controlled = False
                    return
                self.parked = True
                self.fire("CHANNEL_PARK")
                continue
            if not (self.ready and self.controlled and self.parked):
                break
            if self._dtmf:
                self.dequeue_dtmf()
                continue
            self.clock.wait(self._wake)
        self.controlled = self.parked = False
        self.fire("CHANNEL_UNPARK")

    def wait_until(self, done: Callable[[], bool]) -> None:
        """Sleep until `done()` holds; whatever could change it pokes the channel."""
        while True:
            self._wake.clear()
            if done():
                return
            self.clock.wait(self._wake)

    def play(self, arg: str, reader: DigitReader | None = None) -> Outcome | None:
        """switch_ivr_play_file: None if nothing could be opened, else how the playing ended."""
        try:
            sounds = open_sounds(arg, rate=RATE, sounds_dir=self.switch.sounds_dir,
                                 streams=self.switch.local_streams)
        except SoundNotFound:
            self.call.missing_sounds.append(arg)
            return None
        self.fire("PLAYBACK_START", post=_playback_headers(arg))
        played = 0.0
        outcome = Outcome.DONE
        for sound in sounds:
            started = self.clock.now()
            outcome = self._play_sound(sound, reader)
            played += min(self.clock.now() - started, sound.seconds)
            if outcome is not Outcome.DONE:
                break
        samples = int(played * RATE)
        self.set_variable("playback_last_offset_pos", str(samples))
        self.set_variable("playback_seconds", str(samples // RATE))
        self.set_variable("playback_ms", str(samples * 1000 // RATE))
        self.set_variable("playback_samples", str(samples))
        self.fire("PLAYBACK_STOP", post=[*_playback_headers(arg),
                                         ("Playback-Status", "done" if outcome is Outcome.DONE else "break")])
        return outcome

    def _play_sound(self, sound: Sound, reader: DigitReader | None) -> Outcome:
        self.call.sounds.append(sound.path or sound.spec)
        self.driver.on_sound(sound)
        return self.media_wait(sound.seconds, reader)

    def playback_terminators(self, digit: str) -> bool:
        """mod_dptools on_dtmf: a digit in ${playback_terminators} (default ``*``) stops playback."""
        terminators = self.variables.get("playback_terminators", "*")
        if terminators.lower() == "any":
            terminators = "1234567890*#"
        elif terminators.lower() == "none":
            terminators = ""
        if digit in terminators:
            self.set_variable("playback_terminator_used", digit)
            return True
        return False


def _playback_headers(arg: str) -> list[tuple[str, str | None]]:
    scheme = arg.partition("://")[0] if "://" in arg else None
    return [("Playback-File-Type", scheme), ("Playback-File-Path", arg)]

