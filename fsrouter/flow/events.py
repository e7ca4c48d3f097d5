"""Normalized events fed to a call machine.

The ESL layer translates FreeSWITCH events into these small frozen values;
the machine never sees an ESL header.  Every event is fed together with the
current time (seconds, injected by the caller), so the machine reads no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class MediaDone:
    """A `Play` or `Collect` command finished (or was broken off).

    `digits` holds what the caller keyed for a `Collect` ("" on timeout);
    `interrupted` is True when the media was stopped by a `StopMedia`
    command or by FreeSWITCH before it ended by itself.
    """

    command_id: int
    digits: str = ""
    interrupted: bool = False


@dataclass(frozen=True)
class TimerFired:
    """A timer started with `StartTimer` expired."""

    name: str


@dataclass(frozen=True)
class CallerHungUp:
    """The caller's channel hung up; the machine must not emit media any more."""

    cause: str = "NORMAL_CLEARING"


@dataclass(frozen=True)
class CommandFailed:
    """FreeSWITCH refused or failed a command (e.g. `-ERR` reply, missing file)."""

    command_id: int
    reason: str



@dataclass(frozen=True)
class AgentConnected:
    """The ACD bridged a queued caller to `agent_id`."""

    agent_id: str


@dataclass(frozen=True)
class AgentDisconnected:
    """The bridge to the agent ended (the agent hung up or was transferred)."""


@dataclass(frozen=True)
class Transferred:
    """The agent (or a supervisor) sent the bridged caller on to rules queue
    `queue`, where the runtime has already put them; `variables` are the
    call's context as the next agent's whisper will have it (the note, who
    transferred, how many transfers so far)."""

    queue: str
    variables: Mapping[str, str]


@dataclass(frozen=True)
class QueueUnavailable:
    """The ACD will not serve this caller: nobody who could is logged in."""


@dataclass(frozen=True)
class QueueStatus:
    """Where a queued caller stands, as it may be announced.

    `position` never rises for a caller (the ACD guarantees it); the wait is
    a conservative estimate in whole minutes with its wording bucket
    ("less_than_a_minute", "minutes", "more_than"), or None when no
    meaningful estimate exists.
    """

    position: int
    wait_bucket: str | None = None
    wait_minutes: int | None = None
    staffed: bool = True
    """False when no agent who could serve the queue is logged in: then no
    callback is offered (nobody would ever make it)."""


@dataclass(frozen=True)
class DigitPressed:
    """The queued caller keyed DTMF over the hold music (outside any `Collect`)."""

    digits: str


@dataclass(frozen=True)
class CallbackBooked:
    """The callback a `BookCallback` asked for is committed in the store."""

    callback_id: str


@dataclass(frozen=True)
class CallbackNotBooked:
    """The callback could not be booked; the caller keeps their place in line."""

    reason: str


@dataclass(frozen=True)
class AgentChanged:
    """The runtime's answer to `ChangeAgentState`: one of
    `rules.agent_step.OUTCOMES` (logged_in, logged_out, paused, unpaused,
    unknown, refused)."""

    outcome: str


Event = (
    MediaDone | TimerFired | CallerHungUp | CommandFailed
    | AgentConnected | AgentDisconnected | Transferred | QueueUnavailable | QueueStatus
    | DigitPressed | CallbackBooked | CallbackNotBooked | AgentChanged
)
