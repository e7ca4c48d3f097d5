"""QueueRuntime over a fake inbound client: commands sent, reports made, callers told.

Offer greenlets run inline (`spawn`) and the clock is a fake one, so every
test is deterministic; one test runs the real dispatcher greenlet.
"""

from dataclasses import replace

import gevent
import pytest
from runtime_fakes import RULES, Clock, FakeInbound, channels, registrations

from fsrouter.acd import AgentState
from fsrouter.acd.model import MissReason
from fsrouter.esl.codec import Event
from fsrouter.esl.errors import ESLConnectionClosed, ESLTimeout
from fsrouter.runtime.agent_presence import REGISTRATIONS
from fsrouter.runtime.legs import miss_reason
from fsrouter.runtime.orphan_legs import listing
from fsrouter.runtime.queue_runtime import QueueRuntime
from fsrouter.offer.messages import Bridging, Bridged, BridgeFailed, MaxWait
from fsrouter.rules.compiler import compile_source

CALLER = "caller-uuid-1"
VARS = {"caller_id_number": "+306971234567", "language": "en"}


@pytest.fixture
def plan():
    return compile_source(RULES)


def runtime(plan, inbound, clock=None, login=("1001",), **options):
    """Offers run inline unless `options` give another `spawn`."""
    options = {"spawn": lambda f, *a: f(*a), **options}
    rt = QueueRuntime(plan, inbound, clock=clock or Clock(), instance="fsr-1", **options)
    inbound.on_event = rt.on_event
    for agent in login:
        rt.set_agent_state(agent, AgentState.AVAILABLE)
    return rt


def agent_uuid(inbound, n=0):
    cmd = [c[1] for c in inbound.commands if c[0] == "bgapi"][n]
    return cmd.split("origination_uuid=")[1].split(",")[0]


def test_answered_agent_is_bridged_and_the_caller_told(plan):
    inbound = FakeInbound("+OK agent-leg\n")
    told = []
    rt = runtime(plan, inbound)
    assert rt.join(CALLER, "support", VARS, told.append)
    offers = rt.step()
    assert [o.agent_id for o in offers] == ["1001"]
    kind, cmd, timeout = inbound.commands[0]
    leg = agent_uuid(inbound)
    assert kind == "bgapi"
    assert cmd == (
        f"originate {{origination_uuid={leg},origination_caller_id_number=+306971234567,"
        f"fsrouter_queue=support,fsrouter_caller_uuid={CALLER},originate_timeout=20,fsrouter_language=en,"
        "fsrouter_leg=agent,fsrouter_owner=fsr-1,presence_data=fsrouter:agent:fsr-1}"
        "user/1001 &park()"
    )
    assert timeout == 30.0  # ring timeout + margin: bounded
    assert inbound.apis() == [f"uuid_bridge {CALLER} {leg}"]
    assert told == [Bridging("1001"), Bridged("1001")]
    assert rt.acd.agent_status("1001").state is AgentState.ON_CALL


def test_hangup_after_the_bridge_ends_the_call_and_the_agent_wraps_up(plan):
    rt = runtime(plan, FakeInbound("+OK\n"))
    rt.join(CALLER, "support", VARS, lambda m: None)
    rt.step()
    rt.hang_up(CALLER)
    assert rt.acd.agent_status("1001").state is AgentState.WRAP_UP


@pytest.mark.parametrize(
    "result, reason",
    [
        ("-ERR NO_ANSWER\n", MissReason.NO_ANSWER),
        ("-ERR USER_BUSY\n", MissReason.BUSY),
        ("-ERR CALL_REJECTED\n", MissReason.REJECTED),
        ("-ERR USER_NOT_REGISTERED\n", MissReason.FAILED),
        ("-ERR\n", MissReason.FAILED),
        ("-ERR ESL_FAILURE", MissReason.LOST),
        ("", MissReason.FAILED),  # no cause given: nothing said about the far end
        ("-ERR  \n", MissReason.FAILED),
    ],
)
def test_miss_reasons(result, reason):
    assert miss_reason(result) is reason


def test_a_miss_tries_the_next_agent_and_the_caller_keeps_waiting(plan):
    inbound = FakeInbound("-ERR USER_BUSY\n", "+OK\n")
    told = []
    rt = runtime(plan, inbound, login=("1001", "1002"))
    rt.join(CALLER, "support", VARS, told.append)
    first = rt.step()
    second = rt.step()
    assert [o.agent_id for o in first + second] == ["1001", "1002"]
    assert rt.acd.agent_status("1001").state is AgentState.AVAILABLE  # with a busy delay
    assert told == [Bridging("1002"), Bridged("1002")]
    assert inbound.apis() == [f"uuid_bridge {CALLER} {agent_uuid(inbound, 1)}"]


def test_caller_hanging_up_while_the_agent_rings_cancels_the_agent_leg(plan):
    rt = None

    def caller_leaves_then_agent_answers():
        rt.hang_up(CALLER)
        return "+OK\n"

    inbound = FakeInbound(caller_leaves_then_agent_answers)
    rt = runtime(plan, inbound)
    told = []
    rt.join(CALLER, "support", VARS, told.append)
    rt.step()
    leg = agent_uuid(inbound)
    # once when the entry left (the leg may not exist yet), once when the originate came back
    assert inbound.apis() == [f"uuid_kill {leg} ORIGINATOR_CANCEL"] * 2
    assert told == []
    assert rt.acd.agent_status("1001").state is AgentState.AVAILABLE


def test_an_originate_lost_with_the_connection_kills_the_leg_and_costs_the_agent_nothing(plan):
    inbound = FakeInbound(ESLTimeout("no result"), "+OK\n")
    rt = runtime(plan, inbound)
    rt.join(CALLER, "support", VARS, lambda m: None)
    rt.step()
    assert inbound.apis() == [f"uuid_kill {agent_uuid(inbound)} ORIGINATOR_CANCEL"]
    status = rt.acd.agent_status("1001")
    assert status.state is AgentState.AVAILABLE and status.consecutive_misses == 0
    assert [o.agent_id for o in rt.step()] == ["1001"]  # offered again at once: no miss delay


def test_a_failed_bridge_hangs_up_the_agent_and_puts_the_caller_back_in_line(plan):
    inbound = FakeInbound("+OK\n")
    inbound.api_errors["uuid_bridge"] = "-ERR No such channel!"
    told = []
    rt = runtime(plan, inbound)
    rt.join(CALLER, "support", VARS, told.append)
    rt.step()
    leg = agent_uuid(inbound)
    assert inbound.apis() == [f"uuid_bridge {CALLER} {leg}", f"uuid_kill {leg} ORIGINATOR_CANCEL",
                              f"uuid_exists {CALLER}"]
    assert told == [Bridging("1001"), BridgeFailed("1001")]
    assert rt.acd.agent_status("1001").state is AgentState.WRAP_UP
    assert rt.acd.position(CALLER, rt.now()) == 1  # back in line, at the old place
    assert rt.status(CALLER) is not None


def test_a_bridge_failing_because_the_caller_is_gone_does_not_put_them_back(plan):
    inbound = FakeInbound("+OK\n")
    inbound.api_errors["uuid_bridge"] = "-ERR Invalid uuid"
    inbound.api_results["uuid_exists"] = "false"
    told = []
    rt = runtime(plan, inbound)
    rt.join(CALLER, "support", VARS, told.append)
    rt.step()
    assert told == [Bridging("1001"), BridgeFailed("1001")]
    assert not rt.acd.has_entry(CALLER) and rt.status(CALLER) is None
    assert rt.step() == []  # nobody to offer again


def test_max_wait_in_the_acd_tells_the_caller(plan):
    clock = Clock()
    told = []
    rt = runtime(plan, FakeInbound(), clock, login=())
    rt.join(CALLER, "support", VARS, told.append)
    clock.now += 121
    assert rt.step() == []
    assert told == [MaxWait("support")]
    rt.hang_up(CALLER)  # already gone: nothing happens


def test_refused_when_nobody_serves_a_queue_with_no_agents(plan):
    rt = runtime(plan, FakeInbound())
    assert rt.join(CALLER, "sales", VARS, lambda m: None) is False


def test_leave_before_any_offer_removes_the_entry(plan):
    rt = runtime(plan, FakeInbound(), login=())
    rt.join(CALLER, "support", VARS, lambda m: None)
    rt.leave(CALLER, "max_wait")
    assert rt.acd.queue_status("support", 2000.0).waiting == 0


def test_unsafe_caller_id_is_not_passed_into_the_dial_string(plan):
    inbound = FakeInbound("+OK\n")
    rt = runtime(plan, inbound)
    rt.join(CALLER, "support", {"caller_id_number": "123,x=}{evil"}, lambda m: None)
    rt.step()
    assert "origination_caller_id_number=123xevil," in inbound.commands[0][1]


def test_dispatcher_greenlet_offers_without_being_stepped(plan):
    inbound = FakeInbound("+OK\n")
    told = []
    rt = QueueRuntime(plan, inbound, max_sleep=0.05)
    inbound.on_event = rt.on_event
    for agent in plan.agents:
        rt.set_agent_state(agent, AgentState.AVAILABLE)
    rt.start()
    try:
        rt.join(CALLER, "support", VARS, told.append)
        with gevent.Timeout(2):
            while not told:
                gevent.sleep(0.01)
    finally:
        rt.stop()
    assert told == [Bridging("1001"), Bridged("1001")]


def test_joining_again_leaves_the_previous_queue_first(plan):
    rt = runtime(plan, FakeInbound(), login=())
    rt.join(CALLER, "support", VARS, lambda m: None)
    assert rt.join(CALLER, "sales", VARS, lambda m: None) is False  # refused: nobody sells
    assert rt.acd.queue_status("support", 2000.0).waiting == 0


def test_the_whisper_is_spoken_to_the_agent_leg_before_it_parks_and_is_bridged(plan):
    inbound = FakeInbound("+OK\n")
    told = []
    rt = runtime(plan, inbound)
    rt.join(CALLER, "billing", {**VARS, "brand": "acme", "topic": "invoices"}, told.append)
    rt.step()
    command = inbound.commands[0][1]
    assert command.endswith("}user/1001 'speak:flite|kal|acme; Billing; invoices; waited 0 seconds,park' inline")
    assert "fsrouter_brand=acme" in command and "fsrouter_topic=invoices" in command
    assert inbound.apis() == [f"uuid_bridge {CALLER} {agent_uuid(inbound)}"]
    assert told == [Bridging("1001"), Bridged("1001")]


def test_an_agent_hanging_up_during_the_whisper_is_a_miss_and_the_next_agent_is_tried(plan):
    inbound = FakeInbound("+OK\n", "+OK\n", after_answer=["CHANNEL_HANGUP_COMPLETE"])
    told = []
    rt = runtime(plan, inbound, login=("1001", "1002"))
    rt.join(CALLER, "billing", VARS, told.append)
    rt.step()
    first = agent_uuid(inbound, 0)
    assert f"uuid_kill {first} ORIGINATOR_CANCEL" in inbound.apis()
    assert rt.acd.agent_status("1001").state is not AgentState.ON_CALL
    rt.step()
    assert told == [Bridging("1002"), Bridged("1002")]
    assert inbound.apis()[-1] == f"uuid_bridge {CALLER} {agent_uuid(inbound, 1)}"


def test_a_whisper_that_never_ends_is_given_up_and_the_leg_hung_up(plan):
    inbound = FakeInbound("+OK\n", after_answer=[""])
    told = []
    rt = runtime(plan, inbound)
    rt.whisper_timeout = 0.05
    rt.join(CALLER, "billing", VARS, told.append)
    rt.step()
    assert inbound.apis() == [f"uuid_kill {agent_uuid(inbound)} ORIGINATOR_CANCEL"]
    assert told == []
    assert rt.acd.position(CALLER, rt.now()) == 1  # still in line


def sofia(subclass, user):
    return Event({"Event-Name": "CUSTOM", "Event-Subclass": subclass, "from-user": user})


def test_an_unregistered_phone_is_not_offered_calls_until_it_registers_again(plan):
    inbound = FakeInbound("+OK\n", "+OK\n")
    rt = runtime(plan, inbound, login=("1001", "1002"))
    rt.on_event(sofia("sofia::unregister", "1001"))
    rt.on_event(Event({"Event-Name": "CUSTOM", "Event-Subclass": "sofia::expire", "user": "1002"}))
    rt.join(CALLER, "support", VARS, lambda m: None)
    assert rt.step() == []
    rt.on_event(sofia("sofia::register", "1002"))
    assert [o.agent_id for o in rt.step()] == ["1002"]


def test_nobody_is_offered_while_the_inbound_socket_is_down(plan):
    inbound = FakeInbound("+OK\n")
    inbound.connected = False
    told = []
    rt = runtime(plan, inbound)
    rt.join(CALLER, "support", VARS, told.append)
    assert rt.step() == [] and inbound.commands == []
    inbound.connected = True
    assert [o.agent_id for o in rt.step()] == ["1001"]
    assert told == [Bridging("1001"), Bridged("1001")]


def test_a_caller_leaving_while_a_failed_bridge_is_checked_is_not_put_back(plan):
    rt = None

    def caller_leaves_meanwhile():
        rt.hang_up(CALLER)  # the runner heard the hangup during uuid_exists
        return "true"

    inbound = FakeInbound("+OK\n")
    inbound.api_errors["uuid_bridge"] = "-ERR Invalid uuid"
    inbound.api_results["uuid_exists"] = caller_leaves_meanwhile
    rt = runtime(plan, inbound)
    rt.join(CALLER, "support", VARS, lambda m: None)
    rt.step()
    assert not rt.acd.has_entry(CALLER) and rt.status(CALLER) is None


def test_a_caller_leaving_during_the_whisper_hangs_the_agent_up_at_once(plan):
    inbound = FakeInbound("+OK\n", after_answer=[""])  # the whisper goes on and on
    rt = QueueRuntime(plan, inbound, clock=Clock(), spawn=gevent.spawn, whisper_timeout=30.0)
    inbound.on_event = rt.on_event
    rt.set_agent_state("1001", AgentState.AVAILABLE)
    rt.join(CALLER, "billing", VARS, lambda m: None)
    rt.step()
    gevent.sleep(0.01)
    leg = agent_uuid(inbound)
    assert rt.owned_legs() == {leg}
    with gevent.Timeout(1):  # not the whisper's 30 s
        rt.hang_up(CALLER)
        while rt.owned_legs():
            gevent.sleep(0.01)
    assert inbound.apis() == [f"uuid_kill {leg} ORIGINATOR_CANCEL"]
    assert rt.acd.agent_status("1001").state is AgentState.AVAILABLE


def test_owned_legs_follow_the_answered_call_until_it_ends(plan):
    inbound = FakeInbound("+OK\n")
    rt = runtime(plan, inbound)
    assert rt.owned_legs() == set()
    rt.join(CALLER, "support", VARS, lambda m: None)
    rt.step()
    assert rt.owned_legs() == {agent_uuid(inbound)}  # bridged: the call owns it
    rt.hang_up(CALLER)
    assert rt.owned_legs() == set()


def test_a_whisper_cut_short_by_the_lost_connection_costs_the_agent_nothing(plan):
    inbound = None

    def answered_then_connection_lost():
        inbound.connected = False
        return "+OK\n"

    inbound = FakeInbound(answered_then_connection_lost, after_answer=[""])
    rt = runtime(plan, inbound)
    rt.whisper_timeout = 0.05
    rt.join(CALLER, "billing", VARS, lambda m: None)
    rt.step()
    assert inbound.apis() == [f"uuid_kill {agent_uuid(inbound)} ORIGINATOR_CANCEL"]
    status = rt.acd.agent_status("1001")
    assert status.state is AgentState.AVAILABLE and status.consecutive_misses == 0  # lost, not missed
    assert rt.acd.position(CALLER, rt.now()) == 1


def test_an_agent_dial_string_of_two_legs_is_not_originated_and_the_next_agent_is_tried(plan):
    # `check` refuses such a dial string (tests/rules/test_dial_strings.py);
    # the plan is edited past it to show the run-time guard holds anyway.
    agents = dict(plan.agents)
    agents["1001"] = replace(agents["1001"], dial="user/1001,sofia/gateway/premium/0900")
    inbound = FakeInbound("+OK agent-leg\n")
    rt = runtime(replace(plan, agents=agents), inbound, login=("1001", "1002"))
    assert rt.join(CALLER, "support", {**VARS, "caller_id_number": "${system(x)},{a=b}"}, lambda m: None)
    rt.step()
    rt.step()
    originates = [c[1] for c in inbound.commands if c[0] == "bgapi"]
    assert len(originates) == 1 and originates[0].endswith("}user/1002 &park()"), originates
    assert "origination_caller_id_number=systemxab," in originates[0]


def test_an_offer_failing_before_the_answer_hangs_the_leg_up_and_the_caller_keeps_their_place(plan, monkeypatch):
    inbound = FakeInbound("+OK\n", "+OK\n")
    told = []
    rt = runtime(plan, inbound)
    monkeypatch.setattr(rt.offers, "whisper", lambda offer, context: 1 / 0)  # a bug while dialling the agent
    rt.join(CALLER, "support", VARS, told.append)
    rt.step()
    [kill] = inbound.apis()
    assert kill.startswith("uuid_kill ") and rt.owned_legs() == set()  # the leg, should it exist, hung up
    assert rt.acd.agent_status("1001").state is AgentState.AVAILABLE  # not the agent's doing
    assert rt.acd.position(CALLER, rt.now()) == 1 and told == []
    monkeypatch.undo()
    assert [o.agent_id for o in rt.step()] == ["1001"]  # offered again


def test_an_offer_failing_after_the_answer_hangs_the_agent_up_and_puts_the_caller_back(plan):
    inbound = FakeInbound("+OK\n")
    told = []

    def notify(message):
        told.append(message)
        if isinstance(message, Bridging):
            raise RuntimeError("a bug in the runner's inbox")

    rt = runtime(plan, inbound)
    rt.join(CALLER, "support", VARS, notify)
    rt.step()
    leg = agent_uuid(inbound)
    assert inbound.apis() == [f"uuid_kill {leg} ORIGINATOR_CANCEL"]  # never bridged
    assert told == [Bridging("1001"), BridgeFailed("1001")]
    assert rt.acd.agent_status("1001").state is AgentState.WRAP_UP
    assert rt.acd.position(CALLER, rt.now()) == 1 and rt.status(CALLER) is not None
    assert rt.owned_legs() == set()


def lost_mid_bridge(inbound):
    """uuid_bridge's answer lost with the connection (it may have been made)."""
    def bridge():
        inbound.connected = False
        raise ESLConnectionClosed("connection lost before api uuid_bridge answered")
    return bridge


@pytest.mark.parametrize("bridged", [True, False])
def test_a_bridge_whose_answer_was_lost_is_asked_about_once_the_connection_is_back(plan, bridged):
    inbound = FakeInbound("+OK\n")
    inbound.api_results["uuid_bridge"] = lost_mid_bridge(inbound)
    inbound.api_results["uuid_getvar"] = lambda: CALLER if bridged else "_undef_"
    told, kept = [], []
    rt = runtime(plan, inbound, max_sleep=0.01)

    def reconnect():
        kept.append(rt.owned_legs())  # what a sweep on reconnect would spare
        inbound.connected = True

    gevent.spawn_later(0.05, reconnect)
    rt.join(CALLER, "support", VARS, told.append)
    rt.step()
    leg = agent_uuid(inbound)
    assert kept == [{leg}]
    assert inbound.apis()[:2] == [f"uuid_bridge {CALLER} {leg}", f"uuid_getvar {leg} bridge_uuid"]
    if bridged:
        assert told == [Bridging("1001"), Bridged("1001")]
        assert rt.acd.agent_status("1001").state is AgentState.ON_CALL
        assert not rt.acd.has_entry(CALLER) and f"uuid_kill {leg} ORIGINATOR_CANCEL" not in inbound.apis()
    else:
        assert told == [Bridging("1001"), BridgeFailed("1001")]
        assert f"uuid_kill {leg} ORIGINATOR_CANCEL" in inbound.apis()
        assert rt.acd.position(CALLER, rt.now()) == 1  # back in line


def test_a_caller_leaving_while_a_lost_bridge_is_asked_about_ends_the_call(plan):
    inbound = FakeInbound("+OK\n")
    inbound.api_results["uuid_bridge"] = lost_mid_bridge(inbound)
    rt = runtime(plan, inbound, spawn=gevent.spawn, max_sleep=0.01)
    rt.join(CALLER, "support", VARS, lambda m: None)
    rt.step()
    gevent.sleep(0.03)
    leg = agent_uuid(inbound)
    rt.hang_up(CALLER)
    gevent.sleep(0.03)
    assert inbound.apis() == [f"uuid_bridge {CALLER} {leg}", f"uuid_kill {leg} ORIGINATOR_CANCEL"]
    assert rt.acd.agent_status("1001").state is AgentState.WRAP_UP and rt.greenlets == 0


def test_a_whisper_whose_park_may_have_been_lost_in_a_reconnect_costs_the_agent_nothing(plan):
    inbound = FakeInbound("+OK\n", after_answer=[""])
    inbound.api_results = {REGISTRATIONS: registrations("1001", "1002"), listing("fsr-1"): channels()}
    rt = runtime(plan, inbound)
    rt.whisper_timeout = 0.05
    rt.join(CALLER, "billing", VARS, lambda m: None)
    gevent.spawn_later(0.01, rt.on_connected)  # the connection dropped and came back meanwhile
    rt.step()
    status = rt.acd.agent_status("1001")
    assert status.state is AgentState.AVAILABLE and status.consecutive_misses == 0  # lost, not missed
    assert rt.acd.position(CALLER, rt.now()) == 1


def test_join_miss_and_bridge_are_logged_with_their_call_queue_and_agent(plan, caplog):
    inbound = FakeInbound("-ERR USER_BUSY\n", "+OK\n")
    rt = runtime(plan, inbound, login=("1001", "1002"))
    with caplog.at_level("INFO", logger="fsrouter.runtime"):
        rt.join(CALLER, "support", VARS, lambda message: None)
        rt.step()
        rt.step()
    context = {r.getMessage(): {k: getattr(r, k, None) for k in ("call", "queue", "agent")}
               for r in caplog.records}
    assert context[f"call {CALLER}: joined queue support"] == {"call": CALLER, "queue": "support", "agent": None}
    missed = next(m for m in context if m.startswith(f"agent 1001 missed call {CALLER}"))
    assert context[missed] == {"call": CALLER, "queue": "support", "agent": "1001"}
    assert context[f"call {CALLER}: bridged to agent 1002"] == {"call": CALLER, "queue": "support", "agent": "1002"}


@pytest.mark.parametrize("agent_language, expected", [
    ("ru", "tts_commandline|ru|acme; Billing; ждали меньше минуты"),  # the agent's own text and voice
    ("hu", "flite|kal|acme; Billing; waited 0 seconds"),  # no Hungarian text: the first, in its language
    (None, "flite|kal|acme; Billing; waited 0 seconds"),
])
def test_the_whisper_is_in_the_agents_language_where_the_queue_has_a_text_for_it(agent_language, expected):
    rules = RULES.replace('whisper: "{brand}, {queue}, {topic}, waited {waited}"',
                          'whisper: {en: "{brand}, {queue}, waited {waited}", ru: "{brand}, {queue}, ждали {waited}"}')
    if agent_language:
        rules = rules.replace('"1001": {name: Alice,', f'"1001": {{language: {agent_language}, name: Alice,')
    inbound = FakeInbound("+OK\n")
    rt = runtime(compile_source(rules), inbound, tts={"default": "flite|kal", "ru": "tts_commandline|ru"})
    rt.join(CALLER, "billing", {**VARS, "brand": "acme"}, lambda m: None)
    rt.step()
    assert inbound.commands[0][1].endswith(f"}}user/1001 'speak:{expected},park' inline")


def test_a_caller_timed_out_by_the_acd_then_sent_on_by_the_flow_leaves_once(plan):
    """The ACD's max wait ran out first (a `timed_out` row); the flow's own
    then sends the caller to another queue: no second row for leaving."""
    clock, events = Clock(), []
    rt = runtime(plan, FakeInbound(), clock, login=(), on_events=events.extend)
    rt.join(CALLER, "support", VARS, lambda m: None)
    clock.now += 121
    rt.step()
    rt.leave(CALLER, "max_wait")  # the runner, as the flow moved on
    assert rt.join(CALLER, "billing", VARS, lambda m: None)
    assert [type(e).__name__ for e in events if e.entry_id == CALLER] == ["Queued", "TimedOut", "Queued"]
