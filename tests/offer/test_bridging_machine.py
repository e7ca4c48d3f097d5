"""A call runner's bridging phase on its own: no gevent, no socket, times as plain numbers."""

import pytest

from fsrouter.flow import commands as cmd
from fsrouter.flow import events as ev
from fsrouter.offer import BridgingMachine, InvalidTransition
from fsrouter.offer.bridging import (
    TRANSITIONS,
    BridgingState,
    FeedFlow,
    SendHeld,
    SettleHeld,
    Timeout,
    Unbridged,
)
from fsrouter.offer.messages import AttendedTransfer, Bridged, BridgeFailed, Bridging, MaxWait, NoAgents, Transferring

S = BridgingState
MUSIC = cmd.Play(3, ("music/hold",))
CONNECTED = FeedFlow(ev.AgentConnected("1001"))
DISCONNECTED = FeedFlow(ev.AgentDisconnected())


def bridging(now=100.0):
    m = BridgingMachine(timeout=10.0)
    assert not m.holding and m.deadline is None
    assert m.feed(Bridging("1001"), now) == []
    assert m.holding and m.deadline == now + 10.0
    return m


def test_media_is_held_while_bridging_and_moot_once_bridged():
    m = bridging()
    m.hold(MUSIC)
    assert m.feed(Bridged("1001"), 101.0) == [SettleHeld((MUSIC,)), CONNECTED]
    assert m.state is S.IDLE and not m.holding


def test_a_failed_bridge_sends_the_held_media_after_all():
    m = bridging()
    m.hold(MUSIC)
    assert m.feed(BridgeFailed("1001"), 101.0) == [SendHeld((MUSIC,))]
    assert m.state is S.IDLE


def test_no_word_by_the_deadline_sends_the_held_media_and_a_late_bridge_still_connects():
    m = bridging()
    m.hold(MUSIC)
    assert m.feed(Timeout(), 110.0) == [SendHeld((MUSIC,))]
    assert m.feed(Bridged("1001"), 120.0) == [CONNECTED]


def test_the_agent_leaving_before_the_bridge_news_disconnects_right_after_connecting():
    m = bridging()
    assert m.feed(Unbridged(), 101.0) == [] and m.holding
    assert m.feed(Bridged("1001"), 102.0) == [SettleHeld(()), CONNECTED, DISCONNECTED]


def test_an_early_leave_survives_giving_up_on_the_bridge_news():
    m = bridging()
    m.feed(Unbridged(), 101.0)
    assert m.feed(Timeout(), 110.0) == [SendHeld(())]
    assert m.state is S.AGENT_LEFT_LATE and not m.holding
    assert m.feed(Bridged("1001"), 130.0) == [CONNECTED, DISCONNECTED]


def test_a_new_bridge_forgets_an_earlier_agents_leave():
    m = bridging()
    m.feed(Unbridged(), 101.0)
    m.feed(Timeout(), 110.0)
    m.feed(Bridging("1002"), 200.0)
    assert m.feed(Bridged("1002"), 201.0) == [SettleHeld(()), FeedFlow(ev.AgentConnected("1002"))]


def test_an_unbridge_outside_a_bridging_is_the_agent_leaving():
    assert BridgingMachine(10.0).feed(Unbridged(), 1.0) == [DISCONNECTED]


@pytest.mark.parametrize("state", [S.IDLE, S.BRIDGING, S.AGENT_LEFT, S.AGENT_LEFT_LATE])
def test_no_agents_is_queue_unavailable_and_max_wait_changes_nothing_in_every_state(state):
    for message, expected in ((NoAgents("support"), [FeedFlow(ev.QueueUnavailable())]), (MaxWait("support"), [])):
        m = reach(state)
        assert m.feed(message, 150.0) == expected
        assert m.state is state


def reach(state):
    m = BridgingMachine(10.0)
    path = {S.IDLE: [], S.BRIDGING: [Bridging("1001")], S.AGENT_LEFT: [Bridging("1001"), Unbridged()],
            S.AGENT_LEFT_LATE: [Bridging("1001"), Unbridged(), Timeout()],
            S.TRANSFERRING: [Transferring("billing", {})],
            S.ATTENDED: [ATTENDED],
            S.ATTENDED_BRIDGING: [ATTENDED, Bridging("1002")],
            S.ATTENDED_OWED: [ATTENDED, Bridging("1002"), Bridged("1002")]}[state]
    for event in path:
        m.feed(event, 100.0)
    assert m.state is state
    return m


@pytest.mark.parametrize("state, event", list(TRANSITIONS))
def test_every_move_in_the_table_leads_where_it_says(state, event):
    sample = {Bridging: Bridging("1001"), Bridged: Bridged("1001"), BridgeFailed: BridgeFailed("1001"),
              Unbridged: Unbridged(), Timeout: Timeout(), NoAgents: NoAgents("q"), MaxWait: MaxWait("q"),
              Transferring: Transferring("billing", {}), AttendedTransfer: ATTENDED}[event]
    m = reach(state)
    m.feed(sample, 105.0)
    assert m.state == TRANSITIONS[(state, event)].target


TRANSFERRED = FeedFlow(ev.Transferred("billing", {"transfer_note": "billing dispute"}))
ATTENDED = AttendedTransfer("billing", {"transfer_note": "billing dispute"})


def test_an_attended_transfer_keeps_the_first_agent_until_the_next_bridge_replaces_theirs():
    m = BridgingMachine(10.0)
    assert m.feed(ATTENDED, 100.0) == [] and not m.holding  # still talking to the first agent
    assert m.feed(Bridging("1002"), 130.0) == [] and m.holding
    assert m.feed(Unbridged(), 130.5) == [TRANSFERRED]  # the first bridge ends: the flow is in line again
    assert m.state is S.BRIDGING and m.holding  # its music held back
    m.hold(MUSIC)
    assert m.feed(Bridged("1002"), 131.0) == [SettleHeld((MUSIC,)), FeedFlow(ev.AgentConnected("1002"))]


def test_the_next_bridges_news_before_the_first_ones_end_holds_the_media_until_it():
    m = BridgingMachine(10.0)
    m.feed(ATTENDED, 100.0)
    m.feed(Bridging("1002"), 130.0)
    assert m.feed(Bridged("1002"), 131.0) == [TRANSFERRED]
    assert m.state is S.ATTENDED_OWED and m.holding
    m.hold(MUSIC)
    assert m.feed(Unbridged(), 131.2) == [SettleHeld((MUSIC,)), FeedFlow(ev.AgentConnected("1002"))]
    assert m.state is S.IDLE


def test_the_first_agent_leaving_before_a_next_one_comes_leaves_the_caller_in_line():
    m = BridgingMachine(10.0)
    m.feed(ATTENDED, 100.0)
    assert m.feed(NoAgents("billing"), 101.0) == []
    assert m.feed(Unbridged(), 120.0) == [TRANSFERRED, FeedFlow(ev.QueueUnavailable())]


def test_a_failed_next_bridge_keeps_the_caller_with_the_first_agent():
    m = BridgingMachine(10.0)
    m.feed(ATTENDED, 100.0)
    m.feed(Bridging("1002"), 130.0)
    assert m.feed(BridgeFailed("1002"), 131.0) == [SendHeld(())]
    assert m.state is S.ATTENDED
    assert m.feed(Unbridged(), 150.0) == [TRANSFERRED]


def test_a_transfer_reaches_the_flow_when_the_bridge_ends():
    m = BridgingMachine(10.0)
    assert m.feed(Transferring("billing", {"transfer_note": "billing dispute"}), 100.0) == []
    assert m.state is S.TRANSFERRING and not m.holding
    assert m.feed(Unbridged(), 101.0) == [TRANSFERRED]
    assert m.state is S.IDLE
    assert m.feed(Unbridged(), 102.0) == [DISCONNECTED]  # nothing left over from the transfer


def test_the_new_queue_refusing_the_caller_follows_the_transfer():
    m = BridgingMachine(10.0)
    m.feed(Transferring("billing", {"transfer_note": "billing dispute"}), 100.0)
    assert m.feed(NoAgents("billing"), 100.5) == []
    assert m.feed(Unbridged(), 101.0) == [TRANSFERRED, FeedFlow(ev.QueueUnavailable())]


def test_the_next_bridge_before_the_first_ends_tells_the_flow_of_the_transfer_first():
    m = BridgingMachine(10.0)
    m.feed(Transferring("billing", {"transfer_note": "billing dispute"}), 100.0)
    assert m.feed(Bridging("1002"), 110.0) == [TRANSFERRED]
    assert m.holding and m.deadline == 120.0


def test_a_timeout_when_not_bridging_is_an_error_naming_state_and_event():
    with pytest.raises(InvalidTransition, match="bridging: no transition for Timeout in state idle"):
        BridgingMachine(10.0).feed(Timeout(), 1.0)
