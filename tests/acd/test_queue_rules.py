"""No endless waits, and clear rules for queues nobody can serve."""

from fsrouter.acd import (
    Abandoned,
    AgentState,
    Answered,
    InMemoryAcd,
    LeftEmpty,
    OfferCancelled,
    Queued,
    Refused,
    Removed,
    TimedOut,
    Transferred,
)

from .helpers import agent, login, only_offer, queue

BILLING = queue("billing", {"billing": 5}, max_wait=600, max_wait_destination="callback:forced")


def test_max_wait_sends_the_caller_to_the_declared_destination():
    acd = InMemoryAcd([BILLING], [agent("a", billing=5)])
    acd.enqueue("c1", "billing", 10)
    assert acd.next_deadline() == 610
    assert acd.tick(609.9) == []
    [timed_out] = acd.tick(615)
    assert timed_out == TimedOut(entry_id="c1", queue="billing", at=610, waited=600, destination="callback:forced")


def test_max_wait_waits_for_a_ringing_agent():
    acd = InMemoryAcd([BILLING], [agent("a", billing=5), agent("b", billing=5)])
    acd.enqueue("answered_late", "billing", 0)
    acd.enqueue("missed_late", "billing", 0)
    login(acd, "a", "b", now=590)
    first, second = acd.dispatch(590)
    assert acd.tick(605) == []  # both still ringing past their max wait
    assert isinstance(acd.answered(first.offer_id, 606)[-1], Answered)
    events = acd.missed(second.offer_id, "no_answer", 610)
    assert [(e.entry_id, e.at) for e in events if isinstance(e, TimedOut)] == [("missed_late", 610)]


def test_callbacks_never_time_out():
    acd = InMemoryAcd([BILLING])
    acd.enqueue("cb", "billing", 10, arrival=0, is_callback=True)
    assert acd.next_deadline() is None
    assert acd.position("cb", 100_000) == 1


def test_join_empty_off_refuses_when_nobody_could_serve():
    spec = queue("billing", {"billing": 5}, join_empty=False, empty_destination="voicemail:billing")
    acd = InMemoryAcd([spec], [agent("a", billing=5), agent("weak", billing=1)])
    login(acd, "weak")
    assert acd.enqueue("c1", "billing", 1) == [
        Refused(entry_id="c1", queue="billing", at=1, destination="voicemail:billing")
    ]
    assert isinstance(acd.enqueue("cb", "billing", 1, is_callback=True)[0], Queued)
    login(acd, "a", now=2)
    acd.set_agent_state("a", "paused", 2, "busy day")  # paused agents serve nobody
    assert isinstance(acd.enqueue("c2", "billing", 3)[0], Refused)
    acd.set_agent_state("a", "available", 4)
    assert isinstance(acd.enqueue("c3", "billing", 5)[0], Queued)


def test_join_empty_on_lets_callers_wait_for_the_first_agent():
    acd = InMemoryAcd([BILLING], [agent("a", billing=5)])
    assert isinstance(acd.enqueue("c1", "billing", 1)[0], Queued)
    login(acd, "a", now=30)
    assert only_offer(acd.dispatch(30)).entry_id == "c1"


def test_leave_when_empty_sends_callers_on_when_the_last_agent_goes():
    spec = queue("billing", {"billing": 5}, leave_when_empty=True)
    acd = InMemoryAcd([spec], [agent("a", billing=5), agent("b", billing=5)])
    login(acd, "a", "b")
    acd.set_agent_state("b", "paused", 0, "x")
    acd.enqueue("c0", "billing", 1)
    call = only_offer(acd.dispatch(1))
    acd.answered(call.offer_id, 2)
    acd.enqueue("c1", "billing", 3)
    acd.enqueue("cb", "billing", 3, arrival=0, is_callback=True)
    # a is on a call: the logout waits for its end, but a takes no new call,
    # so nobody is left to serve c1 from now on.
    left = [e for e in acd.set_agent_state("a", "logged_out", 4) if isinstance(e, LeftEmpty)]
    assert [(e.entry_id, e.destination, e.at) for e in left] == [("c1", "voicemail", 4)]
    assert acd.agent_status("a").state is AgentState.ON_CALL
    acd.call_ended(call.offer_id, 10)
    assert acd.tick(15) and acd.agent_status("a").state is AgentState.LOGGED_OUT
    assert acd.position("cb", 16) == 1  # callbacks stay: they are owed


def test_a_pending_pause_stops_serving_and_taking_it_back_serves_again():
    spec = queue("billing", {"billing": 5}, join_empty=False)
    acd = InMemoryAcd([spec], [agent("a", billing=5)])
    login(acd, "a")
    acd.enqueue("c0", "billing", 1)
    call = only_offer(acd.dispatch(1))
    acd.answered(call.offer_id, 2)
    assert acd.is_staffed("billing", 3)
    acd.set_agent_state("a", "paused", 3, "lunch")  # on a call: pending
    assert not acd.is_staffed("billing", 4)
    assert isinstance(acd.enqueue("c1", "billing", 4)[0], Refused)
    acd.set_agent_state("a", "available", 5)  # changed their mind: nothing pending
    assert acd.is_staffed("billing", 6)
    assert isinstance(acd.enqueue("c2", "billing", 6)[0], Queued)


def test_leaving_cancels_a_ringing_offer():
    spec = queue("billing", {"billing": 5}, leave_when_empty=True)
    acd = InMemoryAcd([spec], [agent("a", billing=5)])
    login(acd, "a")
    acd.enqueue("c1", "billing", 1)
    offer = only_offer(acd.dispatch(1))
    events = acd.agent_unreachable("a", 2)
    assert [type(e) for e in events][:2] == [LeftEmpty, OfferCancelled]


def test_transfer_keeps_the_place_in_time():
    acd = InMemoryAcd([BILLING, queue("general")], [agent("a", general=1)])
    acd.enqueue("c1", "billing", 0)
    acd.enqueue("c2", "general", 100)
    [moved] = acd.transfer("c1", "general", 200)
    assert moved == Transferred(entry_id="c1", from_queue="billing", to_queue="general", at=200, waited=200)
    assert acd.position("c1", 200) == 1
    # c1's max wait restarts in general: c2 (joined at 100) times out first.
    assert [e.entry_id for e in acd.tick(1099) if isinstance(e, TimedOut)] == ["c2"]
    login(acd, "a", now=1099)
    assert only_offer(acd.dispatch(1099)).entry_id == "c1"


def test_abandon_and_remove_report_the_wait():
    acd = InMemoryAcd([BILLING])
    acd.enqueue("c1", "billing", 0)
    acd.enqueue("c2", "billing", 5)
    assert acd.abandon("c2", 65) == [
        Abandoned(entry_id="c2", queue="billing", at=65, waited=60, position=2)
    ]
    assert acd.remove("c1", 70, "exit key") == [
        Removed(entry_id="c1", queue="billing", at=70, waited=70, reason="exit key")
    ]


def test_has_entry_while_waiting_or_offered_and_not_once_it_has_left():
    acd = InMemoryAcd([BILLING], [agent("a", billing=5)])
    login(acd, "a")
    acd.enqueue("c1", "billing", 1)
    acd.enqueue("c2", "billing", 2)
    assert acd.has_entry("c1") and acd.has_entry("c2")
    offer = only_offer(acd.dispatch(3))
    assert acd.has_entry(offer.entry_id)  # being offered
    acd.answered(offer.offer_id, 4)
    assert not acd.has_entry("c1")
    acd.abandon("c2", 5)
    assert not acd.has_entry("c2")
    assert not acd.has_entry("never-queued")


def test_is_staffed_agrees_with_the_snapshot():
    acd = InMemoryAcd([BILLING], [agent("a", billing=5)])
    assert not acd.is_staffed("billing", 1) and acd.queue_status("billing", 1).serving_agents == 0
    login(acd, "a", now=2)
    assert acd.is_staffed("billing", 2) and acd.queue_status("billing", 2).serving_agents == 1
    acd.set_agent_state("a", "paused", 3, "lunch")
    assert not acd.is_staffed("billing", 3) and acd.queue_status("billing", 3).serving_agents == 0
