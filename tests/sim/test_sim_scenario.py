"""Scenarios: the demo file parses, bad files are refused, a run reports each caller's path."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_helpers import FakeRouter, write_wav

from fsrouter.esl.codec import encode_sendmsg, parse_event
from fsrouter.sim import Press, run_scenario
from fsrouter.sim.caller import HangUp
from fsrouter.sim.scenario import ScenarioError, load_scenario, plan

DEMO = Path(__file__).resolve().parents[2] / "fsrouter" / "sim" / "scenarios" / "demo.yaml"


def test_the_demo_scenario_plans_three_calls():
    calls = plan(load_scenario(DEMO))
    assert [(c.script.destination, c.start) for c in calls] == [("5000", 0.0), ("5001", 1.0), ("5000", 3.0)]
    first = calls[0].script
    assert first.caller_id_number == "+306940000001" and first.caller_id_name == "Demo caller 1"
    assert first.actions == (Press("9", after_prompt="menu/main"),
                             Press("1", after_prompt="menu/main", occurrence=2), HangUp(at=90.0))


@pytest.mark.parametrize("spec, message", [
    ({"call": []}, "one key, 'calls'"),
    ({"calls": [{"destination": "5000", "colour": "red"}]}, "calls[1]: unknown keys ['colour']"),
    ({"calls": [{"keys": [{"press": "x", "at": 1}]}]}, "calls[1].keys[1]: not DTMF keys: 'x'"),
    ({"calls": [{"keys": [{"press": "1"}]}]}, "calls[1].keys[1]: Press needs exactly one of"),
    ({"calls": [{"keys": [{"press": "1", "at": 1, "when": 2}]}]}, "unknown keys ['when']"),
    ({"calls": [{"count": -1}]}, "calls[1].count: expected a number >= 0"),
])
def test_bad_scenarios_say_where_and_what(spec, message):
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        plan(spec)


def toy_router(sounds: Path):
    """A minimal stand-in for fsrouter: a menu, one retry after a wrong key, "1" transfers."""
    def ended(frame) -> bool:
        return frame.content_type == "text/disconnect-notice"

    def collected(frame) -> bool:
        return ended(frame) or (frame.content_type == "text/event-plain" and parse_event(frame).name ==
                                "CHANNEL_EXECUTE_COMPLETE" and parse_event(frame).get("Application") ==
                                "play_and_get_digits")

    def handler(peer):
        peer.command("connect")
        for line in ("linger", "myevents"):
            peer.command(line)
        peer.send(encode_sendmsg("answer", event_lock=True))
        for _ in range(2):
            arg = f"1 1 1 2000 # {sounds}/en/menu/main.wav silence_stream://100 choice \\d"
            peer.send(encode_sendmsg("play_and_get_digits", arg, event_lock=True))
            frame = peer.until(collected)
            if ended(frame):
                break
            if parse_event(frame).get("variable_choice") == "1":
                peer.send(encode_sendmsg("transfer", "billing XML default", event_lock=True))
                peer.until(ended)
                break
            peer.send(encode_sendmsg("playback", f"{sounds}/en/ivr/invalid.wav", event_lock=True))
        peer.close()
    return handler


def test_run_scenario_reports_each_callers_path(tmp_path):
    write_wav(tmp_path / "en/menu/8000/main.wav", 2.0)
    write_wav(tmp_path / "en/ivr/8000/invalid.wav", 1.0)
    router = FakeRouter(toy_router(tmp_path))
    spec = {"calls": [
        {"name": "wrong key, then 1", "destination": "5000", "caller_id_number": "+3069400000{n}", "count": 2,
         "inter_arrival": 1, "hang_up_after": 60,
         "keys": [{"press": "9", "after_prompt": "menu/main"},
                  {"press": "1", "after_prompt": "menu/main", "occurrence": 2}]},
        {"name": "gives up", "destination": "5001", "start_after": 0.5, "hang_up_after": 1},
    ]}
    report = run_scenario(spec, router.address, time_scale=0.05, timeout=10)
    router.check()

    assert [c.group for c in report.calls] == ["wrong key, then 1", "gives up", "wrong key, then 1"]
    first = report.calls[0]
    assert first.path == ["menu/main [9]", "ivr/invalid", "menu/main [1]", "-> transfer billing XML default"]
    assert (first.transferred_to, first.hung_up_by, first.continued_dialplan) == ("billing", "switch", False)
    assert report.calls[1].hung_up_by == "caller" and report.calls[1].path == ["menu/main"]
    assert report.totals == {"placed": 3, "finished": 3, "answered": 3, "transferred": 2,
                             "hung_up_by_caller": 1, "hung_up_by_fsrouter": 0, "dialplan_fallback": 0}
    text = report.format()
    assert "wrong key, then 1 | 5000 from +30694000002 | menu/main [9], ivr/invalid" in text
    assert text.endswith("totals: placed 3, finished 3, answered 3, transferred 2, hung up by caller 1, "
                         "hung up by fsrouter 0, dialplan fallback 0")
