"""End to end over real sockets: a caller the flow sends from one queue to
another (by max wait, an exit key, or nobody left to serve the first) is
moved in the ACD too, and the next queue's agent answers them."""

from __future__ import annotations

from pathlib import Path

from fsrouter.sim import CallerScript
from fsrouter.sim.agent import AgentScript
from fsrouter.sim.caller import Press
from fsrouter.store import open_store

RULES = Path(__file__).parent / "rules" / "requeue.yaml"
STREAM = "local_stream://moh"
CALL_TIMEOUT = 20


def rows(fsrouter, call, count: int) -> list[tuple]:
    """(kind, queue, fields) of the call's statistics, once `count` are stored."""
    def read():
        with open_store(f"sqlite:///{fsrouter.workdir}/fsrouter.db") as store:
            return [(e.kind, e.queue, e.fields) for e in store.queue_events() if e.entry_id == call.uuid]
    fsrouter.wait_until(lambda: len(read()) >= count, 5, f"fewer than {count} rows for {call.uuid}: {read()}")
    return read()


def answered_by_gina(fsrouter, **script):
    fsrouter.switch.add_agent(AgentScript(endpoint="user/2001", answer_after=0.2, hang_up_after=1))
    call = fsrouter.switch.place_call(CallerScript(**script))
    assert call.wait(CALL_TIMEOUT), f"call did not end\n{fsrouter.log_text()}"
    assert call.bridged_with is not None, fsrouter.log_text()
    assert fsrouter.switch.agent_call(call.bridged_with).endpoint == "user/2001"
    return call


def test_the_max_wait_sends_the_caller_to_another_queue_whose_agent_answers(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    call = answered_by_gina(fsrouter, destination="7101")
    stored = rows(fsrouter, call, 5)
    assert [(kind, queue) for kind, queue, _ in stored[:4]] == [
        ("offered", "unserved"), (stored[1][0], "unserved"), ("offered", "general"), ("answered", "general")]
    # The flow's timer and the ACD's run out together: either says why the caller left.
    left, _, fields = stored[1]
    assert (left, fields.get("reason", "max_wait")) in {("removed", "max_wait"), ("timed_out", "max_wait")}, stored


def test_an_exit_key_to_another_queue_leaves_the_first_with_an_exited_row(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    call = answered_by_gina(fsrouter, destination="7102", actions=[Press("0", after_prompt=STREAM, delay=0.5)])
    stored = rows(fsrouter, call, 5)
    assert [(kind, queue) for kind, queue, _ in stored[:4]] == [
        ("offered", "with_exit"), ("exited", "with_exit"), ("offered", "general"), ("answered", "general")]
    assert stored[1][2]["key"] == "0"


def test_nobody_left_to_serve_sends_the_caller_to_the_no_agents_queue(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    # Eli is logged in (so the caller joins), but never answers; he logs out meanwhile.
    fsrouter.switch.add_agent(AgentScript(endpoint="user/2002", answer_after=None))
    fsrouter.switch.add_agent(AgentScript(endpoint="user/2001", answer_after=0.2, hang_up_after=1))
    call = fsrouter.switch.place_call(CallerScript(destination="7103"))
    fsrouter.wait_until(lambda: any(e == "offered" for e, _, _ in rows(fsrouter, call, 1)), 5, "not queued")
    fsrouter.api("POST", "/agents/2002/logout")
    assert call.wait(CALL_TIMEOUT), f"call did not end\n{fsrouter.log_text()}"
    assert fsrouter.switch.agent_call(call.bridged_with).endpoint == "user/2001", fsrouter.log_text()
    kinds = [(kind, queue) for kind, queue, _ in rows(fsrouter, call, 5) if kind != "agent_missed"]
    assert kinds[:4] == [("offered", "emptying"), ("left_empty", "emptying"), ("offered", "general"),
                         ("answered", "general")], kinds
