"""Callbacks through the queue runtime, with a real SQLite store and a fake inbound socket.

Booking keeps the caller's place; a due callback is dialled only after its
agent answered and heard the whisper; no answer means a later attempt at the
same place, up to the queue's number of attempts; the store decides what is
due, so a new process (a restart) picks pending callbacks up in order.
"""

import os

import gevent
import pytest
from runtime_fakes import Clock, FakeInbound

from fsrouter.acd import AgentState
from fsrouter.acd.events import CallbackBooked, CallbackFinished
from fsrouter.runtime.callback_dialer import CallbackDialer
from fsrouter.esl.codec import Event
from fsrouter.esl.errors import ESLTimeout
from fsrouter.runtime.queue_runtime import QueueRuntime
from fsrouter.rules.compiler import compile_source
from fsrouter.store import CommitUnknown, StoreUnavailable, open_store
from fsrouter.store.sqlite import SqliteStore

RULES = """
settings: {timezone: UTC, language: en}
lines:
  "+302101234567": {brand: acme, language: en, flow: main}
flows:
  main:
    - queue: billing
queues:
  billing:
    name: Billing
    require: {billing: 1}
    callback:
      offer_when: {position_over: 0}
      retry: {attempts: 2, every: 60s}
      dial_after: 0s
      dial: "sofia/gateway/carrier/{number}"
    max_wait: {after: 10m, then: {hangup: NORMAL_CLEARING}}
agents:
  "1001": {name: Alice, dial: user/1001, skills: {billing: 5}}
"""
LINE = {"destination_number": "+302101234567", "caller_id_number": "+306971234567",
        "language": "en", "brand": "acme"}
NUMBER = "+306971234567"


@pytest.fixture
def plan():
    return compile_source(RULES)


@pytest.fixture
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path}/fsrouter.db") as opened:
        yield opened


def centre(plan, store, inbound, clock, *, login=True, on_events=None):
    runtime = QueueRuntime(plan, inbound, clock=clock, spawn=gevent.spawn, max_sleep=0.01, on_events=on_events)
    inbound.on_event = runtime.on_event
    CallbackDialer(runtime, store, sounds_root="/sounds", owner="test", poll=0.0)
    if login:
        runtime.set_agent_state("1001", AgentState.AVAILABLE)
    return runtime


def settle():
    gevent.sleep(0.05)


def hang_up(runtime, uuid):
    runtime.on_event(Event({"Event-Name": "CHANNEL_HANGUP_COMPLETE", "Unique-ID": uuid}))


def uuids(inbound):
    return [cmd.split("origination_uuid=")[1].split(",")[0].split("}")[0]
            for kind, cmd, _ in inbound.commands if kind == "bgapi"]


def test_a_booked_callback_keeps_the_callers_place_in_line(plan, store):
    clock = Clock()
    runtime = centre(plan, store, FakeInbound(), clock, login=False)
    runtime.join("first", "billing", LINE, lambda m: None)
    clock.now += 5
    runtime.join("second", "billing", LINE, lambda m: None)
    clock.now += 5
    callback_id = runtime.book_callback("second", NUMBER)
    clock.now += 5
    runtime.join("third", "billing", LINE, lambda m: None)
    booked = store.get(int(callback_id))
    assert (booked.number, booked.arrival_time, booked.idempotency_key) == (NUMBER, 1005.0, "second/1")
    assert booked.caller_id == "+302101234567"  # the line the customer called
    positions = {entry: runtime.acd.position(entry, clock.now)
                 for entry in ("first", f"callback:{callback_id}", "third")}
    assert positions == {"first": 1, f"callback:{callback_id}": 2, "third": 3}
    assert runtime.status("second") is None  # the live call is out of line


def test_the_agent_hears_the_whisper_then_the_customer_is_dialled_and_bridged(plan, store):
    clock = Clock()
    inbound = FakeInbound("+OK\n", "+OK\n")
    runtime = centre(plan, store, inbound, clock, login=False)
    runtime.join("caller", "billing", LINE, lambda m: None)
    callback_id = int(runtime.book_callback("caller", NUMBER))
    clock.now += 125
    runtime.set_agent_state("1001", AgentState.AVAILABLE)
    runtime.step()
    settle()
    agent_cmd, customer_cmd = [cmd for kind, cmd, _ in inbound.commands if kind == "bgapi"]
    digits = " ".join(NUMBER)  # read digit by digit, not as one big number
    assert agent_cmd.endswith(f"user/1001 'speak:flite|kal|Callback for {digits}; waited 2 minutes,park' inline")
    assert "origination_caller_id_number=+302101234567" in customer_cmd
    assert customer_cmd.endswith(
        f"sofia/gateway/carrier/{NUMBER} 'playback:/sounds/en/callback/intro.wav,park' inline")
    # Both legs marked, so a sweep after a lost connection finds them (orphan_legs).
    assert f",fsrouter_leg=customer,fsrouter_owner={runtime.instance}," in customer_cmd
    assert f"presence_data=fsrouter:agent:{runtime.instance}" in agent_cmd
    agent, customer = uuids(inbound)
    assert inbound.apis()[-1] == f"uuid_bridge {customer} {agent}"
    assert store.get(callback_id).status == "completed"
    hang_up(runtime, customer)
    settle()
    assert f"uuid_kill {agent} ORIGINATOR_CANCEL" in inbound.apis()
    assert runtime.acd.agent_status("1001").state is AgentState.WRAP_UP


def test_no_answer_is_tried_again_later_at_the_same_place_then_given_up(plan, store):
    clock = Clock()
    inbound = FakeInbound("+OK\n", "-ERR NO_ANSWER\n", "+OK\n", "-ERR USER_BUSY\n")
    runtime = centre(plan, store, inbound, clock)
    runtime.join("caller", "billing", LINE, lambda m: None)
    callback_id = int(runtime.book_callback("caller", NUMBER))
    runtime.step()
    settle()
    first = store.get(callback_id)
    assert (first.status, first.attempts, first.last_outcome) == ("pending", 1, "no_answer")
    assert first.next_attempt_at == clock.now + 60
    agent, _ = uuids(inbound)
    assert f"uuid_kill {agent} ORIGINATOR_CANCEL" in inbound.apis()
    clock.now += 30  # the agent's wrap-up is over, the callback not due yet
    runtime.callbacks.sync()
    assert runtime.step() == []
    clock.now += 31
    runtime.callbacks.sync()
    runtime.step()
    settle()
    second = store.get(callback_id)
    assert (second.status, second.attempts, second.last_outcome) == ("failed", 2, "busy")


@pytest.mark.parametrize("answers, completed, attempts", [
    (("+OK\n", "+OK\n"), True, 1),
    (("+OK\n", "-ERR NO_ANSWER\n", "+OK\n", "-ERR USER_BUSY\n"), False, 2),
])
def test_a_booking_and_how_the_callback_ended_are_statistics(plan, store, answers, completed, attempts):
    clock, events = Clock(), []
    runtime = centre(plan, store, FakeInbound(*answers), clock, on_events=events.extend)
    runtime.join("caller", "billing", LINE, lambda m: None)
    callback_id = int(runtime.book_callback("caller", NUMBER))
    for _ in range(attempts):
        runtime.callbacks.sync()
        runtime.step()
        settle()
        clock.now += 61
    entry = f"callback:{callback_id}"
    assert [e for e in events if isinstance(e, (CallbackBooked, CallbackFinished))] == [
        CallbackBooked(entry_id=entry, queue="billing", at=1000.0),
        CallbackFinished(entry_id=entry, queue="billing", at=1000.0 + 61 * (attempts - 1),
                         completed=completed, attempts=attempts),
    ]


def test_a_cancelled_callback_leaves_the_line(plan, store):
    clock = Clock()
    runtime = centre(plan, store, FakeInbound(), clock, login=False)
    runtime.join("caller", "billing", LINE, lambda m: None)
    callback_id = int(runtime.book_callback("caller", NUMBER))
    store.cancel(callback_id, clock.now)
    runtime.callbacks.sync()
    assert runtime.acd.queue_status("billing", clock.now).waiting == 0


def test_after_a_restart_pending_callbacks_come_back_in_their_order(plan, store):
    clock = Clock()
    before = centre(plan, store, FakeInbound(), clock, login=False)
    for caller in ("a", "b", "c"):
        before.join(caller, "billing", LINE, lambda m: None)
        clock.now += 1
    ids = [before.book_callback(caller, NUMBER) for caller in ("b", "a", "c")]  # booked out of order
    after = centre(plan, store, FakeInbound(), clock, login=False)
    after.callbacks.sync()
    order = sorted(ids, key=lambda i: after.acd.position(f"callback:{i}", clock.now))
    assert order == [ids[1], ids[0], ids[2]]  # a, b, c: by arrival, as they called


def test_a_fresh_booking_waits_dial_after_before_it_is_back_in_line(plan, store):
    clock = Clock()
    runtime = centre(plan, store, FakeInbound(), clock, login=False)
    runtime.plan = compile_source(RULES.replace("dial_after: 0s", "dial_after: 15s"))
    runtime.join("caller", "billing", LINE, lambda m: None)
    callback_id = runtime.book_callback("caller", NUMBER)
    entry = f"callback:{callback_id}"
    assert not runtime.acd.has_entry(entry)  # the caller is still hearing it is booked
    clock.now += 16
    runtime.callbacks.sync()
    assert runtime.acd.position(entry, clock.now) == 1
    assert store.get(int(callback_id)).arrival_time == 1000.0  # its old place


def test_outside_its_window_a_callback_waits_out_of_line_and_comes_back_to_its_place(plan, store):
    clock = Clock()  # 1970-01-01 00:16:40 UTC, a Thursday
    runtime = centre(plan, store, FakeInbound(), clock, login=False)
    runtime.plan = compile_source(RULES.replace("      dial_after: 0s\n",
                                                "      dial_after: 0s\n      window: {hours: \"08:00-20:00\"}\n"))
    runtime.join("caller", "billing", LINE, lambda m: None)
    entry = f"callback:{runtime.book_callback('caller', NUMBER)}"
    runtime.callbacks.sync()
    assert not runtime.acd.has_entry(entry)  # 00:16: the window is closed
    clock.now = 8 * 3600.0 + 60
    runtime.join("later", "billing", LINE, lambda m: None)
    runtime.callbacks.sync()
    assert runtime.acd.position(entry, clock.now) == 1  # 08:01: back, ahead of the later caller
    clock.now = 20 * 3600.0 + 60
    runtime.callbacks.sync()
    assert not runtime.acd.has_entry(entry)


def test_a_dial_lost_with_the_connection_is_not_an_attempt(plan, store):
    clock = Clock()
    inbound = FakeInbound("+OK\n", ESLTimeout("no result"))
    runtime = centre(plan, store, inbound, clock)
    runtime.join("caller", "billing", LINE, lambda m: None)
    callback_id = int(runtime.book_callback("caller", NUMBER))
    runtime.step()
    settle()
    record = store.get(callback_id)
    assert (record.status, record.attempts) == ("pending", 0)  # given back, due again


def test_stopping_mid_dial_hangs_up_both_legs_and_gives_the_callback_back(plan, store):
    clock = Clock()
    inbound = FakeInbound("+OK\n", lambda: gevent.sleep(30))  # the customer's phone rings on
    runtime = QueueRuntime(plan, inbound, clock=clock, max_sleep=0.01)
    inbound.on_event = runtime.on_event
    CallbackDialer(runtime, store, sounds_root="/sounds", owner="test", poll=0.01)
    runtime.set_agent_state("1001", AgentState.AVAILABLE)
    runtime.join("caller", "billing", LINE, lambda m: None)
    callback_id = int(runtime.book_callback("caller", NUMBER))
    runtime.start()
    gevent.sleep(0.1)
    assert store.get(callback_id).status == "dialing"
    runtime.stop()
    record = store.get(callback_id)
    assert (record.status, record.attempts) == ("pending", 0)
    agent, customer = uuids(inbound)
    assert {f"uuid_kill {agent} ORIGINATOR_CANCEL", f"uuid_kill {customer} ORIGINATOR_CANCEL"} <= set(inbound.apis())


def test_the_callers_values_cannot_add_a_leg_or_leave_the_sounds_directory(plan, store):
    # The number is checked when the caller keys it (flow), the language is
    # the line's: here both arrive hostile, as if those checks had a hole.
    clock = Clock()
    inbound = FakeInbound("+OK\n", "+OK\n")
    runtime = centre(plan, store, inbound, clock)
    runtime.join("caller", "billing", {**LINE, "language": "en,foo'${x}/../.."}, lambda m: None)
    runtime.book_callback("caller", "+30697,user/9|x${y}")
    runtime.step()
    settle()
    _, customer_cmd = [cmd for kind, cmd, _ in inbound.commands if kind == "bgapi"]
    assert customer_cmd.endswith(
        "}sofia/gateway/carrier/+30697user9xy 'playback:/sounds/en_foo___x_______/callback/intro.wav,park' inline")


def refuse_writes(store):
    """The database turns read-only under the running store (SQLITE_READONLY)."""
    store._conn.execute("PRAGMA query_only = ON")


def delete_database(store):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(store.path + suffix):
            os.remove(store.path + suffix)


@pytest.mark.parametrize("fault", [refuse_writes, delete_database])
def test_a_booking_the_store_refuses_keeps_the_callers_place_and_they_are_served(plan, store, fault):
    clock = Clock()
    inbound = FakeInbound("+OK\n")
    runtime = centre(plan, store, inbound, clock, login=False)
    told = []
    for caller in ("first", "second", "third"):
        runtime.join(caller, "billing", LINE, told.append)
        clock.now += 5
    fault(store)
    assert runtime.book_callback("second", NUMBER) is None  # not booked, and nothing raised
    assert [runtime.acd.position(c, clock.now) for c in ("first", "second", "third")] == [1, 2, 3]
    assert runtime.status("second").position == 2  # still waiting, at the old place
    runtime.hang_up("first")
    runtime.set_agent_state("1001", AgentState.AVAILABLE)
    [offer] = runtime.step()
    assert offer.entry_id == "second" and not offer.is_callback
    assert told == []  # nobody was sent anywhere


class CommitAnswerLost(SqliteStore):
    """Its first booking commits, then reports the outcome unknown (as
    PostgreSQL does when the connection dies in COMMIT and stays away); the
    next `down` bookings fail as if the database were still away."""

    def __init__(self, path, down=0):
        super().__init__(path)
        self.lost, self.down = 1, down

    def book_callback(self, *args, **kwargs):
        if self.lost:
            super().book_callback(*args, **kwargs)
            self.lost = 0
            raise CommitUnknown("lost the PostgreSQL connection while committing (test)")
        if self.down:
            self.down -= 1
            raise StoreUnavailable("no PostgreSQL connection (test)")
        return super().book_callback(*args, **kwargs)


def test_a_booking_of_unknown_outcome_is_withdrawn_and_the_caller_keeps_waiting(plan, tmp_path):
    store = CommitAnswerLost(f"{tmp_path}/fsrouter.db", down=1)
    clock = Clock()
    runtime = centre(plan, store, FakeInbound(), clock, login=False)
    for caller in ("first", "second", "third"):
        runtime.join(caller, "billing", LINE, lambda m: None)
        clock.now += 5
    assert runtime.book_callback("second", NUMBER) is None  # not told it is booked
    [unknown] = store.list_callbacks()
    assert (unknown.idempotency_key, unknown.status) == ("second/1", "pending")  # though it was
    runtime.callbacks.sync()  # the database is still away: not withdrawn yet...
    assert store.get(unknown.id).status == "pending"
    assert not runtime.acd.has_entry(f"callback:{unknown.id}")  # ...and never in line beside the caller
    runtime.callbacks.sync()
    assert store.get(unknown.id).status == "cancelled"
    assert [runtime.acd.position(c, clock.now) for c in ("first", "second", "third")] == [1, 2, 3]
    again = runtime.book_callback("second", NUMBER)  # the caller asks again: a booking of its own
    assert store.get(int(again)).idempotency_key == "second/2" and int(again) != unknown.id
    assert runtime.acd.position(f"callback:{again}", clock.now) == 2
    store.close()


def test_a_reload_changes_how_a_callback_booked_before_it_is_dialled(plan, store):
    clock = Clock()
    inbound = FakeInbound("+OK\n", "+OK\n")
    runtime = centre(plan, store, inbound, clock, login=False)
    runtime.join("caller", "billing", LINE, lambda m: None)
    runtime.book_callback("caller", NUMBER)
    runtime.reconfigure(compile_source(RULES.replace("sofia/gateway/carrier/", "sofia/gateway/backup/")))
    clock.now += 125
    runtime.set_agent_state("1001", AgentState.AVAILABLE)
    runtime.step()
    settle()
    customer_cmd = [cmd for kind, cmd, _ in inbound.commands if kind == "bgapi"][1]
    assert f"sofia/gateway/backup/{NUMBER} " in customer_cmd


def test_a_due_callback_whose_queue_a_reload_removed_is_reported_once(store, caplog):
    clock = Clock()
    runtime = centre(compile_source(RULES.replace("dial_after: 0s", "dial_after: 60s")), store,
                     FakeInbound(), clock, login=False)
    runtime.join("caller", "billing", LINE, lambda m: None)
    callback_id = int(runtime.book_callback("caller", NUMBER))
    runtime.reconfigure(compile_source(RULES.replace("billing", "sales")))
    clock.now += 61
    for _ in range(3):
        runtime.callbacks.sync()
    said = [r for r in caplog.records if "no longer exists" in r.getMessage()]
    assert [r.getMessage() for r in said] == [f"callback {callback_id}: queue billing no longer exists; left pending"]
    assert store.get(callback_id).status == "pending"


GERMAN_RULES = RULES.replace("require: {billing: 1}", 'require: {billing: 1, "lang_{language}": 1}').replace(
    '"1001": {name: Alice, dial: user/1001, skills: {billing: 5}}',
    '"1001": {name: Alice, dial: user/1001, skills: {billing: 5, lang_de: 5}}\n'
    '  "1002": {name: Bob, dial: user/1002, skills: {billing: 5, lang_en: 5}}')
"""billing[language=de] exists while Alice, the only German speaker, holds lang_de."""


def test_a_callback_booked_from_a_queue_variant_a_reload_retired_is_dialled_from_the_new_queue(store):
    clock = Clock()
    runtime = centre(compile_source(GERMAN_RULES), store, FakeInbound(), clock, login=False)
    german = {**LINE, "language": "de"}
    runtime.join("caller", "billing", german, lambda m: None)
    assert runtime.acd.has_entry("caller")
    runtime.reconfigure(compile_source(GERMAN_RULES.replace(", lang_de: 5", "")))
    callback_id = runtime.book_callback("caller", NUMBER)
    assert store.get(int(callback_id)).queue == "billing"  # not the retired billing[language=de]
    assert runtime.acd.position(f"callback:{callback_id}", clock.now) == 1  # in line, to be dialled


NO_CALLBACKS = RULES.replace("""    callback:
      offer_when: {position_over: 0}
      retry: {attempts: 2, every: 60s}
      dial_after: 0s
      dial: "sofia/gateway/carrier/{number}"
""", "")


def test_a_callback_whose_queue_a_reload_took_callbacks_from_waits_pending_out_of_line(plan, store, caplog):
    clock = Clock()
    runtime = centre(plan, store, FakeInbound(), clock, login=False)
    runtime.join("caller", "billing", LINE, lambda m: None)
    callback_id = int(runtime.book_callback("caller", NUMBER))
    runtime.reconfigure(compile_source(NO_CALLBACKS))
    for _ in range(3):
        runtime.callbacks.sync()
    assert not runtime.acd.has_entry(f"callback:{callback_id}")  # nobody is offered it
    assert store.get(callback_id).status == "pending"
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == [f"callback {callback_id}: queue billing offers no callbacks; left pending"]
    runtime.reconfigure(plan)
    runtime.callbacks.sync()
    assert runtime.acd.position(f"callback:{callback_id}", clock.now) == 1  # back at its place


def test_a_reload_taking_the_callback_settings_away_while_the_agent_rings_makes_no_attempt(plan, store):
    clock = Clock()
    runtime = None

    def answered_while_reloaded():
        runtime.reconfigure(compile_source(NO_CALLBACKS))
        return "+OK\n"

    inbound = FakeInbound(answered_while_reloaded)
    runtime = centre(plan, store, inbound, clock, login=False)
    runtime.join("caller", "billing", LINE, lambda m: None)
    callback_id = int(runtime.book_callback("caller", NUMBER))
    runtime.set_agent_state("1001", AgentState.AVAILABLE)
    runtime.step()
    settle()
    record = store.get(callback_id)
    assert (record.status, record.attempts) == ("pending", 0)  # not given up
    assert len(uuids(inbound)) == 1  # the customer was not dialled


def test_a_store_that_cannot_be_read_is_said_once_not_every_poll(plan, store, caplog):
    class Vanished(type(store)):
        def due_callbacks(self, now):
            raise StoreUnavailable("the database file was deleted (test)")

    runtime = centre(plan, Vanished(store.path), FakeInbound(), Clock(), login=False)
    with caplog.at_level("INFO"):
        for _ in range(3):
            runtime.callbacks.sync()
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in errors] == [
        "could not read the due callbacks (the database file was deleted (test)); retrying every 0 s"]
    assert errors[0].exc_info is None  # no traceback a second
