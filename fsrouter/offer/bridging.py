"""A call runner's side of the bridge to an agent: a sans-IO machine.

While the queue runtime bridges the caller (`Bridging` until `Bridged` or
`BridgeFailed`), the runner must send no media (queued on the channel, it
would play inside the bridge with the agent cut off) and its flow timers
wait.  Media the flow asks for meanwhile is held back (`hold`): dropped once
the bridge is made and the caller is still in the queue (they talk to the
agent now), sent after all when it fails, or when no word comes within
`timeout`.  The bridge ending before the runner heard it was made
(`Unbridged`: the agent hung up at once) is kept in mind, so the flow hears
`AgentDisconnected` right after `AgentConnected`, even after the runner gave
up waiting.  The runtime's other messages become flow events: `NoAgents` is
`QueueUnavailable`; `MaxWait` changes nothing (the flow keeps its own
max-wait timer and usually fires first).  `Transferring` (the agent sent the
caller on) is kept until the bridge ends, then becomes the flow's
`Transferred`: the caller is in line again (a `NoAgents` meanwhile, the new
queue refusing them, follows it).  `AttendedTransfer` keeps the caller with
the first agent meanwhile: the next agent's bridge replaces theirs, so the
end of the first bridge (`Unbridged`) may come before or after the news of
the second (`Bridged`); either way the flow hears `Transferred`, then
`AgentConnected`, with no media let out in between.  The first agent hanging
up before a second one comes leaves the caller waiting in line.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fsrouter.flow import events as ev
from fsrouter.offer.messages import (
    AttendedTransfer, Bridged, BridgeFailed, Bridging, MaxWait, NoAgents, Transferring,
)
from fsrouter.offer.table import Step, Table, lookup, render


class BridgingState(StrEnum):
    IDLE = "idle"
    BRIDGING = "bridging"
    AGENT_LEFT = "agent_left"
    """Bridging, and the bridge already ended (`CHANNEL_UNBRIDGE` heard first)."""
    AGENT_LEFT_LATE = "agent_left_late"
    """Gave up waiting for word on the bridge, after the agent left."""
    TRANSFERRING = "transferring"
    """Bridged, and sent on to another queue: waiting for the bridge to end."""
    ATTENDED = "attended"
    """Still bridged to the first agent after an attended transfer, the caller in line meanwhile."""
    ATTENDED_BRIDGING = "attended_bridging"
    """The next agent's bridge is being made; the first agent's is still up."""
    ATTENDED_OWED = "attended_owed"
    """The next agent's bridge is made; the end of the first one is still to be heard."""


@dataclass(frozen=True)
class Unbridged:
    """The caller's channel reported `CHANNEL_UNBRIDGE`."""


@dataclass(frozen=True)
class Timeout:
    """No word on the bridge by `deadline`."""


@dataclass(frozen=True)
class FeedFlow:
    """Feed `event` to the call's flow machine."""

    event: object


@dataclass(frozen=True)
class SendHeld:
    """Send the media held back, after all."""

    commands: tuple


@dataclass(frozen=True)
class SettleHeld:
    """The bridge is made: the media held back is moot while the flow is
    still waiting in the queue (it is dropped), but is sent if the flow had
    already moved on (then `AgentConnected` means nothing to it)."""

    commands: tuple


S = BridgingState

TRANSITIONS: Table = {
    (S.IDLE, Bridging): Step(S.BRIDGING, "_start"),
    (S.IDLE, Bridged): Step(S.IDLE, "_connected"),
    (S.IDLE, BridgeFailed): Step(S.IDLE),
    (S.IDLE, Unbridged): Step(S.IDLE, "_disconnected"),
    (S.IDLE, NoAgents): Step(S.IDLE, "_unavailable"),
    (S.IDLE, MaxWait): Step(S.IDLE),
    (S.IDLE, Transferring): Step(S.TRANSFERRING, "_note_transfer"),
    (S.BRIDGING, Bridging): Step(S.BRIDGING, "_start"),
    (S.BRIDGING, Bridged): Step(S.IDLE, "_bridged"),
    (S.BRIDGING, BridgeFailed): Step(S.IDLE, "_send_held"),
    (S.BRIDGING, Unbridged): Step(S.AGENT_LEFT),
    (S.BRIDGING, Timeout): Step(S.IDLE, "_send_held"),
    (S.BRIDGING, NoAgents): Step(S.BRIDGING, "_unavailable"),
    (S.BRIDGING, MaxWait): Step(S.BRIDGING),
    (S.AGENT_LEFT, Bridging): Step(S.AGENT_LEFT, "_start"),
    (S.AGENT_LEFT, Bridged): Step(S.IDLE, "_bridged_and_left"),
    (S.AGENT_LEFT, BridgeFailed): Step(S.IDLE, "_send_held"),
    (S.AGENT_LEFT, Unbridged): Step(S.AGENT_LEFT),
    (S.AGENT_LEFT, Timeout): Step(S.AGENT_LEFT_LATE, "_send_held"),
    (S.AGENT_LEFT, NoAgents): Step(S.AGENT_LEFT, "_unavailable"),
    (S.AGENT_LEFT, MaxWait): Step(S.AGENT_LEFT),
    (S.AGENT_LEFT_LATE, Bridging): Step(S.BRIDGING, "_start"),
    (S.AGENT_LEFT_LATE, Bridged): Step(S.IDLE, "_connected_and_left"),
    (S.AGENT_LEFT_LATE, BridgeFailed): Step(S.IDLE),
    (S.AGENT_LEFT_LATE, Unbridged): Step(S.AGENT_LEFT_LATE, "_disconnected"),
    (S.AGENT_LEFT_LATE, NoAgents): Step(S.AGENT_LEFT_LATE, "_unavailable"),
    (S.AGENT_LEFT_LATE, MaxWait): Step(S.AGENT_LEFT_LATE),
    (S.TRANSFERRING, Unbridged): Step(S.IDLE, "_transferred"),
    (S.TRANSFERRING, Transferring): Step(S.TRANSFERRING, "_note_transfer"),
    (S.TRANSFERRING, NoAgents): Step(S.TRANSFERRING, "_note_unavailable"),
    (S.TRANSFERRING, MaxWait): Step(S.TRANSFERRING),
    (S.TRANSFERRING, Bridging): Step(S.BRIDGING, "_transferred_and_start"),
    (S.IDLE, AttendedTransfer): Step(S.ATTENDED, "_note_transfer"),
    (S.ATTENDED, Unbridged): Step(S.IDLE, "_transferred"),
    (S.ATTENDED, Bridging): Step(S.ATTENDED_BRIDGING, "_start"),
    (S.ATTENDED, NoAgents): Step(S.ATTENDED, "_note_unavailable"),
    (S.ATTENDED, MaxWait): Step(S.ATTENDED),
    (S.ATTENDED_BRIDGING, Unbridged): Step(S.BRIDGING, "_transferred"),
    (S.ATTENDED_BRIDGING, Bridged): Step(S.ATTENDED_OWED, "_transferred_before_the_end"),
    (S.ATTENDED_BRIDGING, BridgeFailed): Step(S.ATTENDED, "_send_held"),
    (S.ATTENDED_BRIDGING, Timeout): Step(S.ATTENDED, "_send_held"),
    (S.ATTENDED_BRIDGING, Bridging): Step(S.ATTENDED_BRIDGING, "_start"),
    (S.ATTENDED_BRIDGING, NoAgents): Step(S.ATTENDED_BRIDGING, "_note_unavailable"),
    (S.ATTENDED_BRIDGING, MaxWait): Step(S.ATTENDED_BRIDGING),
    (S.ATTENDED_OWED, Unbridged): Step(S.IDLE, "_owed_bridged"),
    (S.ATTENDED_OWED, Timeout): Step(S.IDLE, "_owed_bridged"),
    (S.ATTENDED_OWED, NoAgents): Step(S.ATTENDED_OWED),
    (S.ATTENDED_OWED, MaxWait): Step(S.ATTENDED_OWED),
}

_HOLDING = frozenset({S.BRIDGING, S.AGENT_LEFT, S.ATTENDED_BRIDGING, S.ATTENDED_OWED})


class BridgingMachine:
    """One call's view of the bridge being made; `timeout` bounds the wait for word on it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.state = S.IDLE
        self._since = 0.0
        self._held: list = []
        self._transfer: list = []
        """The flow events a transfer becomes once the bridge ends."""
        self._owed: Bridged | None = None
        """The next agent's bridge, made before the first one was heard to end."""

    def feed(self, event: object, now: float) -> list:
        step = lookup("bridging", TRANSITIONS, self.state, event, "")
        self.state = BridgingState(step.target)
        return getattr(self, step.action)(event, now) if step.action else []

    @property
    def holding(self) -> bool:
        """Whether media must be held back and the flow's timers wait."""
        return self.state in _HOLDING

    @property
    def deadline(self) -> float | None:
        return self._since + self.timeout if self.holding else None

    def hold(self, command: object) -> None:
        """Keep a media command back until the bridge's outcome is known."""
        self._held.append(command)

    def _take_held(self) -> tuple:
        held, self._held = tuple(self._held), []
        return held

    # -- actions (named in the table) ------------------------------------------

    def _start(self, event: object, now: float) -> list:
        self._since = now
        return []

    def _send_held(self, event: object, now: float) -> list:
        return [SendHeld(self._take_held())]

    def _bridged(self, event: Bridged, now: float) -> list:
        return [SettleHeld(self._take_held()), *self._connected(event, now)]

    def _bridged_and_left(self, event: Bridged, now: float) -> list:
        return [*self._bridged(event, now), *self._disconnected(event, now)]

    def _connected(self, event: Bridged, now: float) -> list:
        return [FeedFlow(ev.AgentConnected(event.agent_id))]

    def _connected_and_left(self, event: Bridged, now: float) -> list:
        return [*self._connected(event, now), *self._disconnected(event, now)]

    def _disconnected(self, event: object, now: float) -> list:
        return [FeedFlow(ev.AgentDisconnected())]

    def _unavailable(self, event: object, now: float) -> list:
        return [FeedFlow(ev.QueueUnavailable())]

    def _transferred_before_the_end(self, event: Bridged, now: float) -> list:
        """The flow hears of the transfer now (its media held back), of the
        next agent once the first bridge's end is heard (`_owed_bridged`)."""
        self._owed = event
        return self._transferred(event, now)

    def _owed_bridged(self, event: object, now: float) -> list:
        bridged, self._owed = self._owed, None
        return self._bridged(bridged, now)

    def _note_transfer(self, event: Transferring | AttendedTransfer, now: float) -> list:
        self._transfer = [ev.Transferred(event.queue, event.variables)]
        return []

    def _note_unavailable(self, event: NoAgents, now: float) -> list:
        self._transfer.append(ev.QueueUnavailable())
        return []

    def _transferred(self, event: object, now: float) -> list:
        events, self._transfer = self._transfer, []
        return [FeedFlow(e) for e in events]

    def _transferred_and_start(self, event: Bridging, now: float) -> list:
        """The next agent's bridge is being made before the first one was
        heard to end (its `CHANNEL_UNBRIDGE` comes after the new
        `uuid_bridge`): the flow hears of the transfer first."""
        return [*self._transferred(event, now), *self._start(event, now)]


def bridging_diagram(fmt: str = "mermaid") -> str:
    """The runner's bridging machine drawn from `TRANSITIONS`."""
    return render("bridging", TRANSITIONS, S.IDLE, fmt)
