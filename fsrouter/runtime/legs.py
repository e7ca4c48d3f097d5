"""Channels fsrouter originates itself (agent legs, callback customers).

A leg is started with ``bgapi originate`` on the inbound connection and runs a
short inline dialplan: an optional greeting (the agent's whisper, the
customer's intro), then ``park``.  ``originate`` reports success as soon as
the far end answers, so the greeting is still playing then; the sign that it
is over is the leg's ``CHANNEL_PARK`` event.  Only then may the leg be
bridged: a bridge would cut the greeting off.

`Legs` matches the inbound socket's channel events to the legs being
watched, by ``Unique-ID`` (we choose it: ``origination_uuid``), so a waiting
greenlet learns whether its leg parked or hung up.  Watch a leg *before*
originating it: its events may arrive before the originate's result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import gevent
import gevent.event

from fsrouter.acd.model import MissReason
from fsrouter.esl.codec import Event
from fsrouter import fsvalues

#: The channel events a `Legs` needs from the inbound socket.
LEG_EVENTS = ("CHANNEL_PARK", "CHANNEL_HANGUP_COMPLETE")

@dataclass
class Leg:
    """What became of one originated channel, as its events tell."""

    uuid: str
    parked: gevent.event.Event = field(default_factory=gevent.event.Event)
    #: Set to the hangup cause when the channel is gone.
    hung_up: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)

    def wait_parked(self, timeout: float, interrupt: gevent.event.Event | None = None) -> str:
        """"parked" once the greeting is over, else "hangup", or "timeout"
        (also when `interrupt` was set first: the waiter asks why)."""
        if not (self.hung_up.ready() or self.parked.is_set()):
            gevent.wait([self.parked, self.hung_up, *([interrupt] if interrupt is not None else [])],
                        count=1, timeout=timeout)
        if self.hung_up.ready():
            return "hangup"
        return "parked" if self.parked.is_set() else "timeout"


class Legs:
    """The legs being watched, fed from the inbound socket's events."""

    def __init__(self) -> None:
        self._legs: dict[str, Leg] = {}

    def watch(self, uuid: str) -> Leg:
        leg = self._legs[uuid] = Leg(uuid)
        return leg

    def get(self, uuid: str) -> Leg | None:
        return self._legs.get(uuid)

    def forget(self, uuid: str) -> None:
        self._legs.pop(uuid, None)

    def watched(self) -> set[str]:
        """The uuids of the legs being watched."""
        return set(self._legs)

    def on_event(self, event: Event) -> bool:
        """Note a park or hangup of a watched leg; True if the event was one."""
        leg = self._legs.get(event.get("Unique-ID") or "")
        if leg is None:
            return False
        name = event.get("Event-Name")
        if name == "CHANNEL_PARK":
            leg.parked.set()
        elif name == "CHANNEL_HANGUP_COMPLETE" and not leg.hung_up.ready():
            leg.hung_up.set(event.get("Hangup-Cause") or "NORMAL_CLEARING")
        else:
            return False
        return True


MISS_REASONS = {
    "NO_ANSWER": MissReason.NO_ANSWER,
    "NO_USER_RESPONSE": MissReason.NO_ANSWER,
    "ALLOTTED_TIMEOUT": MissReason.NO_ANSWER,
    "PROGRESS_TIMEOUT": MissReason.NO_ANSWER,
    "USER_BUSY": MissReason.BUSY,
    "CALL_REJECTED": MissReason.REJECTED,
    "ESL_FAILURE": MissReason.LOST,
}
"""Originate failure causes that say something about the far end; anything
else (unregistered phone, bad dial string, network) is `failed`.
`ESL_FAILURE` is ours: the connection to FreeSWITCH failed, nobody's doing."""

ESL_FAILURE = "-ERR ESL_FAILURE"


def cause(result: str) -> str:
    """The cause an originate's result gives (``-ERR USER_BUSY`` ->
    ``USER_BUSY``); "" when it gives none (``+OK ...``, a bare ``-ERR``)."""
    words = result.removeprefix("-ERR").split() if result.startswith("-ERR") else []
    return words[0].upper() if words else ""


def miss_reason(result: str) -> MissReason:
    """An originate's `-ERR USER_BUSY` -> busy, and so on (see `MISS_REASONS`)."""
    return MISS_REASONS.get(cause(result), MissReason.FAILED)


def originate_command(variables: Mapping[str, str], dial: str, greeting: Sequence[str] = ()) -> str:
    """``originate {vars}<dial> 'app:arg,park' inline``: the greeting apps
    (from `speak` and `playback`), then park.  Values and the dial string go
    through `fsvalues` (empty values are left out), so no value can add a
    variable, a leg or an application; `fsvalues.UnsafeValue` if the dial
    string is not one endpoint."""
    block = fsvalues.originate_variables(variables)
    dial = fsvalues.dial_string(dial)
    if not greeting:
        return f"originate {block}{dial} &park()"
    apps = ",".join([*greeting, "park"])
    return f"originate {block}{dial} '{apps}' inline"


def speak(tts: str, text: str) -> str:
    """The inline application saying `text` with the TTS `engine|voice`."""
    return fsvalues.inline_app("speak", f"{tts}|{fsvalues.speech(text)}")


def playback(path: str) -> str:
    return fsvalues.inline_app("playback", fsvalues.sound_path(path))
