"""One offer, from dialling the agent to the end of the call: a sans-IO machine.

The ACD hands out an `Offer` (ring this agent for this entry); this machine
says what to do about it, step by step: report `ringing`, originate the
agent's leg (which says the whisper and parks), report `connecting` so the
offer stays open while the whisper plays, wait for the park (bounded by
`whisper_timeout`), then either report `answered` and bridge the caller, or
hand the agent to the callback dialer.  A bridge that fails hangs the agent
up, ends the call for the ACD (the agent wraps up) and, if the caller's
channel is still there, puts them back in line at their old place; one whose
answer was lost with the connection is asked about once it is back.  The
caller hanging up ends the call.

Everything that may happen meanwhile is an event in the same table: the
ACD cancelling the offer (the caller left while the agent rang) or no longer
having it when a report is made, the agent hanging up during the whisper, the
whisper never ending, the connection to FreeSWITCH lost (`MissReason.LOST`:
not the agent's doing).  So the IO shell (`runtime.offer_driver`) holds no
flags and re-checks nothing: it feeds events and carries out commands.

Commands that have a result (an ACD report that must be accepted, an
originate, a bridge, a channel check, the callback dialer's part) are always
the last of their batch; the shell feeds the result back as the next event.
Time is passed in (`now`); the whisper deadline is `deadline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fsrouter.acd.events import Offer
from fsrouter.acd.model import MissReason
from fsrouter.offer.messages import Bridged, BridgeFailed, Bridging, Message
from fsrouter.offer.table import Step, Table, lookup, render


class OfferState(StrEnum):
    NEW = "new"
    RESERVED = "reserved"
    """`ringing` reported, waiting for the ACD to accept it."""
    ORIGINATING = "originating"
    CONNECTING = "connecting"
    """The agent answered; `connecting` reported."""
    WHISPER = "whisper"
    """The agent hears the whisper; waiting for the leg to park."""
    ANSWERING = "answering"
    """`answered` reported."""
    BRIDGING = "bridging"
    VERIFYING = "verifying"
    """The bridge's answer was lost with the connection: is it made?"""
    BRIDGED = "bridged"
    CHECKING = "checking"
    """The bridge failed: is the caller's channel still there?"""
    CALLBACK = "callback"
    """The callback dialer claims, dials and bridges the customer."""
    MISSED = "missed"
    CANCELLED = "cancelled"
    BACK_IN_LINE = "back_in_line"
    ENDED = "ended"


class Report(StrEnum):
    """What an ACD report says (`Acd.ringing`, `connecting`, ...)."""

    RINGING = "ringing"
    CONNECTING = "connecting"
    ANSWERED = "answered"
    MISSED = "missed"
    CALL_ENDED = "call_ended"


_AWAITED = frozenset({Report.RINGING, Report.CONNECTING, Report.ANSWERED})
"""Reports the machine waits on: the shell answers `Reported`, or `Cancelled`
when the ACD no longer has the offer."""


# -- events in ---------------------------------------------------------------

@dataclass(frozen=True)
class Start:
    """The ACD made the offer."""


@dataclass(frozen=True)
class Reported:
    """The ACD accepted the last awaited report."""


@dataclass(frozen=True)
class Cancelled:
    """The ACD cancelled the offer (the entry left) or no longer has it."""

    reason: str = ""


@dataclass(frozen=True)
class OriginateOk:
    """The agent answered (the whisper is playing)."""


@dataclass(frozen=True)
class OriginateFailed:
    """The originate failed; `reason` from its result (`legs.miss_reason`)."""

    reason: MissReason
    result: str = ""


@dataclass(frozen=True)
class LegParked:
    """The agent leg parked: the whisper is over."""


@dataclass(frozen=True)
class LegHungUp:
    """The agent hung up during the whisper."""

    cause: str = ""


@dataclass(frozen=True)
class Timeout:
    """The whisper deadline passed with no park."""


@dataclass(frozen=True)
class ConnectionLost:
    """The whisper deadline passed while the connection to FreeSWITCH was down."""


@dataclass(frozen=True)
class BridgeOk:
    pass


@dataclass(frozen=True)
class BridgeError:
    pass


@dataclass(frozen=True)
class BridgeUnknown:
    """`uuid_bridge` got no answer (the connection was lost, or it timed
    out): the switch may have bridged the call or not."""


@dataclass(frozen=True)
class CallerThere:
    """After a failed bridge, the caller's channel still exists."""


@dataclass(frozen=True)
class CallerGone:
    """After a failed bridge, the caller's channel is gone."""


@dataclass(frozen=True)
class CallerLeft:
    """The caller's runner left (hung up, or the flow moved on) after the answer."""


@dataclass(frozen=True)
class CallbackDone:
    """The callback dialer finished its part (whatever came of it)."""


# -- commands out ------------------------------------------------------------

@dataclass(frozen=True)
class ReportToAcd:
    report: Report
    reason: MissReason | None = None
    hold_for: float | None = None
    """For `connecting`: how long the ACD keeps the offer open."""

    @property
    def awaits_result(self) -> bool:
        return self.report in _AWAITED


@dataclass(frozen=True)
class WatchLeg:
    """Follow the leg's park and hang-up (before it is originated)."""

    uuid: str
    awaits_result = False


@dataclass(frozen=True)
class ForgetLeg:
    uuid: str
    awaits_result = False


@dataclass(frozen=True)
class KillLeg:
    uuid: str
    awaits_result = False


@dataclass(frozen=True)
class Originate:
    """Dial the agent (`origination_uuid=uuid`), whisper, park; result `OriginateOk`/`OriginateFailed`."""

    uuid: str
    awaits_result = True


@dataclass(frozen=True)
class AttachCall:
    """The answered offer is now the caller's call: their leaving ends it (`CallerLeft`)."""

    entry_id: str
    awaits_result = False


@dataclass(frozen=True)
class NotifyCaller:
    entry_id: str
    message: Message
    awaits_result = False


@dataclass(frozen=True)
class Bridge:
    """`uuid_bridge`; result `BridgeOk` or `BridgeError`."""

    caller_uuid: str
    agent_uuid: str
    awaits_result = True


@dataclass(frozen=True)
class VerifyBridge:
    """Once the connection is back, ask whether the agent's leg is bridged to
    the caller; result `BridgeOk` or `BridgeError`."""

    caller_uuid: str
    agent_uuid: str
    awaits_result = True


@dataclass(frozen=True)
class CheckCaller:
    """`uuid_exists`; result `CallerThere` (also when it cannot be asked) or `CallerGone`."""

    uuid: str
    awaits_result = True


@dataclass(frozen=True)
class BackInLine:
    """Put the caller back at their old place (or on to `no_agents` if refused)."""

    entry_id: str
    awaits_result = False


@dataclass(frozen=True)
class ForgetCaller:
    entry_id: str
    awaits_result = False


@dataclass(frozen=True)
class ConnectCallback:
    """The callback dialer's part: claim, dial the customer, bridge; result `CallbackDone`."""

    awaits_result = True


Command = (ReportToAcd | WatchLeg | ForgetLeg | KillLeg | Originate | AttachCall | NotifyCaller
           | Bridge | VerifyBridge | CheckCaller | BackInLine | ForgetCaller | ConnectCallback)


# -- the table ---------------------------------------------------------------

S = OfferState
CALLER, CALLBACK = "caller", "callback"
"""The variants: an offer for a waiting caller, or for a booked callback."""

TRANSITIONS: Table = {
    (S.NEW, Start): Step(S.RESERVED, "_report_ringing"),
    (S.NEW, Cancelled): Step(S.CANCELLED),
    (S.RESERVED, Reported): Step(S.ORIGINATING, "_originate"),
    (S.RESERVED, Cancelled): Step(S.CANCELLED),
    (S.ORIGINATING, OriginateOk): Step(S.CONNECTING, "_report_connecting"),
    (S.ORIGINATING, OriginateFailed): Step(S.MISSED, "_originate_missed"),
    (S.ORIGINATING, Cancelled): Step(S.CANCELLED, "_kill_leg"),
    (S.CONNECTING, Reported): Step(S.WHISPER, "_whisper"),
    (S.CONNECTING, Cancelled): Step(S.CANCELLED, "_drop_leg"),
    (S.WHISPER, LegParked): {CALLER: Step(S.ANSWERING, "_report_answered"),
                             CALLBACK: Step(S.CALLBACK, "_connect_callback")},
    (S.WHISPER, LegHungUp): Step(S.MISSED, "_whisper_missed"),
    (S.WHISPER, Timeout): Step(S.MISSED, "_whisper_missed"),
    (S.WHISPER, ConnectionLost): Step(S.MISSED, "_whisper_missed"),
    (S.WHISPER, Cancelled): Step(S.CANCELLED, "_drop_leg"),
    (S.ANSWERING, Reported): Step(S.BRIDGING, "_bridge"),
    (S.ANSWERING, Cancelled): Step(S.CANCELLED, "_kill_leg"),
    (S.BRIDGING, BridgeOk): Step(S.BRIDGED, "_bridged"),
    (S.BRIDGING, BridgeError): Step(S.CHECKING, "_bridge_failed"),
    (S.BRIDGING, BridgeUnknown): Step(S.VERIFYING, "_verify_bridge"),
    (S.BRIDGING, CallerLeft): Step(S.ENDED, "_end_unbridged"),
    (S.BRIDGING, Cancelled): Step(S.BRIDGING),
    (S.VERIFYING, BridgeOk): Step(S.BRIDGED, "_bridged"),
    (S.VERIFYING, BridgeError): Step(S.CHECKING, "_bridge_failed"),
    (S.VERIFYING, CallerLeft): Step(S.ENDED, "_end_unbridged"),
    (S.VERIFYING, Cancelled): Step(S.VERIFYING),
    (S.BRIDGED, CallerLeft): Step(S.ENDED, "_end_call"),
    (S.BRIDGED, Cancelled): Step(S.BRIDGED),
    (S.CHECKING, CallerThere): Step(S.BACK_IN_LINE, "_back_in_line"),
    (S.CHECKING, CallerGone): Step(S.ENDED, "_forget_caller"),
    (S.CHECKING, CallerLeft): Step(S.ENDED),
    (S.CHECKING, Cancelled): Step(S.CHECKING),
    (S.CALLBACK, CallbackDone): Step(S.ENDED),
    (S.CALLBACK, Cancelled): Step(S.CANCELLED, "_kill_leg"),
    # Results that come back after the offer was cancelled or the call ended
    # (the IO was already under way), or news of the leg that was on its way
    # when the cancel came: clean up, change nothing.
    (S.CANCELLED, Reported): Step(S.CANCELLED),
    (S.CANCELLED, OriginateOk): Step(S.CANCELLED, "_drop_leg"),
    (S.CANCELLED, OriginateFailed): Step(S.CANCELLED, "_forget_leg"),
    (S.CANCELLED, CallbackDone): Step(S.CANCELLED),
    (S.CANCELLED, LegParked): Step(S.CANCELLED),
    (S.CANCELLED, LegHungUp): Step(S.CANCELLED),
    (S.CANCELLED, Timeout): Step(S.CANCELLED),
    (S.CANCELLED, ConnectionLost): Step(S.CANCELLED),
    (S.CANCELLED, Cancelled): Step(S.CANCELLED),
    (S.ENDED, BridgeOk): Step(S.ENDED),
    (S.ENDED, BridgeError): Step(S.ENDED),
    (S.ENDED, BridgeUnknown): Step(S.ENDED),
    (S.ENDED, CallerThere): Step(S.ENDED),
    (S.ENDED, CallerGone): Step(S.ENDED),
    (S.ENDED, Cancelled): Step(S.ENDED),
    (S.MISSED, Cancelled): Step(S.MISSED),
    (S.BACK_IN_LINE, Cancelled): Step(S.BACK_IN_LINE),
}
"""Every move of an offer.  The ACD never cancels an answered offer, and a
cancel after the offer is over changes nothing: those entries keep the
state, so a late `OfferCancelled` is never an error."""

FINAL = frozenset({S.MISSED, S.CANCELLED, S.BACK_IN_LINE, S.ENDED})
"""No more events expected, but results of IO already under way."""

_LEG_HELD = frozenset({S.ORIGINATING, S.CONNECTING, S.WHISPER, S.ANSWERING, S.BRIDGING, S.VERIFYING, S.BRIDGED,
                       S.CALLBACK})
"""States in which the agent's leg may be up and is this offer's to end."""


class OfferMachine:
    """The lifecycle of one `Offer` whose agent leg will be `agent_uuid`."""

    def __init__(self, offer: Offer, agent_uuid: str, *, callback: bool = False,
                 whisper_timeout: float = 30.0, hold_for: float = 35.0) -> None:
        """`callback`: the agent is for a booked callback (the dialer's part
        follows the whisper); `hold_for` is what `connecting` asks the ACD to
        keep the offer open for (the whisper and a margin)."""
        self.offer = offer
        self.agent_uuid = agent_uuid
        self.variant = CALLBACK if callback else CALLER
        self.whisper_timeout = whisper_timeout
        self.hold_for = hold_for
        self.state = S.NEW
        self._deadline: float | None = None

    def feed(self, event: object, now: float) -> list[Command]:
        """Move on `event` at `now`; the commands to carry out, in order.
        `InvalidTransition` when the table has no move for it."""
        step = lookup("offer", TRANSITIONS, self.state, event, self.variant)
        self.state = OfferState(step.target)
        return getattr(self, step.action)(event, now) if step.action else []

    @property
    def deadline(self) -> float | None:
        """When the whisper is given up (`Timeout`), while waiting for the park."""
        return self._deadline if self.state is S.WHISPER else None

    @property
    def awaits_leg(self) -> bool:
        """Whether the next event must come from the agent's leg (park,
        hang-up) or the clock: the shell waits for them."""
        return self.state is S.WHISPER

    @property
    def holds_leg(self) -> bool:
        """Whether the agent's leg may be up and is this offer's to end."""
        return self.state in _LEG_HELD

    # -- actions (named in the table) ------------------------------------------

    def _report_ringing(self, event: object, now: float) -> list[Command]:
        return [ReportToAcd(Report.RINGING)]

    def _originate(self, event: object, now: float) -> list[Command]:
        # Watched first: the leg's events may come before the originate's result.
        return [WatchLeg(self.agent_uuid), Originate(self.agent_uuid)]

    def _report_connecting(self, event: object, now: float) -> list[Command]:
        return [ReportToAcd(Report.CONNECTING, hold_for=self.hold_for)]

    def _originate_missed(self, event: OriginateFailed, now: float) -> list[Command]:
        return [ForgetLeg(self.agent_uuid), ReportToAcd(Report.MISSED, reason=event.reason)]

    def _whisper(self, event: object, now: float) -> list[Command]:
        self._deadline = now + self.whisper_timeout
        return []

    def _whisper_missed(self, event: object, now: float) -> list[Command]:
        reason = {LegHungUp: MissReason.REJECTED, Timeout: MissReason.FAILED,
                  ConnectionLost: MissReason.LOST}[type(event)]
        return [*self._drop_leg(event, now), ReportToAcd(Report.MISSED, reason=reason)]

    def _report_answered(self, event: object, now: float) -> list[Command]:
        # From now on the caller's runner follows the call, not the leg tracker.
        return [ForgetLeg(self.agent_uuid), ReportToAcd(Report.ANSWERED)]

    def _connect_callback(self, event: object, now: float) -> list[Command]:
        return [ConnectCallback()]

    def _bridge(self, event: object, now: float) -> list[Command]:
        entry, agent = self.offer.entry_id, self.offer.agent_id
        # The caller is told first, so their runner sends no more media to a
        # channel about to be bridged (queued media would play inside the bridge).
        return [AttachCall(entry), NotifyCaller(entry, Bridging(agent)), Bridge(entry, self.agent_uuid)]

    def _verify_bridge(self, event: object, now: float) -> list[Command]:
        # Neither hung up nor put back: a caller put back in line while in
        # fact talking to the agent would be offered again, and the agent's
        # leg, kept, is not swept as an orphan when the connection is back.
        return [VerifyBridge(self.offer.entry_id, self.agent_uuid)]

    def _bridged(self, event: object, now: float) -> list[Command]:
        return [NotifyCaller(self.offer.entry_id, Bridged(self.offer.agent_id))]

    def _bridge_failed(self, event: object, now: float) -> list[Command]:
        entry = self.offer.entry_id
        return [*self._end_unbridged(event, now), NotifyCaller(entry, BridgeFailed(self.offer.agent_id)),
                CheckCaller(entry)]

    def _end_unbridged(self, event: object, now: float) -> list[Command]:
        return [KillLeg(self.agent_uuid), *self._end_call(event, now)]

    def _end_call(self, event: object, now: float) -> list[Command]:
        return [ReportToAcd(Report.CALL_ENDED)]

    def _back_in_line(self, event: object, now: float) -> list[Command]:
        return [BackInLine(self.offer.entry_id)]

    def _forget_caller(self, event: object, now: float) -> list[Command]:
        return [ForgetCaller(self.offer.entry_id)]

    def _kill_leg(self, event: object, now: float) -> list[Command]:
        return [KillLeg(self.agent_uuid)]

    def _forget_leg(self, event: object, now: float) -> list[Command]:
        return [ForgetLeg(self.agent_uuid)]

    def _drop_leg(self, event: object, now: float) -> list[Command]:
        return [ForgetLeg(self.agent_uuid), KillLeg(self.agent_uuid)]


def offer_diagram(fmt: str = "mermaid") -> str:
    """The offer machine drawn from `TRANSITIONS` (docs/offer.md holds the Mermaid copy)."""
    return render("offer", TRANSITIONS, S.NEW, fmt)
