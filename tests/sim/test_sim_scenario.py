"""Scenarios: the demo file parses, bad files are refused, a run reports each caller's path."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from sim_helpers import FakeRouter, write_wav

from fsrouter.esl.codec import encode_sendmsg, parse_event
from fsrouter.sim import Press, run_scenario
from fsrouter.sim.caller import HangUp
from fsrouter.sim.dist import Distribution
from fsrouter.sim.scenario import ScenarioError, agents, load_scenario, plan

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "fsrouter" / "sim" / "scenarios" / "demo.yaml"
CENTRE = REPO / "fsrouter" / "sim" / "scenarios" / "centre_50x500.yaml"


def test_the_demo_scenario_plans_three_calls():
    calls = plan(load_scenario(DEMO))
    assert [(c.script.destination, c.start) for c in calls] == [("5000", 0.0), ("5001", 1.0), ("5000", 3.0)]
    first = calls[0].script
    assert first.caller_id_number == "+306940000001" and first.caller_id_name == "Demo caller 1"
    assert first.actions == (Press("9", after_prompt="menu/main"),
                             Press("1", after_prompt="menu/main", occurrence=2), HangUp(at=90.0))


@pytest.mark.parametrize("spec, message", [
    ({"call": []}, "a 'calls' list of call groups"),
    ({"calls": [{"destination": "5000", "colour": "red"}]}, "calls[1]: unknown keys ['colour']"),
    ({"calls": [{"keys": [{"press": "x", "at": 1}]}]}, "calls[1].keys[1]: not DTMF keys: 'x'"),
    ({"calls": [{"keys": [{"press": "1"}]}]}, "calls[1].keys[1]: Press needs exactly one of"),
    ({"calls": [{"keys": [{"press": "1", "at": 1, "when": 2}]}]}, "unknown keys ['when']"),
    ({"calls": [{"count": -1}]}, "calls[1].count: expected a number >= 0"),
    ({"calls": [{"patience": {"poisson": 3}}]}, "calls[1].patience: unknown distribution 'poisson'"),
    ({"calls": [{"inter_arrival": {"uniform": 3}}]}, "calls[1].inter_arrival: uniform takes 2 number"),
    ({"calls": [], "agents": [{"first": 1, "skills": {}}]}, "agents[1]: unknown keys ['skills']"),
    ({"calls": [], "agents": [{"endpoint": "user/{m}"}]}, "agents[1]: cannot fill in 'user/{m}'"),
])
def test_bad_scenarios_say_where_and_what(spec, message):
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        plan(spec)
        agents(spec)


def test_the_centre_scenario_plans_poisson_arrivals_and_the_rules_agents():
    spec = load_scenario(CENTRE)
    calls = plan(spec)
    assert len(calls) == 500 and plan(spec) == calls  # seeded: the same plan every time
    assert {c.script.destination for c in calls} == {"5000", "5001"}
    gaps = [b.start - a.start for a, b in zip(calls, calls[1:])]
    assert 3.0 < sum(gaps) / len(gaps) < 5.0  # 0.25 calls/s together
    assert all(c.script.patience == Distribution("exponential", (180.0,)) for c in calls)
    phones = agents(spec)
    assert [p.endpoint for p in phones] == [f"user/{n}" for n in range(2000, 2050)]
    assert phones[0].hang_up_after == Distribution("exponential", (180.0,)) and phones[0].answer_after == 3.0
    rules = yaml.safe_load((REPO / "bench" / "centre" / "rules.yaml").read_text())
    assert sorted(a["dial"] for a in rules["agents"].values()) == [p.endpoint for p in phones]
    assert set(rules["lines"]) == {"5000", "5001"}


def test_distributions_draw_from_the_rng_they_are_given():
    exponential = Distribution.parse({"exponential": 10})
    draws = [exponential(random.Random(seed)) for seed in range(200)]
    assert 7 < sum(draws) / len(draws) < 13 and min(draws) >= 0
    assert Distribution.parse(4) == 4.0
    assert 1 <= Distribution.parse({"uniform": [1, 2]})(random.Random(1)) <= 2
    assert Distribution.parse({"normal": [0, 1]})(random.Random(2)) >= 0  # never negative


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
    assert report.totals == {"placed": 3, "finished": 3, "answered": 3, "bridged": 0, "abandoned": 1,
                             "transferred": 2,
                             "hung_up_by_caller": 1, "hung_up_by_fsrouter": 0, "dialplan_fallback": 0}
    text = report.format()
    assert "wrong key, then 1 | 5000 from +30694000002 | menu/main [9], ivr/invalid" in text
    assert text.endswith("totals: placed 3, finished 3, answered 3, bridged 0, abandoned 1, transferred 2, "
                         "hung up by caller 1, "
                         "hung up by fsrouter 0, dialplan fallback 0")
