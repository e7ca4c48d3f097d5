"""What the queue runtime tells a call's runner (typed, frozen, no tuples).

The runtime's greenlets hand these to the runner's `notify` callback, which
must not block; the runner reads them in its own greenlet (`Bridging` takes
effect at once, see `call_runner.CallRunner._tell`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Bridging:
    """The agent answered and heard the whisper; the bridge is being made:
    send no more media (it would play inside the bridge)."""

    agent_id: str


@dataclass(frozen=True)
class Bridged:
    """The caller is talking to the agent: stop the hold music and the max-wait timer."""

    agent_id: str


@dataclass(frozen=True)
class BridgeFailed:
    """The bridge could not be made: the caller is back in line (media held back goes out)."""

    agent_id: str


@dataclass(frozen=True)
class MaxWait:
    """The ACD's max wait for rules queue `queue` ran out (the flow's own timer
    usually fires first: both are treated alike)."""

    queue: str


@dataclass(frozen=True)
class NoAgents:
    """The last agent who could take the call stopped serving: on to the queue's `no_agents`."""

    queue: str


@dataclass(frozen=True)
class Transferring:
    """The bridged caller is sent on to rules queue `queue` (already put in
    line there); the agent's leg is being hung up, and the caller, parked
    (park_after_bridge), is back with the runner once the bridge ends.
    `variables` is the context added for the next agent's whisper."""

    queue: str
    variables: Mapping[str, str]


@dataclass(frozen=True)
class AttendedTransfer:
    """Like `Transferring`, but the agent stays on: the caller, already in
    line in `queue`, goes on talking to them until the next agent's bridge
    is made (which ends this one), or until they hang up."""

    queue: str
    variables: Mapping[str, str]


Message = Bridging | Bridged | BridgeFailed | MaxWait | NoAgents | Transferring | AttendedTransfer
