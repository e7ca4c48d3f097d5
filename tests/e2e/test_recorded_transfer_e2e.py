"""End to end over real sockets: a recorded call transferred by its agent.
The caller hears the recording notice once, waits in the next queue as
usual, each bridge is recorded into a file of its own, and a caller who
opted out is recorded in neither."""

from __future__ import annotations

from pathlib import Path

from fsrouter.sim import CallerScript, Press
from fsrouter.sim.agent import AgentScript
from fsrouter.sim.scenario import prompt_id
from fsrouter.store import open_store

RULES = Path(__file__).parent / "rules" / "recorded_transfer.yaml"
CALL_TIMEOUT = 20


def transferred_call(fsrouter, actions=()):
    """Becky answers, keys *1; Nikos answers the transferred caller and hangs up."""
    fsrouter.switch.add_agent(AgentScript(endpoint="user/3001", answer_after=0.5, press=[Press(at=20, keys="*1")]))
    fsrouter.switch.add_agent(AgentScript(endpoint="user/3002", answer_after=0.5, hang_up_after=20))
    call = fsrouter.switch.place_call(CallerScript(destination="7201", actions=list(actions)))
    assert call.wait(CALL_TIMEOUT), f"call did not end\n{fsrouter.log_text()}"
    nikos = next(c for c in fsrouter.switch.agent_calls if c.endpoint == "user/3002" and c.answered_at)
    assert call.bridged_with == nikos.uuid, fsrouter.log_text()
    return call


def test_a_recorded_call_transferred_hears_the_notice_once_and_each_bridge_has_its_own_file(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    call = transferred_call(fsrouter)
    heard = [prompt_id(s) for s in call.sounds]
    assert heard.count("recording/notice") == 1 and heard.count("queue/transfer") == 1, heard
    first = f"/var/lib/fsrouter/recordings/{call.uuid}.wav"
    second = f"/var/lib/fsrouter/recordings/{call.uuid}-2.wav"
    assert [r.path for r in call.recordings] == [first, second]
    assert all(r.stopped is not None for r in call.recordings)

    def stored():
        with open_store(f"sqlite:///{fsrouter.workdir}/fsrouter.db") as store:
            return [e.fields["path"] for e in store.queue_events(kind="recorded") if e.entry_id == call.uuid]
    fsrouter.wait_until(lambda: len(stored()) == 2, 5, "the recordings were not stored")
    assert stored() == [first, second]


def test_a_caller_who_opted_out_is_not_recorded_after_the_transfer_either(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    call = transferred_call(fsrouter, actions=[Press("9", after_prompt="recording/notice", delay=0.5)])
    heard = [prompt_id(s) for s in call.sounds]
    after = heard[heard.index("queue/transfer"):]
    assert "recording/notice" not in after and "local_stream" in after, heard  # waited to music, not asked again
    assert call.recordings == []
