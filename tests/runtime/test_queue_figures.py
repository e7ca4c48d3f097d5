"""Live per-queue figures over a queue runtime: callers by position with
their number and wait, agents counted by group, EWT, the JSON the API sends."""

import pytest
from runtime_fakes import RULES, Clock, FakeInbound

from fsrouter.acd import AgentState, UnknownQueue
from fsrouter.rules.compiler import compile_source
from fsrouter.runtime.queue_figures import AGENT_GROUPS, all_queues, one_queue
from fsrouter.runtime.queue_runtime import QueueRuntime


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def runtime(clock):
    inbound = FakeInbound("+OK agent-leg\n")
    rt = QueueRuntime(compile_source(RULES), inbound, clock=clock, instance="fsr-1", spawn=lambda f, *a: f(*a))
    inbound.on_event = rt.on_event
    return rt


def join(rt, uuid, number, queue="support"):
    assert rt.join(uuid, queue, {"caller_id_number": number}, lambda message: None)


def test_waiting_callers_by_position_with_number_and_wait(runtime, clock):
    join(runtime, "call-a", "+306971111111")
    clock.now += 30
    join(runtime, "call-b", "+306972222222")
    clock.now += 15
    figures = one_queue(runtime, "support")
    assert [(c.id, c.caller, c.position, c.waited, c.ringing) for c in figures.callers] == [
        ("call-a", "+306971111111", 1, 45.0, False), ("call-b", "+306972222222", 2, 15.0, False)]
    assert (figures.waiting, figures.ringing, figures.longest_wait) == (2, 0, 45.0)
    assert figures.ewt is None  # no handle time known yet: nothing sound to say


def test_agents_counted_by_group_each_group_present(runtime):
    runtime.set_agent_state("1001", AgentState.AVAILABLE)
    runtime.set_agent_state("1002", AgentState.PAUSED, "lunch")
    figures = one_queue(runtime, "support")
    assert figures.agents == {"available": 1, "on_call": 0, "wrap_up": 0, "paused": 1, "logged_out": 0}
    assert list(figures.agents) == list(AGENT_GROUPS)
    assert [(a.id, a.name, a.group, a.reason) for a in figures.agent_list] == [
        ("1001", "Alice", "available", ""), ("1002", "Bob", "paused", "lunch")]
    assert figures.serving_agents == 1
    assert one_queue(runtime, "sales").agents["available"] == 0  # nobody has the sales skill


def test_a_bridged_caller_leaves_the_line_and_its_agent_is_on_a_call_then_wraps_up(runtime):
    runtime.set_agent_state("1001", AgentState.AVAILABLE)
    join(runtime, "call-a", "+306971111111")
    runtime.step()  # offered, answered, bridged (inline)
    figures = one_queue(runtime, "support")
    assert figures.callers == () and figures.waiting == 0
    assert figures.agents["on_call"] == 1
    runtime.hang_up("call-a")
    assert one_queue(runtime, "support").agents["wrap_up"] == 1


def test_every_queue_in_the_rules_order_and_counts_only_json(runtime):
    join(runtime, "call-a", "+306971111111", "billing")
    board = all_queues(runtime)
    assert [f.queue for f in board] == ["support", "sales", "billing"]
    billing = board[2].to_json(details=False)
    assert billing == {"queue": "billing", "waiting": 1, "ringing": 0, "longest_wait": 0.0, "serving_agents": 0,
                       "agents": {"available": 0, "on_call": 0, "wrap_up": 0, "paused": 0, "logged_out": 2},
                       "ewt": None, "ewt_phrase": None}
    assert board[2].callers == ()
    detailed = one_queue(runtime, "billing").to_json()
    assert detailed["callers"] == [{"id": "call-a", "caller": "+306971111111", "position": 1, "waited": 0.0,
                                    "ringing": False, "callback": False, "ewt": None, "ewt_phrase": None}]
    assert [a["id"] for a in detailed["agent_list"]] == ["1001", "1002"]


def test_an_unknown_queue_is_said(runtime):
    with pytest.raises(UnknownQueue):
        one_queue(runtime, "nope")
