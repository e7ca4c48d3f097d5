"""End to end over real sockets: a queue's music as one shared stream,
exit keys, and the recording of the bridged call."""

from __future__ import annotations

import re
from pathlib import Path

from report_cli import report_today

from fsrouter.sim import CallerScript
from fsrouter.sim.agent import AgentScript
from fsrouter.sim.caller import Press
from fsrouter.sim.scenario import prompt_id
from fsrouter.store import open_store

RULES = Path(__file__).parent / "rules" / "media.yaml"
STREAM = "local_stream://moh"
CALL_TIMEOUT = 20


def run_call(fsrouter, **script):
    call = fsrouter.switch.place_call(CallerScript(**script))
    assert call.wait(CALL_TIMEOUT), f"call did not end\n{fsrouter.log_text()}"
    return call


def statistics(fsrouter, entry_id, kind):
    """The rows of `kind` fsrouter stored for one call (waiting for the writer)."""
    def rows():
        with open_store(f"sqlite:///{fsrouter.workdir}/fsrouter.db") as store:
            return [e for e in store.queue_events() if e.entry_id == entry_id and e.kind == kind]
    fsrouter.wait_until(rows, 5, f"no {kind} row stored for {entry_id}")
    return rows()


def test_the_music_is_one_stream_broken_into_by_each_announcement_and_resumed(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    call = run_call(fsrouter, destination="7001")
    playbacks = [run for run in call.esl_apps if run.name == "playback"]
    kinds = "".join("m" if run.arg == STREAM else "a" for run in playbacks)
    announcements = kinds.count("a")
    assert announcements >= 2, kinds
    # One stream per waiting period: before, between and after the announcements,
    # never restarted by itself (a file would have ended and been replayed).
    assert kinds == "ma" * announcements + "m", kinds
    assert all(run.response == "FILE PLAYED" for run in playbacks)  # a broken playback says so too
    breaks = [f for f in call.received_frames() if f.command == f"api uuid_break {call.uuid} all"]
    assert len(breaks) == announcements + 1  # each announcement, then the maximum wait
    assert call.transferred_to == "operator"


def test_a_caller_pressing_an_exit_key_leaves_for_its_destination(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    operator = run_call(fsrouter, destination="7002", actions=[Press("0", after_prompt=STREAM, delay=0.5)])
    heard = [prompt_id(s) for s in operator.sounds]
    assert heard == ["local_stream", "ivr/transfer"], heard
    assert operator.transferred_to == "operator"
    assert statistics(fsrouter, operator.uuid, "exited")[0].fields["key"] == "0"
    voicemail = run_call(fsrouter, destination="7002", actions=[Press("9", after_prompt=STREAM, delay=0.5)])
    assert voicemail.transferred_to == "voicemail"
    assert statistics(fsrouter, voicemail.uuid, "exited")[0].fields["key"] == "9"
    assert "ended in state finished, outcome ('transfer', 'voicemail')" in fsrouter.log_text()


def test_a_recorded_call_sends_record_session_at_the_bridge_and_stores_the_path(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1001", answer_after=0.2, hang_up_after=2))
    call = run_call(fsrouter, destination="7003", caller_id_number="${system(id)}/../7946")
    assert prompt_id(call.sounds[0]) == "recording/notice"  # "this call may be recorded"
    notice = next(run for run in call.esl_apps if run.name == "play_and_get_digits")
    assert notice.end <= call.bridged_at  # said in full before the caller joined the line
    [recording] = call.recordings
    assert re.fullmatch(rf"/var/lib/fsrouter/recordings/\d{{4}}-\d\d-\d\d/recorded/__system_id______7946/{call.uuid}\.wav",
                        recording.path), recording.path
    assert call.bridged_at <= recording.started < recording.stopped <= call.unbridged_at + 0.5
    apps = [(run.name, run.arg) for run in call.esl_apps if "record" in run.name]
    assert apps == [("record_session", recording.path), ("stop_record_session", recording.path)]
    assert statistics(fsrouter, call.uuid, "recorded")[0].fields == {"path": recording.path}
    statistics(fsrouter, call.uuid, "call_ended")
    [record] = report_today(fsrouter, "--calls")  # what a manager finds the recording by
    assert (record["entry_id"], record["outcome"], record["recordings"]) == (call.uuid, "answered", [recording.path])
    day = record["joined"][:10]
    assert fsrouter.api("GET", f"/reports/calls?from={day}&to={day}") == {"calls": [record]}  # the same, served


def test_a_caller_who_opts_out_during_the_notice_or_the_wait_is_not_recorded(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1001", answer_after=4.0, hang_up_after=1))
    for when in ("recording/notice", STREAM):
        call = run_call(fsrouter, destination="7003", actions=[Press("9", after_prompt=when, delay=0.5)])
        assert call.bridged_with is not None, when
        assert call.recordings == [], when
    assert fsrouter.log_text().count("opted out of recording") == 2
