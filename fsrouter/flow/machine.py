"""The per-call state machine: events in, commands out, nothing else.

A `CallMachine` walks one call through the compiled plan.  It owns no
connection and reads no clock: the engine feeds it normalized events with
the current time and carries out the commands it returns.  Every move it
makes follows an edge of the plan's graph (`node.edges[outcome]`), the same
table `fsrouter graph` draws; the code here only decides which outcome an
event means.

While a caller waits in a queue the machine plays the queue's music (by
default FreeSWITCH's shared `local_stream://moh`: one playback that runs
until an announcement breaks in, then one more) and the announcements,
runs the callback dialog (`callback.py`) when the caller accepts the offer,
sends a caller who keys an exit key where the queue says, and records the
bridged call when the line, route or queue asks for it.

Nothing a caller does can break it: unexpected keys are re-prompted,
stale or unknown events are ignored, a failed prompt is skipped, and after
the caller hangs up no further media is issued.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from itertools import count
from types import MappingProxyType

from .. import speech
from ..rules import plan as p
from ..rules.media_settings import MUSIC_AS_IS, OPT_OUT_PROMPT, record_path
from ..rules.afterbridge import TRANSFER_PROMPT
from ..rules.templates import Template
from .agent_dialog import AgentDialog
from .announce import announcement
from .callback import CallbackDialog, Result, offer_due
from .commands import (
    Answer, CancelTimer, Collect, Command, Hangup, Play, QueryQueue, SetVariable, StartRecording, StartTimer,
    StopMedia, StopRecording, Transfer,
)
from .survey import SurveyDialog
from .events import (
    AgentConnected, AgentDisconnected, CallerHungUp, CommandFailed, DigitPressed, Event, MediaDone,
    QueueStatus, QueueUnavailable, TimerFired, Transferred,
)

log = logging.getLogger(__name__)

REFUSED_CAUSE = "UNALLOCATED_NUMBER"
"""Hangup cause for a call no line, route or default route accepts."""

SPIN_CAUSE = "NORMAL_TEMPORARY_FAILURE"
MAX_HOPS = 1000
"""Steps taken without waiting for the caller before the call is given up.
Only reachable when every prompt in a loop renders to nothing."""

EXPORT_PREFIX = "fsrouter_"
"""Variables the rules set are also set on the channel with this prefix."""

_SOUND_ID = re.compile(r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*")
_LANGUAGE = re.compile(r"[A-Za-z0-9_-]+")
_DTMF = re.compile(r"[0-9*#]+")

MAX_WAIT_TIMER = "queue_max_wait"
ANNOUNCE_TIMER = "queue_announce"
OPT_OUT_WAIT_MS = 1000
"""How long after the recording notice its opt-out key is still taken."""

NoticeLookup = Callable[[str, float], "str | None"]
"""(notice key, now) -> the prompt id switched on for it, or None."""


def _no_notices(key: str, now: float) -> None:
    return None


class FlowError(Exception):
    """The engine used the machine wrongly (a local bug, never the caller's doing)."""


class CallMachine:
    def __init__(
        self,
        plan: p.Plan,
        call_vars: Mapping[str, str],
        *,
        now: float,
        notices: NoticeLookup | None = None,
    ) -> None:
        """`call_vars` come from the channel (destination_number,
        caller_id_number, caller_id_name, uuid); `notices(key, now)` is the
        prompt id of the supervisor's notice on for a key ("line:+302101234567",
        "brand:acme", "queue:billing", "global") at `now`, or None; it is
        asked when the call reaches a `notice:` step, so a notice switched
        on while the call is in the menu is heard, one switched on later is not."""
        self._plan = plan
        self.decision = plan.route(call_vars, now)
        self._vars = dict(self.decision.variables)
        self._notices = notices or _no_notices
        self._ids = count(1)
        self._phase = "new"  # new, running, queued, finished
        self._queue: p.Queue | None = None
        self._wait_said_at: float | None = None
        self._offered = False  # a callback was offered: its key is live
        self._dialog: CallbackDialog | None = None
        self._survey: SurveyDialog | None = None
        self._desk: AgentDialog | None = None
        """The `agent:` step under way (`agent_dialog.py`)."""
        self._deferred_exit: tuple[list[Command], str] | None = None
        """Leaving the queue (max wait, nobody to serve) waits for the dialog to end."""
        self._node: p.Node | None = None
        self._waiting: int | None = None
        self._menu: str | None = None
        self._misses = {p.INVALID: 0, p.TIMEOUT: 0}
        self._record: p.RecordSettings | None = None
        """What recording the bridged call would have (None once the caller opted out)."""
        self._opted_out = False
        """The caller keyed the opt-out key: nothing of this call is recorded, transfers included."""
        self._notice_said = False
        """The recording notice was said: once a call, not again after a transfer."""
        self._noticed: str | None = None
        """The queue step whose recording notice was just said."""
        self.recording: str | None = None
        """The file the bridged call is being recorded into."""
        self._recordings: list[str] = []
        """Every file this call's bridges were recorded into, in turn."""
        self.exit_key: str | None = None
        """The exit key the caller left their last queue by (None if they left it otherwise)."""
        self.left_by: str | None = None
        """Why the caller left their last queue: "exit_key", "max_wait" or "no_agents"."""
        self.queue_entries = 0
        """How many times the flow has put the caller in line.  The runner
        joins the ACD anew each time; a transfer is not counted, the queue
        runtime moves the transferred caller itself."""
        self.outcome: tuple[str, str] | None = None
        """("transfer", extension), ("hangup", cause), ("queue", name),
        ("answered", agent_id), ("callback", callback_id) or
        ("caller_hangup", cause) once the flow has ended."""

    @property
    def finished(self) -> bool:
        """True once the machine will issue nothing more (queued calls are
        not finished: the ACD carries on with them)."""
        return self._phase == "finished"

    @property
    def state(self) -> str:
        """The current node id, or "new", "queued", "connected", "survey", "finished"."""
        if self._phase == "running" and self._node is not None:
            return self._node.id
        return self._phase

    @property
    def variables(self) -> Mapping[str, str]:
        return MappingProxyType(self._vars)

    def start(self, now: float) -> list[Command]:
        if self._phase != "new":
            raise FlowError("start() called twice")
        self._phase = "running"
        if self.decision.flow is None:
            log.info("call %s to %r: no route, refused", self._uuid, self._vars.get("destination_number"))
            return self._end([Hangup(REFUSED_CAUSE)], ("hangup", REFUSED_CAUSE))
        commands: list[Command] = [Answer()]
        commands += [SetVariable(EXPORT_PREFIX + k, v) for k, v in self.decision.exported.items()]
        return commands + self._go(self._plan.flows[self.decision.flow], now)

    def feed(self, event: Event, now: float) -> list[Command]:
        if self._phase == "new":
            raise FlowError("feed() before start()")
        if isinstance(event, CallerHungUp):
            if self._phase == "running":
                self.outcome = ("caller_hangup", event.cause)
            self._phase = "finished"
            return self._survey.finish() if self._survey is not None else []  # what they answered counts
        if self._phase == "queued":
            return self._while_queued(event, now)
        if self._phase == "connected":
            return self._while_connected(event, now)
        if self._phase == "survey":
            return self._in_survey(event)
        if self._phase == "running" and self._desk is not None:
            return self._in_desk(event, now)
        if self._phase != "running" or not isinstance(event, (MediaDone, CommandFailed)):
            return []
        if event.command_id != self._waiting:
            return []
        self._waiting = None
        node = self._node
        if isinstance(node.step, p.Enqueue):
            return self._after_notice(event, now)
        if isinstance(event, CommandFailed):
            log.warning("call %s at %s: command failed: %s", self._uuid, node.id, event.reason)
            outcome = self._failed(node)
        else:
            outcome = self._done(node, event.digits)
        return self._go(node.edges[outcome], now)

    # -- moving along the graph --------------------------------------------

    def _go(self, node_id: str, now: float) -> list[Command]:
        """Enter nodes until one waits for an event or ends the flow."""
        commands: list[Command] = []
        for _ in range(MAX_HOPS):
            node = self._node = self._plan.nodes[node_id]
            outcome = _ENTER[type(node.step)](self, node.step, now, commands)
            if outcome is None:
                return commands
            node_id = node.edges[outcome]
        log.error("call %s: %d steps without a pause at %s; hanging up", self._uuid, MAX_HOPS, node_id)
        return self._end(commands + [Hangup(SPIN_CAUSE)], ("hangup", SPIN_CAUSE))

    def _end(self, commands: list[Command], outcome: tuple[str, str], phase: str = "finished") -> list[Command]:
        self.outcome = outcome
        self._phase = phase
        return commands

    def _wait(self, command: Callable[[int], Command], commands: list[Command]) -> None:
        self._waiting = next(self._ids)
        commands.append(command(self._waiting))

    # -- what entering each kind of step does: an outcome to follow now, or
    #    None when the machine waits (or the flow ended) -------------------

    def _enter_play(self, step: p.Play, now: float, commands: list[Command]) -> str | None:
        sounds = tuple(s for s in map(self._sound, step.sounds) if s is not None)
        if not sounds:
            return p.DONE
        self._wait(lambda i: Play(i, sounds), commands)
        return None

    def _enter_menu(self, step: p.Menu, now: float, commands: list[Command]) -> str | None:
        if self._menu != self._node.id:
            self._menu = self._node.id
            self._misses = {p.INVALID: 0, p.TIMEOUT: 0}
        sound = self._sound(step.prompt)
        if sound is None:
            return self._miss(step, p.TIMEOUT)
        self._wait(
            lambda i: Collect(
                i, (sound,), max_digits=step.max_digits, timeout_ms=step.timeout_ms,
                terminators=step.terminators,
            ),
            commands,
        )
        return None

    def _enter_set(self, step: p.SetVars, now: float, commands: list[Command]) -> str:
        for name, template in step.values.items():
            self._vars[name] = value = template.render(self._vars)
            commands.append(SetVariable(EXPORT_PREFIX + name, value))
        return p.NEXT

    def _enter_goto(self, step: p.Goto, now: float, commands: list[Command]) -> str:
        return p.NEXT

    def _enter_condition(self, step: p.Condition, now: float, commands: list[Command]) -> str:
        return p.THEN if step.test.test(self._plan.context(self._vars, now)) else p.ELSE

    def _enter_notice(self, step: p.Notice, now: float, commands: list[Command]) -> str | None:
        prompt = self._notices(step.key.render(self._vars), now)
        # The prompt id as a literal (nothing in it is a placeholder), in the call's language.
        sound = self._sound(Template(prompt, (prompt,))) if prompt else None
        if sound is None:
            return p.NEXT
        self._wait(lambda i: Play(i, (sound,)), commands)
        return None

    def _enter_transfer(self, step: p.Transfer, now: float, commands: list[Command]) -> None:
        commands.append(Transfer(step.extension, step.dialplan, step.context))
        self._end(commands, ("transfer", step.extension))

    def _enter_hangup(self, step: p.Hangup, now: float, commands: list[Command]) -> None:
        commands.append(Hangup(step.cause))
        self._end(commands, ("hangup", step.cause))

    def _enter_queue(self, step: p.Enqueue, now: float, commands: list[Command]) -> None:
        """Wait on hold music until the queue's maximum wait, then go to its
        declared destination: no caller waits without end.  Offering the
        call to agents is the ACD's part, driven from outside the machine.

        A recorded queue's notice ("this call may be recorded") is said
        first, before the caller joins the line: no agent's answer can cut
        it short.  Its opt-out key may be keyed while it plays."""
        self._queue = self._plan.queues[step.queue]
        if self._noticed != self._node.id:
            self._record = self._recording_settings()
            notice = self._notice()
            if notice:
                self._noticed = self._node.id
                key = self._record.opt_out_key
                self._wait(lambda i: Collect(i, notice, timeout_ms=OPT_OUT_WAIT_MS, terminators="")
                           if key else Play(i, notice), commands)
                return
        self._noticed = None
        self.queue_entries += 1
        self._wait_in_queue(commands)

    def _wait_in_queue(self, commands: list[Command]) -> None:
        """In line in `self._queue`: its timers and music."""
        commands.append(StartTimer(MAX_WAIT_TIMER, self._queue.max_wait))
        if self._queue.announce is not None:
            commands.append(StartTimer(ANNOUNCE_TIMER, self._queue.announce.first))
        self._hold(commands)
        self._end(commands, ("queue", self._queue.name), phase="queued")

    def _recording_settings(self) -> p.RecordSettings | None:
        """The recording the bridge in `self._queue` would have: the queue's,
        else the line's or route's; none for a caller who opted out."""
        return None if self._opted_out else self._queue.record or self.decision.record

    def _notice(self) -> tuple[str, ...]:
        """The recording notice still to be said before the bridge, if any
        (it is said once a call: not again in the next queue or after a
        transfer), naming its opt-out key in the call's language: "This call
        may be recorded. If you prefer not to be recorded, press 9."."""
        if self._notice_said or self._record is None or self._record.announce is None:
            return ()
        notice = self._sound(self._record.announce)
        if notice is None:
            return ()
        self._notice_said = True
        key = self._record.opt_out_key
        opt_out = (OPT_OUT_PROMPT, *speech.grammar(self._language).press(key)) if key else ()
        return (notice, *self._prompts(opt_out))

    def _opt_out(self) -> None:
        log.info("call %s: opted out of recording in queue %s", self._uuid, self._queue.name)
        self._record, self._opted_out = None, True

    def _after_notice(self, event: MediaDone | CommandFailed, now: float) -> list[Command]:
        """The recording notice was said (or could not be): into the queue.
        A key keyed meanwhile is the opt-out key, or one of the queue's exit
        keys, which the caller may key at any time while in it: they leave
        for its destination before joining the line."""
        digits = event.digits if isinstance(event, MediaDone) else ""
        if digits and digits == self._record.opt_out_key:
            self._opt_out()
        elif digits in self._queue.exits:
            self._noticed = None
            return self._exit(digits, now, cancels=[])
        return self._go(self._node.id, now)

    def _enter_agent_desk(self, step: p.AgentDesk, now: float, commands: list[Command]) -> str | None:
        self._desk = AgentDialog(step, self._plan.agents, self._vars, self._prompts, self._sound,
                                 self._ids.__next__)
        commands += self._desk.start()
        return self._desk_over()

    def _in_desk(self, event: Event, now: float) -> list[Command]:
        commands = self._desk.feed(event)
        outcome = self._desk_over()
        return commands if outcome is None else commands + self._go(self._node.edges[outcome], now)

    def _desk_over(self) -> str | None:
        """DONE once the `agent:` step said its outcome; None while it runs."""
        if not self._desk.finished:
            return None
        log.info("call %s: agent %s %s: %s", self._uuid, self._desk.agent_id or "?", self._node.step.action,
                 self._desk.outcome)
        self._desk = None
        return p.DONE

    def _hold(self, commands: list[Command]) -> None:
        """Start the music: a stream plays until broken into, a prompt is
        started again each time it ends.

        A `local_stream://` playback never ends by itself: mod_local_stream
        hands out silence rather than an end of file (local_stream_file_read),
        so it reports back only when `StopMedia` breaks it (uuid_break sets
        CF_BREAK, switch_ivr_play_file stops on it and `playback` still
        answers FILE PLAYED: mod_commands.c break_function, mod_dptools.c
        playback_function).  A break that finds nothing playing cannot cut
        the announcement after it short: switch_core_session_exec clears
        CF_BREAK as each application starts (signalwire/freeswitch cc93a68)."""
        music = self._queue.music
        sound = music if MUSIC_AS_IS.fullmatch(music) else self._sound(Template.parse(music))
        if sound is not None:
            self._wait(lambda i: Play(i, (sound,)), commands)

    def _while_queued(self, event: Event, now: float) -> list[Command]:
        if isinstance(event, AgentConnected):
            # The bridge itself cut the media off; only the clock stops here.
            self._waiting = self._dialog = None
            self._phase = "connected"
            self.outcome = ("answered", event.agent_id)
            return [CancelTimer(MAX_WAIT_TIMER), CancelTimer(ANNOUNCE_TIMER)] + self._start_recording(now)
        leaving = self._queue_exit(event)
        if self._dialog is not None:
            return self._in_dialog(event, leaving, now)
        if leaving is not None:
            return self._leave_queue(leaving[0] + [StopMedia()], leaving[1], now)
        if isinstance(event, TimerFired) and event.name == ANNOUNCE_TIMER:
            return [QueryQueue()]
        if isinstance(event, QueueStatus) and self._queue.announce is not None:
            return self._announce_status(event, now)
        if isinstance(event, DigitPressed) and event.digits in self._queue.exits:
            return self._exit(event.digits, now)
        if isinstance(event, DigitPressed) and self._offered and event.digits == self._queue.callback.key:
            return self._start_dialog()
        if isinstance(event, DigitPressed) and self._record and event.digits == self._record.opt_out_key:
            self._opt_out()
            return []
        commands: list[Command] = []
        if isinstance(event, MediaDone) and event.command_id == self._waiting:
            self._hold(commands)  # after the music or an announcement: music again
        return commands

    def _exit(self, key: str, now: float, cancels: list[Command] | None = None) -> list[Command]:
        """The caller keyed an exit key: out of the queue to its destination."""
        log.info("call %s: left queue %s by exit key %s", self._uuid, self._queue.name, key)
        self.exit_key, self.left_by = key, "exit_key"
        if cancels is None:
            cancels = [CancelTimer(MAX_WAIT_TIMER), CancelTimer(ANNOUNCE_TIMER), StopMedia()]
        return self._leave_queue(cancels, self._queue.exits[key], now)

    def _start_recording(self, now: float) -> list[Command]:
        """Record the bridged call, into a path whose {values} are made safe."""
        if self._record is None:
            return []
        values = {**self._vars, "queue": self._queue.name,
                  "date": self._plan.context(self._vars, now).moment.date.isoformat()}
        path = record_path(self._record.path, values)
        if path in self._recordings:  # record_session would write over the earlier bridge's file
            stem, dot, extension = path.rpartition(".")
            path = f"{stem}-{len(self._recordings) + 1}{dot}{extension}"
        self.recording = path
        self._recordings.append(path)
        return [StartRecording(path)]

    def _queue_exit(self, event: Event) -> tuple[list[Command], str] | None:
        """If `event` ends the wait: the timers to cancel and where the call goes."""
        if isinstance(event, TimerFired) and event.name == MAX_WAIT_TIMER:
            log.info("call %s: maximum wait in queue %s reached", self._uuid, self._queue.name)
            self.exit_key, self.left_by = None, "max_wait"
            return [CancelTimer(ANNOUNCE_TIMER)], self._queue.max_wait_then
        if isinstance(event, QueueUnavailable):
            log.info("call %s: queue %s has nobody to serve it", self._uuid, self._queue.name)
            self.exit_key, self.left_by = None, "no_agents"
            destination = self._queue.no_agents or self._queue.max_wait_then
            return [CancelTimer(MAX_WAIT_TIMER), CancelTimer(ANNOUNCE_TIMER)], destination
        return None

    def _announce_status(self, status: QueueStatus, now: float) -> list[Command]:
        """Break into the hold music with the caller's position (as often as
        the queue says, the estimated wait; when the wait is long, the
        callback offer), then back to music."""
        settings = self._queue.announce
        commands: list[Command] = [StartTimer(ANNOUNCE_TIMER, settings.every)]
        say_wait = settings.wait_every is not None and (
            self._wait_said_at is None or now - self._wait_said_at >= settings.wait_every)
        callback = self._queue.callback
        offer = callback is not None and offer_due(callback, status, callback.window is None or
                                                   callback.window.test(self._plan.context(self._vars, now)))
        prompts = announcement(status, settings, say_wait, offer, callback_key=callback.key if callback else "1",
                               language=self._language)
        sounds = self._prompts(prompts)
        if not sounds:
            return commands
        if say_wait and "queue/estimated_wait" in prompts:
            self._wait_said_at = now
        self._offered = self._offered or offer
        commands.append(StopMedia())
        self._wait(lambda i: Play(i, sounds), commands)
        return commands

    # -- the callback dialog (flow/callback.py) -----------------------------

    def _start_dialog(self) -> list[Command]:
        """The caller pressed the offer key: stop the music and ask for the
        number.  They keep their place meanwhile, so an agent may still answer."""
        log.info("call %s: callback requested in queue %s", self._uuid, self._queue.name)
        self._waiting = None  # the broken-off media reports nothing we need
        line = self._plan.lines.get(self.decision.line or "")
        self._dialog = CallbackDialog(
            self._queue.callback, self._vars.get("caller_id_number", ""), self._prompts, self._ids.__next__,
            language=self._language, home_region=line.region if line is not None else None)
        return [StopMedia()] + self._dialog.start()

    def _in_dialog(self, event: Event, leaving: tuple[list[Command], str] | None, now: float) -> list[Command]:
        """Feed the dialog; the queue's own timers wait until it ends."""
        if leaving is not None:
            self._deferred_exit = leaving
            return []
        if isinstance(event, QueueStatus) or (isinstance(event, TimerFired) and event.name == ANNOUNCE_TIMER):
            return [StartTimer(ANNOUNCE_TIMER, self._queue.announce.every)]  # no announcing over the dialog
        commands = self._dialog.feed(event)
        dialog = self._dialog
        if dialog.result is None:
            return commands
        self._dialog = None
        if dialog.result is Result.BOOKED:
            log.info("call %s: callback %s booked in queue %s", self._uuid, dialog.callback_id, self._queue.name)
            commands += [CancelTimer(MAX_WAIT_TIMER), CancelTimer(ANNOUNCE_TIMER), Hangup("NORMAL_CLEARING")]
            return self._end(commands, ("callback", dialog.callback_id))
        log.info("call %s: no callback (%s); waiting on in queue %s", self._uuid, dialog.result.value,
                 self._queue.name)
        if self._deferred_exit is not None:
            cancels, destination = self._deferred_exit
            return self._leave_queue(commands + cancels, destination, now)
        self._hold(commands)
        return commands

    def _leave_queue(self, commands: list[Command], destination: str, now: float) -> list[Command]:
        self._waiting = None  # the broken-off hold music reports nothing we need
        self._phase = "running"
        self.outcome = None
        return commands + self._go(destination, now)

    def _while_connected(self, event: Event, now: float) -> list[Command]:
        """After the agent's side of the bridge ends, the caller is parked
        (park_after_bridge) and back with us: the recording stops, then the
        queue's survey if it has one, else the call ends cleanly.  A transfer
        puts them in line again."""
        if isinstance(event, Transferred):
            return self._transferred(event, now)
        if not isinstance(event, AgentDisconnected):
            return []
        stop = self._stop_recording()
        if self._queue.survey is None:
            return self._end(stop + [Hangup("NORMAL_CLEARING")], self.outcome)
        self._phase = "survey"  # out of the queue: the agent is free to wrap up
        self._survey = SurveyDialog(self._queue.survey, self._queue.name, self.outcome[1], self._sound,
                                    self._ids.__next__)
        return stop + self._in_survey_commands(self._survey.start())

    def _stop_recording(self) -> list[Command]:
        """The bridge is over: so is its recording (not kept through a survey
        or into the next agent's bridge after a transfer)."""
        if self.recording is None:
            return []
        path, self.recording = self.recording, None
        return [StopRecording(path)]

    def _in_survey(self, event: Event) -> list[Command]:
        return self._in_survey_commands(self._survey.feed(event))

    def _in_survey_commands(self, commands: list[Command]) -> list[Command]:
        """The survey's commands; its hangup ends the flow."""
        if any(isinstance(c, Hangup) for c in commands):
            return self._end(commands, self.outcome)
        return commands

    def _transferred(self, event: Transferred, now: float) -> list[Command]:
        """Sent on by the agent: the context grows (the note, who sent
        them), a short transfer prompt, then the new queue's music, timers
        and announcements, as on entering it."""
        if event.queue not in self._plan.queues:  # the runtime's plan is newer than this call's
            log.warning("call %s: transferred to queue %s, unknown to its rules", self._uuid, event.queue)
            return self._end(self._stop_recording() + [Hangup("NORMAL_CLEARING")], self.outcome)
        self._vars.update(event.variables)
        commands = self._stop_recording()
        commands += [SetVariable(EXPORT_PREFIX + k, v) for k, v in event.variables.items()]
        self._offered, self._wait_said_at, self._dialog, self._deferred_exit = False, None, None, None
        # Already in line there (the runtime put them): no notice step
        # before it; the notice goes with the prompt if not yet said.
        self._queue = self._plan.queues[event.queue]
        self._record = self._recording_settings()
        prompts = (*self._prompts([TRANSFER_PROMPT]), *self._notice())
        if prompts:
            commands.append(Play(next(self._ids), prompts))
        self._wait_in_queue(commands)
        return commands

    # -- what a finished command means -------------------------------------

    def _done(self, node: p.Node, digits: str) -> str:
        if not isinstance(node.step, p.Menu):
            return p.NEXT if isinstance(node.step, p.Notice) else p.DONE
        if _DTMF.fullmatch(digits) and digits in node.edges:
            return digits
        return self._miss(node.step, p.TIMEOUT if digits == "" else p.INVALID)

    def _failed(self, node: p.Node) -> str:
        """A prompt that cannot be played is skipped; a menu that cannot ask
        counts as a timeout, so its retries and give-up path still apply."""
        return self._done(node, "")

    def _miss(self, step: p.Menu, kind: str) -> str:
        self._misses[kind] += 1
        if kind == p.INVALID:
            return p.INVALID if self._misses[kind] <= step.invalid_retries else p.TOO_MANY_INVALID
        return p.TIMEOUT if self._misses[kind] <= step.timeout_retries else p.TOO_MANY_TIMEOUTS

    def _prompts(self, sound_ids: Sequence[str]) -> tuple[str, ...]:
        """Fixed prompt ids as sound paths; those that cannot be played are left out."""
        return tuple(s for s in (self._sound(Template.parse(i)) for i in sound_ids) if s is not None)

    def _sound(self, template: Template) -> str | None:
        """`menu/main` -> `en/menu/main.wav` in the call's language; None
        (and a log line) if variables made it unsafe or empty."""
        sound_id = template.render(self._vars)
        language = self._language
        if _SOUND_ID.fullmatch(sound_id) and _LANGUAGE.fullmatch(language):
            return f"{language}/{sound_id}.wav"
        log.warning("call %s: prompt %r rendered to %r/%r; skipped", self._uuid, template.source, language, sound_id)
        return None

    @property
    def _language(self) -> str:
        """The call's language: set by its line, route, a `set` step or the
        channel's `language` variable; else the rules' default."""
        return self._vars.get("language") or self._plan.settings.language

    @property
    def _uuid(self) -> str:
        return self._vars.get("uuid", "?")


_ENTER = {
    p.Play: CallMachine._enter_play,
    p.Menu: CallMachine._enter_menu,
    p.SetVars: CallMachine._enter_set,
    p.Goto: CallMachine._enter_goto,
    p.Condition: CallMachine._enter_condition,
    p.Notice: CallMachine._enter_notice,
    p.Transfer: CallMachine._enter_transfer,
    p.Hangup: CallMachine._enter_hangup,
    p.Enqueue: CallMachine._enter_queue,
    p.AgentDesk: CallMachine._enter_agent_desk,
}
