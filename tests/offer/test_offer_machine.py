"""The offer machine on its own: no gevent, no sockets, a fake clock (plain numbers).

Each state is reached by feeding the events of a real path from `new`; every
move of the table is fed at least once, cancellation in every state, the
whisper deadline, and what comes back late after a cancel or the call's end.
"""

import pytest

from fsrouter.acd.events import Offer
from fsrouter.acd.model import MissReason
from fsrouter.offer import InvalidTransition, OfferMachine, OfferState
from fsrouter.offer.machine import (
    FINAL,
    TRANSITIONS,
    AttachCall,
    BackInLine,
    Bridge,
    BridgeError,
    BridgeOk,
    BridgeUnknown,
    CallbackDone,
    CallerGone,
    CallerLeft,
    CallerThere,
    Cancelled,
    CheckCaller,
    ConnectCallback,
    ConnectionLost,
    ForgetCaller,
    ForgetLeg,
    KillLeg,
    LegHungUp,
    LegParked,
    NotifyCaller,
    Originate,
    OriginateFailed,
    OriginateOk,
    Report,
    Reported,
    ReportToAcd,
    Start,
    Timeout,
    VerifyBridge,
    WatchLeg,
)
from fsrouter.offer.messages import Bridged, BridgeFailed, Bridging

S = OfferState
LEG = "agent-leg"
ENTRY = "caller-1"
T0 = 1000.0


def offer(is_callback=False):
    return Offer(offer_id=7, entry_id=ENTRY, agent_id="1001", queue="support", dial="user/1001",
                 ring_timeout=20.0, at=T0, waited=12.0, is_callback=is_callback, priority=0)


def machine(callback=False):
    return OfferMachine(offer(callback), LEG, callback=callback, whisper_timeout=30.0, hold_for=35.0)


PATHS = {
    S.NEW: [],
    S.RESERVED: [Start()],
    S.ORIGINATING: [Start(), Reported()],
    S.CONNECTING: [Start(), Reported(), OriginateOk()],
    S.WHISPER: [Start(), Reported(), OriginateOk(), Reported()],
    S.ANSWERING: [Start(), Reported(), OriginateOk(), Reported(), LegParked()],
    S.BRIDGING: [Start(), Reported(), OriginateOk(), Reported(), LegParked(), Reported()],
    S.VERIFYING: [Start(), Reported(), OriginateOk(), Reported(), LegParked(), Reported(), BridgeUnknown()],
    S.BRIDGED: [Start(), Reported(), OriginateOk(), Reported(), LegParked(), Reported(), BridgeOk()],
    S.CHECKING: [Start(), Reported(), OriginateOk(), Reported(), LegParked(), Reported(), BridgeError()],
    S.BACK_IN_LINE: [Start(), Reported(), OriginateOk(), Reported(), LegParked(), Reported(), BridgeError(),
                     CallerThere()],
    S.ENDED: [Start(), Reported(), OriginateOk(), Reported(), LegParked(), Reported(), BridgeOk(), CallerLeft()],
    S.MISSED: [Start(), Reported(), OriginateFailed(MissReason.BUSY)],
    S.CANCELLED: [Start(), Cancelled()],
}
"""A caller offer's way to each state (`callback` is the callback variant's own)."""


def reach(state, *, callback=False):
    m = machine(callback)
    path = ([Start(), Reported(), OriginateOk(), Reported(), LegParked()] if state is S.CALLBACK
            else PATHS[state])
    for n, event in enumerate(path):
        m.feed(event, T0 + n)
    assert m.state is state
    return m


def test_a_caller_offer_from_dialling_to_the_end_of_the_call():
    m = machine()
    assert m.feed(Start(), T0) == [ReportToAcd(Report.RINGING)]
    assert m.feed(Reported(), T0) == [WatchLeg(LEG), Originate(LEG)]  # watched before it is dialled
    assert m.feed(OriginateOk(), T0 + 3) == [ReportToAcd(Report.CONNECTING, hold_for=35.0)]
    assert m.deadline is None
    assert m.feed(Reported(), T0 + 3) == [] and m.state is S.WHISPER
    assert m.awaits_leg and m.deadline == T0 + 33
    assert m.feed(LegParked(), T0 + 8) == [ForgetLeg(LEG), ReportToAcd(Report.ANSWERED)]
    assert not m.awaits_leg and m.deadline is None
    assert m.feed(Reported(), T0 + 8) == [
        AttachCall(ENTRY), NotifyCaller(ENTRY, Bridging("1001")), Bridge(ENTRY, LEG)]
    assert m.feed(BridgeOk(), T0 + 8) == [NotifyCaller(ENTRY, Bridged("1001"))]
    assert m.state is S.BRIDGED and m.holds_leg
    assert m.feed(CallerLeft(), T0 + 300) == [ReportToAcd(Report.CALL_ENDED)]  # the bridge hung the agent up
    assert m.state is S.ENDED and not m.holds_leg


def test_a_callback_offer_hands_the_parked_agent_to_the_callback_dialer():
    m = reach(S.WHISPER, callback=True)
    assert m.feed(LegParked(), T0 + 9) == [ConnectCallback()]
    assert m.state is S.CALLBACK and m.holds_leg
    assert m.feed(CallbackDone(), T0 + 60) == [] and m.state is S.ENDED


@pytest.mark.parametrize("reason", list(MissReason))
def test_a_failed_originate_is_a_miss_for_its_reason(reason):
    m = reach(S.ORIGINATING)
    assert m.feed(OriginateFailed(reason, "-ERR X"), T0 + 20) == [
        ForgetLeg(LEG), ReportToAcd(Report.MISSED, reason=reason)]
    assert m.state is S.MISSED and not m.holds_leg


@pytest.mark.parametrize("event, reason", [
    (LegHungUp("NORMAL_CLEARING"), MissReason.REJECTED),
    (Timeout(), MissReason.FAILED),
    (ConnectionLost(), MissReason.LOST),
])
def test_the_whisper_not_ending_in_a_park_hangs_the_leg_up_and_is_a_miss(event, reason):
    m = reach(S.WHISPER)
    assert m.feed(event, T0 + 40) == [ForgetLeg(LEG), KillLeg(LEG), ReportToAcd(Report.MISSED, reason=reason)]
    assert m.state is S.MISSED


def test_the_whisper_deadline_counts_from_the_connecting_report():
    m = reach(S.CONNECTING)
    m.feed(Reported(), 5000.0)
    assert m.deadline == 5030.0


def test_a_failed_bridge_ends_the_call_and_puts_a_caller_who_is_still_there_back_in_line():
    m = reach(S.BRIDGING)
    assert m.feed(BridgeError(), T0 + 10) == [
        KillLeg(LEG), ReportToAcd(Report.CALL_ENDED), NotifyCaller(ENTRY, BridgeFailed("1001")), CheckCaller(ENTRY)]
    assert m.feed(CallerThere(), T0 + 10) == [BackInLine(ENTRY)]
    assert m.state is S.BACK_IN_LINE


def test_a_failed_bridge_to_a_caller_who_is_gone_forgets_them():
    m = reach(S.CHECKING)
    assert m.feed(CallerGone(), T0 + 10) == [ForgetCaller(ENTRY)]
    assert m.state is S.ENDED


def test_a_caller_leaving_while_a_failed_bridge_is_checked_is_not_put_back():
    m = reach(S.CHECKING)
    assert m.feed(CallerLeft(), T0 + 10) == []  # the call was ended with the failure
    assert m.feed(CallerThere(), T0 + 11) == []
    assert m.state is S.ENDED


def test_a_caller_leaving_before_the_bridge_is_made_hangs_the_agent_up_and_ends_the_call():
    m = reach(S.BRIDGING)
    assert m.feed(CallerLeft(), T0 + 10) == [KillLeg(LEG), ReportToAcd(Report.CALL_ENDED)]
    assert m.feed(BridgeOk(), T0 + 11) == []  # came back late: nothing more to do
    assert m.state is S.ENDED


def test_a_bridge_whose_answer_was_lost_keeps_the_leg_and_is_asked_about_again():
    m = reach(S.BRIDGING)
    assert m.feed(BridgeUnknown(), T0 + 10) == [VerifyBridge(ENTRY, LEG)]
    assert m.state is S.VERIFYING and m.holds_leg  # not hung up, nor swept as an orphan
    made = reach(S.VERIFYING)
    assert made.feed(BridgeOk(), T0 + 20) == [NotifyCaller(ENTRY, Bridged("1001"))] and made.state is S.BRIDGED
    failed = reach(S.VERIFYING)
    assert failed.feed(BridgeError(), T0 + 20) == [
        KillLeg(LEG), ReportToAcd(Report.CALL_ENDED), NotifyCaller(ENTRY, BridgeFailed("1001")), CheckCaller(ENTRY)]
    left = reach(S.VERIFYING)
    assert left.feed(CallerLeft(), T0 + 15) == [KillLeg(LEG), ReportToAcd(Report.CALL_ENDED)]
    assert left.feed(BridgeOk(), T0 + 20) == [] and left.state is S.ENDED


CANCELLED_IN = {
    S.NEW: (S.CANCELLED, []),
    S.RESERVED: (S.CANCELLED, []),  # nothing dialled yet
    S.ORIGINATING: (S.CANCELLED, [KillLeg(LEG)]),  # may be ringing: stop it now
    S.CONNECTING: (S.CANCELLED, [ForgetLeg(LEG), KillLeg(LEG)]),
    S.WHISPER: (S.CANCELLED, [ForgetLeg(LEG), KillLeg(LEG)]),
    S.ANSWERING: (S.CANCELLED, [KillLeg(LEG)]),
    S.CALLBACK: (S.CANCELLED, [KillLeg(LEG)]),
    # The ACD never cancels an answered offer; a cancel after the end changes nothing.
    S.BRIDGING: (S.BRIDGING, []),
    S.VERIFYING: (S.VERIFYING, []),
    S.BRIDGED: (S.BRIDGED, []),
    S.CHECKING: (S.CHECKING, []),
    S.MISSED: (S.MISSED, []),
    S.CANCELLED: (S.CANCELLED, []),
    S.BACK_IN_LINE: (S.BACK_IN_LINE, []),
    S.ENDED: (S.ENDED, []),
}


@pytest.mark.parametrize("state", list(S))
def test_cancellation_in_every_state(state):
    m = reach(state, callback=state is S.CALLBACK)
    target, commands = CANCELLED_IN[state]
    assert m.feed(Cancelled("abandoned"), T0 + 50) == commands
    assert m.state is target


def test_an_originate_answered_after_the_cancel_is_hung_up_and_a_failed_one_forgotten():
    answered = reach(S.ORIGINATING)
    answered.feed(Cancelled("abandoned"), T0 + 5)
    assert answered.feed(OriginateOk(), T0 + 6) == [ForgetLeg(LEG), KillLeg(LEG)]
    failed = reach(S.ORIGINATING)
    failed.feed(Cancelled("abandoned"), T0 + 5)
    assert failed.feed(OriginateFailed(MissReason.NO_ANSWER), T0 + 6) == [ForgetLeg(LEG)]  # no miss reported
    assert answered.state is failed.state is S.CANCELLED


def test_results_after_the_cancel_change_nothing():
    m = reach(S.CALLBACK, callback=True)
    m.feed(Cancelled("gone"), T0 + 10)
    assert m.feed(CallbackDone(), T0 + 11) == [] and m.state is S.CANCELLED
    reported = reach(S.RESERVED)
    reported.feed(Cancelled("gone"), T0 + 1)
    assert reported.feed(Reported(), T0 + 1) == []  # no originate once cancelled


def test_an_event_the_table_lacks_is_an_error_naming_state_and_event():
    m = reach(S.WHISPER)
    with pytest.raises(InvalidTransition, match="offer: no transition for BridgeOk in state whisper"):
        m.feed(BridgeOk(), T0 + 9)
    assert m.state is S.WHISPER  # unchanged
    with pytest.raises(InvalidTransition, match="LegParked in state new"):
        machine().feed(LegParked(), T0)


SAMPLES = {Start: Start(), Reported: Reported(), Cancelled: Cancelled("x"), OriginateOk: OriginateOk(),
           OriginateFailed: OriginateFailed(MissReason.FAILED), LegParked: LegParked(), LegHungUp: LegHungUp(),
           Timeout: Timeout(), ConnectionLost: ConnectionLost(), BridgeOk: BridgeOk(), BridgeError: BridgeError(),
           BridgeUnknown: BridgeUnknown(),
           CallerThere: CallerThere(), CallerGone: CallerGone(), CallerLeft: CallerLeft(),
           CallbackDone: CallbackDone()}


def every_move():
    for (state, event), entry in TRANSITIONS.items():
        for callback in ((False, True) if isinstance(entry, dict) else (False,)):
            yield state, event, callback


@pytest.mark.parametrize("state, event, callback", list(every_move()))
def test_every_move_in_the_table_runs_and_a_command_with_a_result_ends_its_batch(state, event, callback):
    m = reach(state, callback=callback or state is S.CALLBACK)
    commands = m.feed(SAMPLES[event], T0 + 100)
    waiting = [c for c in commands if c.awaits_result]
    assert len(waiting) <= 1 and (not waiting or commands[-1] is waiting[0])
    step = TRANSITIONS[(state, event)]
    expected = step["callback" if callback else "caller"] if isinstance(step, dict) else step
    assert m.state == expected.target


def test_every_state_is_reached_from_new_and_only_final_states_lack_a_way_on():
    targets = {S.NEW}
    for entry in TRANSITIONS.values():
        targets |= {step.target for step in (entry.values() if isinstance(entry, dict) else [entry])}
    assert targets == set(S)
    leaving = {state for (state, _), entry in TRANSITIONS.items()
               if any(step.target != state for step in (entry.values() if isinstance(entry, dict) else [entry]))}
    assert set(S) - leaving == FINAL


@pytest.mark.parametrize("news", [LegParked(), LegHungUp(), Timeout(), ConnectionLost()])
def test_news_of_the_leg_that_crossed_a_cancel_changes_nothing(news):
    m = reach(S.WHISPER)
    m.feed(Cancelled("abandoned"), T0 + 5)  # the leg is dropped with the cancel
    assert m.feed(news, T0 + 5) == [] and m.state is S.CANCELLED
