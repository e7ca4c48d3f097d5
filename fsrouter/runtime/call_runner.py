"""Drive one call: ESL events in, flow commands out.

This is the thin IO shell around the sans-IO `CallMachine` (the httpcore
pattern): it reads the outbound socket until the machine has something to
react to, feeds it a normalized event, and carries out the commands the
machine returns.  It holds no routing logic of its own.

Completions are matched on `Application-UUID` (the `Event-UUID` we put on each
`sendmsg`), never on the application's name or on arrival order, so nested or
back-to-back applications cannot be confused.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Callable, Protocol

import gevent.queue

from fsrouter.esl.codec import Event, Frame
from fsrouter.esl.errors import ESLCommandError, ESLConnectionClosed, ESLError
from fsrouter.esl.outbound import WAKE
from fsrouter.esl.outbound import OutboundCall
from fsrouter.flow import commands as cmd
from fsrouter.flow import events as ev
from fsrouter.offer.bridging import BridgingMachine, FeedFlow, SendHeld, SettleHeld, Unbridged
from fsrouter.offer.bridging import Timeout as NoWordOnBridge
from fsrouter.offer.messages import Bridging, Message
from fsrouter.acd.events import exit_reason
from fsrouter import fsvalues
from fsrouter.logs import fields

log = logging.getLogger(__name__)

#: Events the runner reacts to.  `myevents` subscribes to a fixed list of
#: channel events; everything else on that list is nixed so FreeSWITCH does not
#: serialize (and we do not parse) 4-9 KB events nobody reads.
WANTED_EVENTS = frozenset({
    "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE",
    "DTMF", "CHANNEL_ANSWER", "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE",
})
UNWANTED_MYEVENTS = (
    "CHANNEL_CREATE CHANNEL_DATA CHANNEL_STATE CHANNEL_CALLSTATE CHANNEL_APPLICATION "
    "CHANNEL_EXECUTE CHANNEL_PARK CHANNEL_UNPARK CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA "
    "CHANNEL_ORIGINATE CHANNEL_OUTGOING CHANNEL_DESTROY DETECTED_SPEECH TALK NOTALK CALL_UPDATE"
)

#: FreeSWITCH's `Application-Response` for a playback that could not start.
_PLAYBACK_FAILURES = frozenset({"FILE NOT FOUND", "PLAYBACK ERROR", "FILE_NOT_FOUND"})
_HANGUP_EVENTS = frozenset({"CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"})


class Queueing(Protocol):
    """What the runner needs of the queue runtime (`runtime.queue_runtime`).

    `notify` receives the runtime's messages (`fsrouter.offer.messages`) in
    the runtime's greenlets and never blocks."""

    def join(self, call_uuid: str, queue: str, variables, notify: Callable[[Message], None]) -> bool: ...

    def leave(self, call_uuid: str, reason: str) -> None: ...

    def hang_up(self, call_uuid: str) -> None: ...

    def status(self, call_uuid: str) -> ev.QueueStatus | None: ...

    def book_callback(self, call_uuid: str, number: str) -> str | None: ...

    def recorded(self, call_uuid: str, path: str) -> None: ...
    def record_survey(self, call_uuid: str, queue: str, agent_id: str, answers) -> None: ...


class AgentActions(Protocol):
    """What the runner needs for an `agent:` step (`runtime.agent_desk`)."""

    def feature_code(self, agent_id: str, action: str, reason: str = "") -> str: ...


@dataclass(frozen=True)
class RunnerSettings:
    """How a call is driven; all waits are bounded."""

    #: Absolute path of the sounds root as FreeSWITCH sees it.
    sounds_root: str
    #: Longest silence on the socket while nothing is expected before giving up.
    idle_timeout: float = 600.0
    #: How long to wait for FreeSWITCH to confirm a transfer or a hangup.
    settle_timeout: float = 5.0
    command_timeout: float = 5.0
    #: Told each timer's name and how many seconds after its deadline it
    #: fired (the announcement lateness of /metrics); must not block.
    timer_fired_late: Callable[[str, float], None] | None = None


@dataclass
class _Timers:
    """Named one-shot timers on a heap; restarting a name replaces it."""

    _heap: list = field(default_factory=list)
    _live: dict = field(default_factory=dict)
    _seq: itertools.count = field(default_factory=itertools.count)

    def start(self, name: str, at: float) -> None:
        token = next(self._seq)
        self._live[name] = token
        heapq.heappush(self._heap, (at, token, name))

    def cancel(self, name: str) -> None:
        self._live.pop(name, None)

    def next_deadline(self) -> float | None:
        while self._heap and self._live.get(self._heap[0][2]) != self._heap[0][1]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[tuple[str, float]]:
        """The timers due by `now`, each with its deadline."""
        due = []
        while (deadline := self.next_deadline()) is not None and deadline <= now:
            _, _, name = heapq.heappop(self._heap)
            del self._live[name]
            due.append((name, deadline))
        return due


class CallRunner:
    """Runs one `CallMachine` over one `OutboundCall` until the call is gone."""

    def __init__(self, call: OutboundCall, machine, settings: RunnerSettings,
                 clock: Callable[[], float] = time.time, queueing: Queueing | None = None,
                 agents: AgentActions | None = None):
        self.call = call
        self._agents = agents
        self.machine = machine
        self.settings = settings
        self.clock = clock
        self._queueing = queueing
        #: Messages from the queue runtime's greenlets (`_tell`); never blocks them.
        self._inbox: gevent.queue.Queue = gevent.queue.Queue()
        self._in_queue = False
        #: The machine's `queue_entries` when the caller joined the ACD: a
        #: new entry (exit key, max wait, no agents to another queue) is a
        #: move, a transfer is not one (the runtime moves the caller itself).
        self._joined_entry = 0
        self._timers = _Timers()
        #: Application-UUID -> (command, variable holding collected digits)
        self._pending: dict[str, tuple[object, str | None]] = {}
        self._hung_up = False
        #: While the queue runtime bridges the caller to an agent (`Bridging`
        #: until `Bridged` or `BridgeFailed`): media held back, timers paused.
        self._bridging = BridgingMachine(settings.command_timeout + settings.settle_timeout)
        #: Set once the machine handed the call back (transfer/hangup): from
        #: then on we only wait for FreeSWITCH to confirm, then close.
        self._leaving_uuid: str | None = None
        #: ``extra=`` for this call's log records (a field of their own in JSON logs).
        self._log_fields = fields(call=call.uuid)

    # -- main loop ---------------------------------------------------------

    def run(self) -> None:
        try:
            self._subscribe()
            self._perform(self.machine.start(self.clock()))
            self._loop()
        except ESLConnectionClosed:
            log.info("call %s: FreeSWITCH closed the socket", self.call.uuid, extra=self._log_fields)
        except ESLError as exc:
            log.warning("call %s: ESL failure, dropping the session: %s", self.call.uuid, exc,
                        extra=self._log_fields)
        finally:
            self._hung_up = True  # whatever ended it, the call is over for us: out of any queue
            self._sync_queue()
            # With `linger`, FreeSWITCH keeps the channel in memory until we
            # close: closing is never optional.
            self.call.close()

    def _subscribe(self) -> None:
        # One write, one wait: FreeSWITCH answers them in turn (Connection.requests).
        self.call.commands(["linger", "myevents", "nixevent " + UNWANTED_MYEVENTS], self.settings.command_timeout)

    def _loop(self) -> None:
        settle_deadline: float | None = None
        while True:
            now = self.clock()
            self._read_inbox()
            if not self._bridging.holding:
                for name, deadline in self._timers.pop_due(now):
                    if self.settings.timer_fired_late is not None:
                        self.settings.timer_fired_late(name, now - deadline)
                    self._feed(ev.TimerFired(name))
            elif now >= self._bridging.deadline:
                log.warning("call %s: no word on the bridge to the agent; carrying on", self.call.uuid,
                            extra=self._log_fields)
                self._bridge(NoWordOnBridge())
            if (self._leaving_uuid or self._hung_up) and settle_deadline is None:
                settle_deadline = now + self.settings.settle_timeout
            wait = self._wait_budget(now, settle_deadline)
            if wait <= 0 and settle_deadline is not None:
                log.info("call %s: no confirmation from FreeSWITCH; closing", self.call.uuid,
                         extra=self._log_fields)
                return
            item = self.call.next_event(timeout=wait)
            if item is WAKE:
                continue  # the queue runtime told us something: the inbox is read above
            if item is None:
                if (settle_deadline is None and self._timers.next_deadline() is None
                        and not self._in_queue and not self._bridging.holding):
                    log.warning("call %s: idle for %.0f s, hanging up", self.call.uuid, wait,
                                extra=self._log_fields)
                    self._perform([cmd.Hangup("RECOVERY_ON_TIMER_EXPIRE")])
                continue
            self._read_inbox()  # a bridge under way changes what this event means
            if isinstance(item, Frame):  # text/disconnect-notice
                self._caller_gone("NORMAL_CLEARING")
                return
            if self._on_event(item):
                return

    def _wait_budget(self, now: float, settle_deadline: float | None) -> float:
        timers = self._timers.next_deadline()
        if self._bridging.holding:  # timers wait for the bridge's outcome
            timers = self._bridging.deadline
        deadlines = [d for d in (timers, settle_deadline) if d is not None]
        if not deadlines:
            return self.settings.idle_timeout
        return max(0.0, min(deadlines) - now)

    # -- events in ---------------------------------------------------------

    def _on_event(self, event: Event) -> bool:
        """Translate one ESL event; True when the runner is done with the call."""
        name = event.name
        if name == "CHANNEL_EXECUTE_COMPLETE":
            app_uuid = event.get("Application-UUID")
            if app_uuid and app_uuid == self._leaving_uuid and not self._hung_up:
                return True  # the transfer ran: the dialplan owns the call now
            pending = self._pending.pop(app_uuid, None) if app_uuid else None
            if pending is not None:
                self._feed(self._completion(event, *pending))
        elif name in _HANGUP_EVENTS:
            self._caller_gone(event.get("Hangup-Cause") or "NORMAL_CLEARING")
        elif name == "CHANNEL_UNBRIDGE":
            self._bridge(Unbridged())
        elif name == "DTMF" and self._in_queue and not self._bridging.holding and not self._collecting():
            # A key pressed over the hold music (a Collect reports its own digits).
            self._feed(ev.DigitPressed(event.get("DTMF-Digit") or ""))
        return False

    def _collecting(self) -> bool:
        return any(isinstance(command, cmd.Collect) for command, _ in self._pending.values())

    def _completion(self, event: Event, command, digits_var: str | None):
        response = event.get("Application-Response") or ""
        if isinstance(command, cmd.Play) and response in _PLAYBACK_FAILURES:
            return ev.CommandFailed(command.command_id, response)
        digits = (event.get("variable_" + digits_var) or "") if digits_var else ""
        interrupted = response not in ("FILE PLAYED", "") if isinstance(command, cmd.Play) else False
        return ev.MediaDone(command.command_id, digits=digits, interrupted=interrupted)

    def _caller_gone(self, cause: str) -> None:
        if self._hung_up:
            return
        self._hung_up = True
        self._pending.clear()
        self._feed(ev.CallerHungUp(cause))

    def _feed(self, event) -> None:
        if not self.machine.finished:
            self._perform(self.machine.feed(event, self.clock()))

    # -- the queue runtime -------------------------------------------------

    def _read_inbox(self) -> None:
        while not self._inbox.empty():
            self._bridge(self._inbox.get_nowait())

    def _bridge(self, event) -> None:
        """Feed the bridging machine and carry out what it says."""
        for command in self._bridging.feed(event, self.clock()):
            if isinstance(command, FeedFlow):
                self._feed(command.event)
            elif isinstance(command, SendHeld):
                self._perform(list(command.commands))
            elif isinstance(command, SettleHeld) and self.machine.state != "queued":
                self._perform(list(command.commands))  # moot while the flow still waits in the queue

    def _tell(self, message: Message) -> None:
        """How the queue runtime's greenlets reach this call: the message
        waits in the inbox and the runner is woken to read it.  `Bridging`
        takes effect at once, so no media already on its way (the runner may
        be in the middle of sending it) follows the caller into the bridge."""
        if isinstance(message, Bridging):
            if self._in_queue:
                self._bridge(message)
            return
        self._inbox.put(message)
        self.call.wake()

    def _sync_queue(self) -> None:
        """Join the ACD when the machine starts waiting in a queue, and leave
        it when the machine moves on (max wait, no agents, a booked
        callback) or the call ends."""
        if self._must_join():
            self._join()
        elif self._in_queue and (self._hung_up or self._moving_on()):
            self._in_queue = False
            if self._hung_up:
                self._queueing.hang_up(self.call.uuid)
            else:
                key = self.machine.exit_key
                self._queueing.leave(self.call.uuid, exit_reason(key) if key else self.machine.left_by or "left_queue")

    def _moving_on(self) -> bool:
        """The machine left the queue the caller is in line in: out of the
        flow's queues, or into another queue step."""
        state = self.machine.state
        return state not in ("queued", "connected") or (
            state == "queued" and self.machine.queue_entries != self._joined_entry)

    def _must_join(self) -> bool:
        return (self._queueing is not None and not self._in_queue and not self._hung_up
                and self.machine.state == "queued")

    def _join(self) -> bool:
        """Join the machine's queue; when refused (nobody could serve it),
        tell the machine, which moves on to the queue's `no_agents`."""
        queue = self.machine.outcome[1]
        # When the agent's side of the bridge ends, the caller must come
        # back to us (parked) rather than run on through the dialplan.
        self._execute("set", fsvalues.set_arg("park_after_bridge", "true"))
        self._in_queue, self._joined_entry = True, self.machine.queue_entries
        if self._queueing.join(self.call.uuid, queue, self.machine.variables, self._tell):
            return True
        self._in_queue = False
        self._feed(ev.QueueUnavailable())
        return False

    # -- commands out ------------------------------------------------------

    def _perform(self, commands) -> None:
        if self._in_queue and not self._hung_up and self._moving_on():
            # Out of the ACD before anything is sent (each send yields), so no
            # agent is bridged to a caller who is already on their way out.
            self._sync_queue()
        for command in commands:
            if self._hung_up and not isinstance(command, (cmd.StartTimer, cmd.CancelTimer, cmd.RecordSurvey)):
                continue  # the channel is gone; media would only get -ERR
            # Join before the hold music starts: a caller the queue refuses
            # goes straight on to `no_agents` without a burst of music.  (A
            # batch holds at most one media command, its last.)
            if isinstance(command, cmd.Play) and self._must_join() and not self._join():
                return
            self._perform_one(command)
        self._sync_queue()

    def _perform_one(self, command) -> None:
        if self._bridging.holding and isinstance(command, (cmd.Play, cmd.Collect, cmd.StopMedia)):
            # Sent now, it would be queued on the channel and play inside the bridge.
            self._bridging.hold(command)
            return
        perform = _PERFORMERS.get(type(command))
        if perform is None:
            raise TypeError(f"unknown command {command!r}")
        perform(self, command)

    def _start_timer(self, command: cmd.StartTimer) -> None:
        self._timers.start(command.name, self.clock() + command.seconds)

    def _cancel_timer(self, command: cmd.CancelTimer) -> None:
        self._timers.cancel(command.name)

    def _answer(self, command: cmd.Answer) -> None:
        self._execute("answer")

    def _set_variable(self, command: cmd.SetVariable) -> None:
        self._execute("set", fsvalues.set_arg(command.name, command.value))

    def _play(self, command: cmd.Play) -> None:
        self._execute("playback", self._file_string(command.sounds), pending=(command, None))

    def _transfer(self, command: cmd.Transfer) -> None:
        self._leaving_uuid = self._execute("transfer", " ".join(
            map(fsvalues.token, (command.extension, command.dialplan, command.context))))

    def _query_queue(self, command: cmd.QueryQueue) -> None:
        status = self._queueing.status(self.call.uuid) if self._in_queue else None
        if status is not None:
            self._feed(status)

    def _hangup(self, command: cmd.Hangup) -> None:
        self._leaving_uuid = self._execute("hangup", fsvalues.token(command.cause))

    def _book(self, command) -> None:
        """Book the callback; the machine tells the caller only once it is
        committed (or that it could not be, keeping their place)."""
        booked = self._queueing.book_callback(self.call.uuid, command.number) if self._in_queue else None
        self._feed(ev.CallbackBooked(booked) if booked else ev.CallbackNotBooked("not booked"))

    def _start_recording(self, command: cmd.StartRecording) -> None:
        """`record_session` on the bridged caller: FreeSWITCH's bridge loop
        runs a queued sendmsg without ending the bridge (switch_ivr_bridge.c,
        audio_bridge_thread: switch_ivr_parse_next_event); the path is
        stored with the call's statistics."""
        self._execute("record_session", fsvalues.sound_path(command.path))
        if self._queueing is not None:
            self._queueing.recorded(self.call.uuid, command.path)

    def _stop_recording(self, command: cmd.StopRecording) -> None:
        self._execute("stop_record_session", fsvalues.sound_path(command.path))

    def _record_survey(self, command: cmd.RecordSurvey) -> None:
        if self._queueing is not None:
            self._queueing.record_survey(self.call.uuid, command.queue, command.agent_id, command.answers)

    def _change_agent(self, command: cmd.ChangeAgentState) -> None:
        """An agent's feature code: the desk stores and applies the change
        (or refuses it), and the machine says which."""
        outcome = "refused"
        if self._agents is not None:
            outcome = self._agents.feature_code(command.agent_id, command.action, command.reason)
        self._feed(ev.AgentChanged(outcome))

    def _break_media(self, command: cmd.StopMedia) -> None:
        # uuid_break writes no output, so FreeSWITCH answers a successful break
        # with "-ERR no reply"; only other -ERR replies are failures.
        try:
            self.call.api(fsvalues.api_command("uuid_break", self.call.uuid, "all"), self.settings.command_timeout)
        except ESLCommandError as exc:
            if exc.reply != "-ERR no reply":
                raise

    def _execute(self, app: str, arg: str | None = None, *, pending=None) -> str:
        event_uuid = str(uuidlib.uuid4())
        if pending is not None:
            self._pending[event_uuid] = pending
        self.call.execute(app, arg, event_uuid=event_uuid, event_lock=True,
                          timeout=self.settings.command_timeout)
        return event_uuid

    def _collect(self, command: cmd.Collect) -> None:
        # One attempt only: retries, invalid and timeout prompts belong to the
        # machine.  The regexp admits every DTMF key so the machine, not
        # FreeSWITCH, decides what is valid.  A variable per command means a
        # timeout can never return the digits of an earlier menu.
        var = f"fsrouter_digits_{command.command_id}"
        arg = " ".join(str(a) for a in (
            command.min_digits, command.max_digits, 1, command.timeout_ms,
            fsvalues.token(command.terminators or "none"), self._file_string(command.sounds),
            "silence_stream://250", var, r"[0-9*#A-D]+", command.digit_timeout_ms,
        ))
        self._execute("play_and_get_digits", arg, pending=(command, var))

    def _file_string(self, sounds: tuple[str, ...]) -> str:
        """What `playback` and `play_and_get_digits` are given: the paths
        made safe by `fsvalues` (no space, `!`, `$`...)."""
        return fsvalues.file_string([self._path(s) for s in sounds])

    def _path(self, sound: str) -> str:
        if "://" in sound or sound.startswith("/"):
            return sound
        return f"{self.settings.sounds_root.rstrip('/')}/{sound}"


_PERFORMERS: dict[type, Callable[[CallRunner, object], None]] = {
    cmd.StartTimer: CallRunner._start_timer,
    cmd.CancelTimer: CallRunner._cancel_timer,
    cmd.StopMedia: CallRunner._break_media,
    cmd.Answer: CallRunner._answer,
    cmd.SetVariable: CallRunner._set_variable,
    cmd.Play: CallRunner._play,
    cmd.Collect: CallRunner._collect,
    cmd.Transfer: CallRunner._transfer,
    cmd.QueryQueue: CallRunner._query_queue,
    cmd.BookCallback: CallRunner._book,
    cmd.ChangeAgentState: CallRunner._change_agent,
    cmd.Hangup: CallRunner._hangup,
    cmd.StartRecording: CallRunner._start_recording,
    cmd.StopRecording: CallRunner._stop_recording,
    cmd.RecordSurvey: CallRunner._record_survey,
}
"""How each flow command is carried out (STYLE: a table, not an if/elif chain)."""
