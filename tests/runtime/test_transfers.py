"""Warm transfers in the queue runtime (`QueueRuntime.transfer_call`, the
agents' `*<code>` events) over a fake inbound client, offers run inline."""

from __future__ import annotations

import gevent
import pytest
from runtime_fakes import Clock, FakeInbound

from fsrouter.acd import AgentState
from fsrouter.esl.codec import Event
from fsrouter.offer.messages import AttendedTransfer, Bridged, Bridging, NoAgents, Transferring
from fsrouter.rules.compiler import compile_source
from fsrouter.runtime.queue_runtime import QueueRuntime
from fsrouter.runtime.transfers import TransferRefused

RULES = """
settings: {timezone: UTC, language: en}
lines: {"5000": {flow: main}}
flows:
  main:
    - queue: sales
queues:
  sales:
    require: {sales: 1}
    max_wait: {after: 1h, then: {hangup: }}
    transfer: {codes: {"1": {queue: billing, reason: billing dispute}}, max_transfers: 1,
               over_cap: {queue: supervisor}, keep_arrival: true}
  billing:
    require: {billing: 1}
    priority: 5
    whisper: "{queue}"
    max_wait: {after: 1h, then: {hangup: }}
    transfer: {codes: {"2": {queue: sales, reason: back}}}
  supervisor:
    require: {supervisor: 1}
    max_wait: {after: 1h, then: {hangup: }}
  nobody:
    require: {nobody: 1}
    max_wait: {after: 1h, then: {hangup: }}
    no_agents: {hangup: }
agents:
  "1001": {name: Becky, dial: user/1001, skills: {sales: 5}}
  "1002": {name: Nikos, dial: user/1002, skills: {billing: 5, sales: 1}}
  "1003": {name: Maria, dial: user/1003, skills: {supervisor: 5}}
"""
CALLER = "caller-1"


def bridged(login=("1001", "1002", "1003")):
    """A caller of sales bridged to Becky; the runtime, what the caller was told, the fake switch."""
    inbound = FakeInbound(*["+OK\n"] * 6)
    clock = Clock()
    rt = QueueRuntime(compile_source(RULES), inbound, clock=clock, instance="fsr-1", spawn=lambda f, *a: f(*a))
    rt.spawn = lambda f, *a: f(*a)
    inbound.on_event = rt.on_event
    for agent in login:
        rt.set_agent_state(agent, AgentState.AVAILABLE)
    told = []
    assert rt.join(CALLER, "sales", {"language": "en", "topic": "router"}, told.append)
    rt.step()
    assert told == [Bridging("1001"), Bridged("1001")]
    told.clear()
    return rt, told, inbound, clock


def becky_leg(inbound):
    return inbound.commands[0][1].split("origination_uuid=")[1].split(",")[0]


def test_the_api_transfer_tells_the_caller_drops_the_agent_and_puts_the_caller_in_line(tmp_path):
    rt, told, inbound, clock = bridged()
    clock.now += 60
    assert rt.transfer_call(CALLER, "billing", "wants a refund") == "billing"
    context = {"transfers": "1", "transfer_from": "supervisor", "transfer_note": "wants a refund",
               "previous_agents": "Becky"}
    assert told[0] == Transferring("billing", context)
    assert f"uuid_kill {becky_leg(inbound)} ORIGINATOR_CANCEL" in inbound.apis()
    assert rt.acd.agent_status("1001").state is AgentState.WRAP_UP
    caller = rt.caller(CALLER)
    assert (caller.acd_queue, caller.arrival, caller.priority) == ("billing", clock.now, 5)  # waits from now
    assert rt.acd.has_entry(CALLER)
    rt.step()  # Nikos is offered the call, and told why
    originate = inbound.commands[-2][1]
    assert "user/1002" in originate and "speak:flite|kal|transfer from supervisor: wants a refund. billing" in originate
    assert "bind_meta_app:2 a s event::Fsrouter-Transfer=2" in originate  # billing's own code


def test_an_agents_code_transfers_with_its_reason_and_past_the_cap_goes_to_the_supervisor():
    rt, told, inbound, clock = bridged()
    originate = inbound.commands[0][1]
    assert "'bind_meta_app:1 a s event::Fsrouter-Transfer=1,park' inline" in originate
    rt.on_event(Event({"Event-Name": "CHANNEL_APPLICATION", "Unique-ID": becky_leg(inbound),
                       "Fsrouter-Transfer": "1"}))
    assert told[0] == Transferring("billing", {"transfers": "1", "transfer_from": "Becky",
                                               "transfer_note": "billing dispute", "previous_agents": "Becky"})
    rt.step()
    assert told[1:] == [Bridging("1002"), Bridged("1002")]
    told.clear()
    # sales keeps the first arrival; billing allows the default 3 transfers
    clock.now += 30
    assert rt.transfer_call(CALLER, "sales", "back") == "sales"
    assert told[0].variables["transfers"] == "2"
    assert told[0].variables["previous_agents"] == "Becky, Nikos"
    assert rt.caller(CALLER).arrival < clock.now


def next_agent(rt, clock):
    clock.now += 60  # past everyone's wrap-up (10 s)
    rt.step()


def test_over_the_cap_the_call_goes_to_over_cap():
    rt, told, inbound, clock = bridged()
    rt.transfer_call(CALLER, "billing", "one")
    next_agent(rt, clock)
    told.clear()
    rt.transfer_call(CALLER, "sales", "two")  # billing: cap 3, so far 1
    next_agent(rt, clock)
    told.clear()
    assert rt.transfer_call(CALLER, "billing", "three") == "supervisor"  # sales: cap 1, so far 2
    assert told[0].queue == "supervisor"


def test_a_refused_transfer_changes_nothing():
    rt, told, inbound, clock = bridged()
    with pytest.raises(TransferRefused, match="no queue 'nowhere'"):
        rt.transfer_call(CALLER, "nowhere")
    with pytest.raises(TransferRefused, match="is not talking to an agent"):
        rt.transfer_call("another-call", "billing")
    with pytest.raises(TransferRefused, match="the note has 201 characters; at most 200"):
        rt.transfer_call(CALLER, "billing", "x" * 201)
    assert told == [] and rt.acd.agent_status("1001").state is AgentState.ON_CALL
    assert not any(c.startswith("uuid_kill") for c in inbound.apis())


def test_over_the_cap_without_over_cap_is_refused():
    rt, told, inbound, clock = bridged()
    plan = compile_source(RULES.replace("max_transfers: 1,\n               over_cap: {queue: supervisor},",
                                        "max_transfers: 1,"))
    rt.plan = plan
    rt.transfer_call(CALLER, "billing")
    next_agent(rt, clock)
    rt.transfer_call(CALLER, "sales")  # from billing: allowed
    next_agent(rt, clock)
    told.clear()
    with pytest.raises(TransferRefused, match=r"transferred 2 times already \(max_transfers 1\)"):
        rt.transfer_call(CALLER, "billing")
    assert told == []


def test_a_queue_nobody_serves_refuses_the_transferred_caller():
    rt, told, inbound, clock = bridged()
    rt.transfer_call(CALLER, "nobody")
    assert told == [Transferring("nobody", told[0].variables), NoAgents("nobody")]


def test_an_unknown_code_or_leg_does_nothing():
    rt, told, inbound, clock = bridged()
    for leg, code in ((becky_leg(inbound), "7"), ("someone-else", "1")):
        rt.on_event(Event({"Event-Name": "CHANNEL_APPLICATION", "Unique-ID": leg, "Fsrouter-Transfer": code}))
    assert told == [] and rt.acd.agent_status("1001").state is AgentState.ON_CALL


def test_a_hostile_note_cannot_add_an_application_to_the_next_agents_leg():
    rt, told, inbound, clock = bridged()
    rt.transfer_call(CALLER, "billing", "refund',hangup:x ${evil} \n,park")
    rt.step()
    originate = inbound.commands[-2][1]
    apps = originate.split("'")[1].split(",")
    assert [a.split(":")[0] for a in apps] == ["bind_meta_app", "speak", "park"], originate
    assert "${" not in originate and "\n" not in originate


def test_an_attended_transfer_keeps_the_first_agent_until_the_next_bridge_then_drops_them():
    rt, told, inbound, clock = bridged()
    rt.spawn = gevent.spawn  # the first agent's call is followed in a greenlet of its own
    becky = becky_leg(inbound)
    assert rt.transfer_call(CALLER, "billing", "refund", attended=True) == "billing"
    gevent.sleep(0)
    assert told == [AttendedTransfer("billing", told[0].variables)]
    assert not any(c.startswith("uuid_kill") for c in inbound.apis())  # Becky stays on
    assert rt.acd.agent_status("1001").state is AgentState.ON_CALL
    assert becky in rt.owned_legs()
    rt.step()  # Nikos answers: the caller is bridged to him, and Becky dropped
    assert told[1:] == [Bridging("1002"), Bridged("1002")]
    assert inbound.apis()[-1] == f"uuid_kill {becky} ORIGINATOR_CANCEL"
    rt.on_event(Event({"Event-Name": "CHANNEL_HANGUP_COMPLETE", "Unique-ID": becky}))
    gevent.sleep(0)
    assert rt.acd.agent_status("1001").state is AgentState.WRAP_UP
    assert becky not in rt.owned_legs()


def test_the_first_agent_hanging_up_during_an_attended_transfer_ends_their_call_only():
    rt, told, inbound, clock = bridged(login=("1001",))  # nobody in billing yet
    rt.spawn = gevent.spawn
    rt.transfer_call(CALLER, "billing", "refund", attended=True)
    gevent.sleep(0)
    rt.on_event(Event({"Event-Name": "CHANNEL_HANGUP_COMPLETE", "Unique-ID": becky_leg(inbound)}))
    gevent.sleep(0)
    assert rt.acd.agent_status("1001").state is AgentState.WRAP_UP
    assert rt.acd.has_entry(CALLER)  # the caller waits in billing


def test_the_caller_leaving_during_an_attended_transfer_drops_the_first_agent():
    rt, told, inbound, clock = bridged(login=("1001",))
    rt.spawn = gevent.spawn
    rt.transfer_call(CALLER, "billing", "refund", attended=True)
    rt.hang_up(CALLER)
    assert inbound.apis()[-1] == f"uuid_kill {becky_leg(inbound)} ORIGINATOR_CANCEL"
    assert not rt.acd.has_entry(CALLER)


def test_the_transfer_preamble_is_in_the_next_agents_language_when_the_queue_has_no_whisper():
    rules = RULES.replace('    whisper: "{queue}"\n', "").replace(
        '"1002": {name: Nikos, dial: user/1002,', '"1002": {name: Nikos, language: ru, dial: user/1002,')
    inbound = FakeInbound(*["+OK\n"] * 6)
    rt = QueueRuntime(compile_source(rules), inbound, clock=Clock(), instance="fsr-1", spawn=lambda f, *a: f(*a),
                      tts={"default": "flite|kal", "ru": "tts_commandline|ru"})
    rt.spawn = lambda f, *a: f(*a)
    inbound.on_event = rt.on_event
    for agent in ("1001", "1002"):
        rt.set_agent_state(agent, AgentState.AVAILABLE)
    assert rt.join(CALLER, "sales", {"language": "en"}, lambda message: None)
    rt.step()
    assert rt.transfer_call(CALLER, "billing", "wants a refund") == "billing"
    rt.step()
    originate = inbound.commands[-2][1]
    assert "user/1002" in originate and "speak:tts_commandline|ru|перевод от supervisor: wants a refund." in originate
