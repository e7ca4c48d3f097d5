"""Commands a call machine returns; the ESL layer carries them out.

Commands are small frozen values.  Those that take time and report back
(`Play`, `Collect`) carry a `command_id` that the matching `MediaDone`
echoes, so completions are matched by identity, never by order or by
application name.

Sound paths are relative to the sounds root and name the file without the
sample-rate directory (`en/menu/main.wav`); FreeSWITCH (and the simulator)
insert the rate directory (`en/menu/8000/main.wav`) to match the channel.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """Answer the caller's channel (idempotent in FreeSWITCH)."""


@dataclass(frozen=True)
class Play:
    """Play sound files one after the other; reports `MediaDone(command_id)`."""

    command_id: int
    sounds: tuple[str, ...]


@dataclass(frozen=True)
class Collect:
    """Play prompts one after the other and collect DTMF (FreeSWITCH
    `play_and_get_digits`); keys are taken from the first prompt on.

    Reports `MediaDone(command_id, digits=...)`, with "" when nothing valid
    was keyed before `timeout_ms`.  Retries are the machine's business, so the
    engine asks FreeSWITCH for exactly one attempt.
    """

    command_id: int
    sounds: tuple[str, ...]
    min_digits: int = 1
    max_digits: int = 1
    timeout_ms: int = 5000
    terminators: str = "#"
    digit_timeout_ms: int = 3000


@dataclass(frozen=True)
class StopMedia:
    """Cut off whatever is playing now (`uuid_break`)."""


@dataclass(frozen=True)
class SetVariable:
    """Set a channel variable (visible in CDRs and to later dialplan)."""

    name: str
    value: str


@dataclass(frozen=True)
class StartTimer:
    """Fire `TimerFired(name)` after `seconds`; restarting a name replaces it."""

    name: str
    seconds: float


@dataclass(frozen=True)
class CancelTimer:
    name: str


@dataclass(frozen=True)
class Transfer:
    """Hand the call back to the FreeSWITCH dialplan (`transfer` application)."""

    extension: str
    dialplan: str = "XML"
    context: str = "default"


@dataclass(frozen=True)
class Hangup:
    """Hang up the caller with a Q.850 cause name."""

    cause: str = "NORMAL_CLEARING"


@dataclass(frozen=True)
class QueryQueue:
    """Ask the ACD where this caller stands; answered with a `QueueStatus` event."""


@dataclass(frozen=True)
class BookCallback:
    """Book a callback to `number` (E.164) keeping the caller's place in
    line; answered with `CallbackBooked` (committed, the caller is out of the
    live queue) or `CallbackNotBooked` (still waiting)."""

    number: str


@dataclass(frozen=True)
class StartRecording:
    """Record the caller's leg, both directions, into `path` (FreeSWITCH
    `record_session`, which runs on through the bridge); the runner stores
    the path with the call's statistics."""

    path: str


@dataclass(frozen=True)
class StopRecording:
    """Stop the recording into `path` (`stop_record_session`)."""

    path: str


@dataclass(frozen=True)
class RecordSurvey:
    """Store the post-call survey's `answers` ((question from 1, score) each)
    with the call, the rules queue and the agent who took it."""

    queue: str
    agent_id: str
    answers: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ChangeAgentState:
    """An agent's feature code: `action` (login, logout, pause, unpause,
    toggle_pause; `reason` for a pause) for `agent_id`; answered with
    `AgentChanged` once the runtime applied and stored it, or refused it."""

    agent_id: str
    action: str
    reason: str = ""


Command = (
    Answer | Play | Collect | StopMedia | SetVariable | StartTimer | CancelTimer | Transfer | Hangup
    | QueryQueue | BookCallback | StartRecording | StopRecording | RecordSurvey | ChangeAgentState
)
