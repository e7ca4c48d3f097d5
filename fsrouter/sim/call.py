"""What happened to one simulated call, recorded for assertions.

A `SimCall` is filled in by the channel and its event-socket session as the
call runs; tests read it once `wait()` returns.  All times are sim seconds
since the call was placed.  `wire` keeps every message that crossed the
outbound socket, in the transcripts' own terms (``FS->APP`` / ``APP->FS``), so
framing tests can compare the simulator with recorded FreeSWITCH traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import gevent.event

from fsrouter.esl.codec import Frame, Parser

if TYPE_CHECKING:
    from fsrouter.sim.caller import CallerScript


@dataclass
class AppRun:
    """One application execution on the channel."""

    name: str
    arg: str | None
    app_uuid: str
    #: "esl" when fsrouter asked for it with sendmsg, "dialplan" otherwise.
    source: str
    start: float
    end: float | None = None
    response: str | None = None

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.start


@dataclass
class Recording:
    """A ``record_session`` on the channel: the path asked for, and when
    (sim seconds since the call was placed) it started and stopped."""

    path: str
    started: float
    stopped: float | None = None


@dataclass(frozen=True)
class WireMessage:
    t: float
    direction: str  #: "FS->APP" (the simulator sent it) or "APP->FS" (fsrouter sent it)
    data: bytes


@dataclass
class SimCall:
    uuid: str
    script: CallerScript
    apps: list[AppRun] = field(default_factory=list)
    #: Files (or streams) played, in order, as FreeSWITCH opened them.
    sounds: list[str] = field(default_factory=list)
    #: Playback arguments that could not be opened.
    missing_sounds: list[str] = field(default_factory=list)
    #: Digits consumed by an application (each one produced a DTMF event): (time, digit).
    digits: list[tuple[float, str]] = field(default_factory=list)
    #: Sim time on the switch's clock when the call was placed (what the times above are relative to).
    placed_at: float = 0.0
    answered_at: float | None = None
    ended_at: float | None = None
    transferred_to: str | None = None
    hangup_cause: str | None = None
    #: "caller", "agent" / "customer" (the phone of an originated leg hung up),
    #: "fsrouter" (sendmsg hangup, hangup app or uuid_kill) or "switch"
    #: (the dialplan after fsrouter let go, or FreeSWITCH itself).
    hung_up_by: str | None = None
    socket_closed_by_client: bool = False
    #: The channel left the socket application alive and the dialplan went on
    #: with what follows it (FreeSWITCH's fallback when fsrouter is down or lets go).
    continued_dialplan: bool = False
    fallback_reason: str | None = None
    #: Things FreeSWITCH would only have logged (invalid application, ...).
    errors: list[str] = field(default_factory=list)
    wire: list[WireMessage] = field(default_factory=list)
    #: Originated legs: the endpoint dialled, the originate's ``{variables}``, which
    #: dial of that endpoint this was (from 1) and the handle time drawn.
    endpoint: str | None = None
    origination: dict[str, str] = field(default_factory=dict)
    attempt: int | None = None
    handle_time: float | None = None
    #: Callers with a patience (`CallerScript.patience`): the sim seconds drawn when placed.
    patience: float | None = None
    #: uuid_bridge: the other leg's UUID, and when the bridge began and ended.
    bridged_with: str | None = None
    #: uuid_send_dtmf: digit strings sent out to this leg's endpoint (no DTMF event).
    sent_dtmf: list[str] = field(default_factory=list)
    bridged_at: float | None = None
    unbridged_at: float | None = None
    #: record_session / stop_record_session on this leg, in order.
    recordings: list[Recording] = field(default_factory=list)
    _done: gevent.event.Event = field(default_factory=gevent.event.Event, repr=False)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the channel is destroyed and its socket closed; `timeout` in real seconds."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def finish(self) -> None:
        """Called by the switch once the channel is destroyed."""
        self._done.set()

    @property
    def esl_apps(self) -> list[AppRun]:
        """The applications fsrouter asked for, in the order they started."""
        return [run for run in self.apps if run.source == "esl"]

    def sent_frames(self) -> list[Frame]:
        """Every message the simulator sent on the outbound socket, parsed back with the codec."""
        parser = Parser()
        parser.feed(b"".join(m.data for m in self.wire if m.direction == "FS->APP"))
        return list(parser.frames())

    def received_frames(self) -> list[Frame]:
        """Every command fsrouter sent, parsed with the codec."""
        parser = Parser(commands=True)
        parser.feed(b"".join(m.data for m in self.wire if m.direction == "APP->FS"))
        return list(parser.frames())
