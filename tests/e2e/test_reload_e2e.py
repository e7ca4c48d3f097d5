"""End to end: SIGHUP reloads over real sockets.

A reload that fails, for whatever reason, is refused and logged with its
positions while calls go on; one that succeeds changes queues, agents and
skills for the next offer.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from fsrouter.sim import CallerScript, Press
from fsrouter.sim.agent import AgentScript

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/bad_rules.py
from bad_rules import E2E_RULES, EDITS, bad_rules  # noqa: E402

CALL_TIMEOUT = 30
KEPT = "reload refused: the running plan stays in force"
RELOADED = "rules reloaded from"


def answering(fsrouter, *extensions, talk=4.0):
    """Simulated agents who answer at once and hang up after `talk` sim seconds."""
    for extension in extensions:
        fsrouter.switch.add_agent(AgentScript(endpoint=f"user/{extension}", answer_after=0.1,
                                              hang_up_after=talk))


def reload(fsrouter, text, outcome, count=1):
    """Write the rules, SIGHUP, and wait until the log shows `outcome` `count` times."""
    fsrouter.rules.write_text(text)
    fsrouter.proc.send_signal(signal.SIGHUP)
    fsrouter.wait_until(lambda: fsrouter.log_text().count(outcome) >= count, 20, f"no {outcome!r} in the log")


def bridged_agent(fsrouter, call) -> str:
    assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    assert call.bridged_with is not None, fsrouter.log_text()
    return fsrouter.switch.agent_call(call.bridged_with).endpoint


def test_bad_reloads_during_a_call_keep_the_service_and_the_call(fsrouter):
    answering(fsrouter, "1003", talk=300)  # 15 s at test speed: the reloads happen mid-call
    call = fsrouter.switch.place_call(CallerScript(destination="5002"))
    fsrouter.wait_until(lambda: call.bridged_with is not None, 10, "the call was not bridged")
    good = fsrouter.rules.read_text()
    for count, name in enumerate(sorted(EDITS), 1):
        reload(fsrouter, bad_rules(name), KEPT, count)
        assert fsrouter.proc.poll() is None, f"{name}: fsrouter exited"
    assert call.ended_at is None, "the call in progress was dropped"
    refusals = [line.partition("reload refused: ")[2] for line in fsrouter.log_text().splitlines()
                if "reload refused: " in line and KEPT not in line]
    assert len(refusals) >= len(EDITS)
    assert all(line.startswith(f"{fsrouter.rules}") and ": error: " in line for line in refusals), refusals
    assert any(line.startswith(f"{fsrouter.rules}:") for line in refusals)  # line:col where known
    assert call.wait(CALL_TIMEOUT)
    assert call.hung_up_by is not None and call.transferred_to is None
    fsrouter.wait_until(lambda: f"call {call.uuid} ended in state finished, outcome ('answered'" in
                        fsrouter.log_text(), 5, "the call did not end as answered")
    # The running plan still serves new calls, and a good file still reloads.
    menu = fsrouter.switch.place_call(CallerScript(destination="5000", actions=[Press("0", after_prompt="menu/main")]))
    assert menu.wait(CALL_TIMEOUT) and menu.transferred_to.startswith("operator")
    reload(fsrouter, good, RELOADED)
    assert "Traceback" not in fsrouter.log_text()


def test_a_reload_of_required_and_agent_skills_picks_the_next_offers_agent(fsrouter):
    answering(fsrouter, "2001", "2002", "2003")
    # most_skilled over billing and greek: Fay (7 + 8) before Eli (5 + 3).
    assert bridged_agent(fsrouter, fsrouter.switch.place_call(CallerScript(destination="5003"))) == "user/2003"
    text = fsrouter.rules.read_text()
    text = text.replace("require: {billing: 5, greek: 3}", "require: {billing: 5, spanish: 2}")
    text = text.replace("user/2002, skills: {billing: 5, greek: 3}",
                        "user/2002, skills: {billing: 5, greek: 3, spanish: 4}")
    reload(fsrouter, text, RELOADED)
    # Only Eli speaks Spanish now.
    assert bridged_agent(fsrouter, fsrouter.switch.place_call(CallerScript(destination="5003"))) == "user/2002"


def test_a_reload_adds_a_line_a_queue_and_an_agent(fsrouter):
    answering(fsrouter, "4001")
    text = fsrouter.rules.read_text()
    text = text.replace('lines:\n', 'lines:\n  "5009": {brand: acme, language: en, flow: added}\n')
    text = text.replace("flows:\n", "flows:\n  added:\n    - queue: added\n")
    text = text.replace("queues:\n", "queues:\n  added:\n    require: {added: 1}\n"
                                     "    max_wait: {after: 10s, then: {transfer: operator}}\n")
    text = text.replace("agents:\n", 'agents:\n  "4001": {name: Lu, dial: user/4001, skills: {added: 5}}\n')
    reload(fsrouter, text, RELOADED)
    assert bridged_agent(fsrouter, fsrouter.switch.place_call(CallerScript(destination="5009"))) == "user/4001"


def test_a_call_in_progress_finishes_on_the_plan_it_started_with(start_fsrouter, tmp_path):
    rules = tmp_path / "slow_support.yaml"
    rules.write_text(E2E_RULES.read_text()
                     .replace("max_wait: {after: 2s, then: [{play: queue/max_wait}, {transfer: operator}]}",
                              "max_wait: {after: 6s, then: [{play: queue/max_wait}, {transfer: operator}]}"))
    fsrouter = start_fsrouter(rules=rules)
    waiting = fsrouter.switch.place_call(CallerScript(destination="5001"))  # nobody serves: it waits 6 s
    fsrouter.wait_until(lambda: f"call {waiting.uuid}: joined queue support" in fsrouter.log_text(), 10,
                        "the call did not queue")
    reload(fsrouter, fsrouter.rules.read_text().replace("{transfer: operator}]}", "{transfer: backoffice}]}"),
           RELOADED)
    assert waiting.ended_at is None, "the call ended before the reload"
    assert waiting.wait(CALL_TIMEOUT) and waiting.transferred_to.startswith("operator")  # its own plan
    fresh = fsrouter.switch.place_call(CallerScript(destination="5001"))
    assert fresh.wait(CALL_TIMEOUT) and fresh.transferred_to.startswith("backoffice")  # the new plan
