"""Scripted callers: who calls, which keys they press and when they hang up.

An action fires on exactly one trigger:

* ``at=`` -- sim seconds after the call was answered;
* ``after_prompt="menu/main"`` -- when that prompt starts playing (its
  ``occurrence``-th time), plus ``delay``;
* ``after_app_count=N`` -- when the N-th application fsrouter asked for
  starts, plus ``delay``.

A caller with a ``patience`` gives up that many sim seconds after the call
was answered unless an agent was bridged to them by then (an abandoned
call); the patience may be drawn per call (`Switch.place_call` draws it).

Keys go into the channel's DTMF queue the moment they are pressed, as RTP
digits do; whether and when a DTMF event follows is up to the application
running at the time (README fact 9): `playback` and `play_and_get_digits`
consume them, `sleep` only stops early, `answer` or `set` leave them queued.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import gevent

from fsrouter.sim.dist import Duration

if TYPE_CHECKING:
    from fsrouter.sim.call import AppRun
    from fsrouter.sim.channel import Channel
    from fsrouter.sim.media import Sound


@dataclass(frozen=True, kw_only=True)
class Action:
    """When a caller action happens (see the module docstring)."""

    at: float | None = None
    after_prompt: str | None = None
    after_app_count: int | None = None
    occurrence: int = 1
    #: Sim seconds after a prompt or application trigger (ignored with ``at``).
    delay: float = 0.5

    def __post_init__(self) -> None:
        given = [t for t in (self.at, self.after_prompt, self.after_app_count) if t is not None]
        if len(given) != 1:
            raise ValueError(f"{type(self).__name__} needs exactly one of at=, after_prompt=, after_app_count=")
        if self.occurrence < 1:
            raise ValueError("occurrence counts from 1")


@dataclass(frozen=True)
class Press(Action):
    """Press one or more keys, `interval` sim seconds apart."""

    keys: str
    interval: float = 0.3
    duration_ms: int = 280

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.keys or any(k not in "0123456789*#ABCDabcd" for k in self.keys):
            raise ValueError(f"not DTMF keys: {self.keys!r}")


@dataclass(frozen=True)
class HangUp(Action):
    """The caller hangs up (a SIP BYE)."""

    cause: str = "NORMAL_CLEARING"


@dataclass(frozen=True)
class CallerScript:
    destination: str = "5000"
    caller_id_number: str = "+302101234567"
    caller_id_name: str = "Sim Caller"
    actions: tuple[Action, ...] = field(default_factory=tuple)
    #: Sim seconds after answer the caller waits for an agent before hanging up (None: forever).
    patience: Duration = None
    #: Channel variables the dialplan set before the socket application (e.g. fsrouter_language).
    variables: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", tuple(self.actions))


def prompt_matches(prompt: str, sound: Sound) -> bool:
    """True if `sound` is the prompt id `prompt` ("menu/main"), whatever its root, language or rate directory."""
    wanted = os.path.splitext(prompt.strip("/"))[0].split("/")
    asked = [part for part in os.path.splitext(sound.spec)[0].split("/") if not part.isdigit()]
    return asked[-len(wanted):] == wanted


class CallerDriver:
    """Carries out a `CallerScript` on a channel; the channel tells it what starts playing."""

    def __init__(self, channel: Channel, script: CallerScript) -> None:
        self.channel = channel
        self.script = script
        self._prompt_seen: dict[str, int] = {}
        self._esl_apps = 0

    def start(self) -> None:
        timed = [a for a in self.script.actions if a.at is not None]
        if timed:
            self.channel.switch.spawn(self._run_timed, timed)
        if self.channel.call.patience is not None:
            self.channel.switch.spawn(self._run_patience)

    def _answered_at(self) -> float | None:
        """Wait for the answer; the sim time it came, or None if the call ended unanswered."""
        gevent.wait([self.channel.answered, self.channel.destroyed], count=1)
        return self.channel.clock.now() if self.channel.answered.is_set() else None

    def _run_patience(self) -> None:
        channel = self.channel
        answered = self._answered_at()
        if answered is None:
            return
        channel.clock.sleep(answered + channel.call.patience - channel.clock.now())
        if channel.ready and channel.call.bridged_at is None:
            channel.hangup("NORMAL_CLEARING", by="caller")

    def _run_timed(self, actions: list[Action]) -> None:
        answered = self._answered_at()
        if answered is None:
            return
        for action in sorted(actions, key=lambda a: a.at):
            self.channel.clock.sleep(answered + action.at - self.channel.clock.now())
            self._perform(action)

    def on_app_start(self, run: AppRun) -> None:
        if run.source != "esl":
            return
        self._esl_apps += 1
        for action in self.script.actions:
            if action.after_app_count == self._esl_apps:
                self._later(action)

    def on_sound(self, sound: Sound) -> None:
        for prompt in {a.after_prompt for a in self.script.actions if a.after_prompt}:
            if prompt_matches(prompt, sound):
                self._prompt_seen[prompt] = seen = self._prompt_seen.get(prompt, 0) + 1
                for action in self.script.actions:
                    if action.after_prompt == prompt and action.occurrence == seen:
                        self._later(action)

    def _later(self, action: Action) -> None:
        self.channel.switch.spawn(self._perform, action, delay=action.delay)

    def _perform(self, action: Action) -> None:
        channel = self.channel
        if not channel.ready:
            return
        if isinstance(action, HangUp):
            channel.hangup(action.cause, by="caller")
            return
        for index, key in enumerate(action.keys):
            if index:
                channel.clock.sleep(action.interval)
            if not channel.ready:
                return
            channel.receive_dtmf(key.upper(), action.duration_ms)
