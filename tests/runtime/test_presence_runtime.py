"""QueueRuntime.on_connected and unregistered phones, over a fake inbound client.

Every time the inbound connection comes up the runtime reads the switch's
registrations and hangs up the legs it marked that no call owns, and nobody
is dialled until both are done; an originate refused USER_NOT_REGISTERED
makes the agent unreachable until their phone registers.
"""

import json

import gevent
import pytest
from runtime_fakes import RULES, Clock, FakeInbound, channels, registrations, sofia

from fsrouter.acd import AgentState
from fsrouter.config import load_config
from fsrouter.offer.messages import Bridged, NoAgents
from fsrouter.runtime.agent_presence import REGISTRATIONS
from fsrouter.runtime.orphan_legs import listing
from fsrouter.runtime.queue_runtime import QueueRuntime
from fsrouter.rules import RulesError
from fsrouter.rules.compiler import compile_source

CALLER = "caller-uuid-1"
VARS = {"caller_id_number": "+306971234567", "language": "en"}
INSTANCE = "fsr-1"
LISTING = listing(INSTANCE)
NO_LEGS = '{"row_count": 0}\n'


@pytest.fixture
def plan():
    return compile_source(RULES)


def runtime(plan, inbound, login=("1001", "1002")):
    rt = QueueRuntime(plan, inbound, clock=Clock(), spawn=lambda f, *a: f(*a), instance=INSTANCE)
    inbound.on_event = rt.on_event
    for agent in login:
        rt.set_agent_state(agent, AgentState.AVAILABLE)
    return rt


def offered(rt):
    return [offer.agent_id for offer in rt.step()]


def test_only_agents_whose_phones_are_registered_are_offered_calls(plan):
    inbound = FakeInbound("+OK\n")
    inbound.api_results = {REGISTRATIONS: registrations("1002"), LISTING: NO_LEGS}
    rt = runtime(plan, inbound)
    rt.on_connected()
    assert not rt.acd.agent_status("1001").reachable
    rt.join(CALLER, "support", VARS, lambda m: None)
    assert offered(rt) == ["1002"]


def test_nobody_registered_means_nobody_staffs_the_queue(plan):
    inbound = FakeInbound()
    inbound.api_results = {REGISTRATIONS: registrations(), LISTING: NO_LEGS}
    rt = runtime(plan, inbound)
    rt.on_connected()
    rt.join(CALLER, "support", VARS, lambda m: None)
    assert rt.status(CALLER).staffed is False  # so no callback is offered
    assert offered(rt) == [] and inbound.commands[-1][1] == LISTING


def test_nobody_is_dialled_until_the_switch_has_been_read(plan):
    rt = None
    during = []

    def registrations_meanwhile():
        during.append(offered(rt))
        return registrations("1001", "1002")

    inbound = FakeInbound("+OK\n")
    inbound.api_results = {REGISTRATIONS: registrations_meanwhile, LISTING: NO_LEGS}
    rt = runtime(plan, inbound)
    rt.join(CALLER, "support", VARS, lambda m: None)
    rt.on_connected()
    assert during == [[]]
    assert offered(rt) == ["1001"]


@pytest.mark.parametrize("reloaded", [False, True])
def test_a_registration_heard_while_the_answer_is_on_its_way_is_not_undone(plan, reloaded):
    rt = None

    def registered_meanwhile():
        if reloaded:  # the presence the read began with is replaced
            rt.reconfigure(compile_source(RULES.replace("name: Alice", "name: Alicia")))
        rt.on_event(sofia("sofia::register", "1001"))
        return registrations()  # asked before 1001 registered

    inbound = FakeInbound()
    inbound.api_results = {REGISTRATIONS: registered_meanwhile, LISTING: NO_LEGS}
    rt = runtime(plan, inbound)
    rt.on_connected()
    assert rt.acd.agent_status("1001").reachable and not rt.acd.agent_status("1002").reachable


def test_without_the_registrations_the_sofia_events_still_count_and_calls_are_dialled(plan, caplog):
    inbound = FakeInbound("+OK\n")
    inbound.api_errors = {"show": "-ERR SQL disabled, no data available!\n"}
    rt = runtime(plan, inbound)
    rt.on_event(sofia("sofia::unregister", "1001"))
    rt.on_connected()
    assert "could not read the registrations" in caplog.text and "none hung up" in caplog.text
    rt.join(CALLER, "support", VARS, lambda m: None)
    assert offered(rt) == ["1002"]


def test_legs_this_fsrouter_marked_and_no_call_owns_are_hung_up(plan):
    inbound = FakeInbound("+OK\n")
    rt = runtime(plan, inbound)
    rt.join(CALLER, "support", VARS, lambda m: None)
    rt.step()  # the caller is bridged: its agent leg is owned
    agent_leg = rt.owned_legs().pop()
    inbound.api_results = {REGISTRATIONS: registrations("1001", "1002"), LISTING: channels(
        ("left-parked", f"fsrouter:agent:{INSTANCE}"), (agent_leg, f"fsrouter:agent:{INSTANCE}"),
        ("customer", f"fsrouter:customer:{INSTANCE}"), ("not-ours", "fsrouter:agent:fsr-2"))}
    rt.on_connected()
    kills = [cmd for cmd in inbound.apis() if cmd.startswith("uuid_kill")]
    assert kills == ["uuid_kill left-parked ORIGINATOR_CANCEL", "uuid_kill customer ORIGINATOR_CANCEL"]


@pytest.mark.parametrize("cause", ["USER_NOT_REGISTERED", "SUBSCRIBER_ABSENT"])
def test_an_unregistered_phone_is_unreachable_until_it_registers(plan, cause):
    inbound = FakeInbound(f"-ERR {cause}\n", "+OK\n")
    told = []
    rt = runtime(plan, inbound)
    rt.join(CALLER, "support", VARS, told.append)
    assert offered(rt) == ["1001"]
    assert not rt.acd.agent_status("1001").reachable
    assert offered(rt) == ["1002"]  # the caller kept their place and reached the next agent
    assert told[-1] == Bridged("1002")
    rt.on_event(sofia("sofia::register", "1001"))
    assert rt.acd.agent_status("1001").reachable


def test_the_last_registered_agent_gone_sends_callers_to_no_agents(plan):
    rules = RULES.replace('"1002": {name: Bob, dial: user/1002, skills: {support: 5}}',
                          '"1002": {name: Bob, dial: user/1002, skills: {sales: 5}}')
    inbound = FakeInbound("-ERR USER_NOT_REGISTERED\n")
    told = []
    rt = runtime(compile_source(rules), inbound)
    assert rt.join(CALLER, "sales", VARS, told.append)
    assert offered(rt) == ["1002"]
    assert told == [NoAgents("sales")]
    assert not rt.join("next-caller", "sales", VARS, told.append)  # refused at once


def test_other_failures_leave_the_agent_reachable(plan):
    inbound = FakeInbound("-ERR NO_ANSWER\n")
    rt = runtime(plan, inbound, login=("1001",))
    rt.join(CALLER, "support", VARS, lambda m: None)
    offered(rt)
    assert rt.acd.agent_status("1001").reachable


def test_a_gateway_agent_is_not_made_unreachable_by_a_refusal(plan):
    rules = RULES.replace("dial: user/1001", "dial: sofia/gateway/pbx/1001")
    inbound = FakeInbound("-ERR USER_NOT_REGISTERED\n")
    inbound.api_results = {REGISTRATIONS: json.dumps({"row_count": 0}), LISTING: NO_LEGS}
    rt = runtime(compile_source(rules), inbound, login=("1001",))
    rt.on_connected()  # no registration needed: still reachable
    rt.join(CALLER, "support", VARS, lambda m: None)
    offered(rt)
    assert rt.acd.agent_status("1001").reachable  # nothing would ever make it reachable again


def test_the_instance_marking_the_legs_is_configured_by_name(tmp_path):
    config = tmp_path / "fsrouter.yaml"
    config.write_text("freeswitch:\n  instance: fsrouter-a\n")
    assert load_config(config).instance == "fsrouter-a"
    config.write_text("freeswitch:\n  tts: flite|kal\n")
    assert load_config(config).instance is None  # QueueRuntime then uses the host name
    config.write_text("freeswitch:\n  instance: \"a b'%\"\n")
    with pytest.raises(RulesError) as raised:
        load_config(config)
    [problem] = raised.value.problems
    assert "fsrouter.yaml:2:" in str(problem) and "freeswitch.instance" in str(problem)


# -- reloads -------------------------------------------------------------------


def test_an_agent_reloaded_onto_a_gateway_is_reachable_though_their_old_phone_was_not(plan):
    inbound = FakeInbound()
    inbound.api_results = {REGISTRATIONS: registrations("1002"), LISTING: NO_LEGS}
    rt = runtime(plan, inbound)
    rt.on_connected()
    assert not rt.acd.agent_status("1001").reachable
    rt.reconfigure(compile_source(RULES.replace("dial: user/1001", "dial: sofia/gateway/gw/1001")))
    gevent.sleep(0)  # acted on once the reload is swapped in
    assert rt.acd.agent_status("1001").reachable  # no registration to wait for, ever


def test_an_agent_reloaded_onto_another_phone_is_reachable_once_the_switch_says_it_is_registered(plan):
    inbound = FakeInbound()
    inbound.api_results = {REGISTRATIONS: registrations("1002"), LISTING: NO_LEGS}
    rt = runtime(plan, inbound)
    rt.on_connected()
    inbound.api_results[REGISTRATIONS] = registrations("1002", "2001")
    rt.reconfigure(compile_source(RULES.replace("dial: user/1001", "dial: user/2001")))
    gevent.sleep(0.01)  # the registrations are read in a greenlet of their own
    assert rt.acd.agent_status("1001").reachable
    assert inbound.apis().count(REGISTRATIONS) == 2


def test_a_reloads_registrations_read_ending_first_does_not_let_anyone_be_dialled_during_the_sweep(plan):
    rt = None
    during = []

    def listing_while_reloaded():
        rt.reconfigure(compile_source(RULES + '  "1003": {name: Cy, dial: user/1003, skills: {sales: 5}}\n'))
        gevent.sleep(0.01)  # the reload's registrations read runs and ends
        during.append(offered(rt))
        return NO_LEGS

    inbound = FakeInbound("+OK\n", "+OK\n")
    inbound.api_results = {REGISTRATIONS: registrations("1001", "1002"), LISTING: listing_while_reloaded}
    rt = runtime(plan, inbound)
    rt.join(CALLER, "support", VARS, lambda m: None)
    rt.on_connected()
    assert inbound.apis().count(REGISTRATIONS) == 2
    assert during == [[]]  # the orphaned legs were not hung up yet
    assert offered(rt) == ["1001"]
