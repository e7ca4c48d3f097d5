"""End to end: a caller keeps their place in line and is called back.

One agent (Kim, user/4001) is busy with another caller, so the caller under
test waits, hears the callback offer, books, and hangs up; when Kim is free
she hears "callback for ..." and the customer is dialled through the
gateway with the line's caller id, hears the intro and is bridged to her.
The store is read back through `fsrouter callbacks list --json`, and one
test kills fsrouter with SIGKILL between the booking and the dial.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import gevent
from click.testing import CliRunner

from fsrouter.cli import main
from fsrouter.sim import CallerScript, Press
from fsrouter.sim.agent import AgentScript, CustomerScript
from fsrouter.sim.scenario import prompt_id

RULES = Path(__file__).parent / "rules" / "callbacks.yaml"
LINE = "+302101234567"
OWN = "+306971234567"
KEYED = "+302106543210"
CALL_TIMEOUT = 20


def gateway(number: str) -> str:
    return f"sofia/gateway/carrier/{number}"


def centre(start_fsrouter, **agent):
    fsrouter = start_fsrouter(rules=RULES)
    fsrouter.switch.add_agent(AgentScript(endpoint="user/4001", **{"answer_after": 0.2, "hang_up_after": 30,
                                                                     **agent}))
    return fsrouter


def keep_kim_busy(fsrouter):
    """Another caller talks to Kim for 30 sim s (1.5 s here)."""
    other = fsrouter.switch.place_call(CallerScript(destination=LINE, caller_id_number="+306900000000"))
    fsrouter.wait_until(lambda: other.bridged_with is not None, 5, "the first caller was not bridged")
    return other


def books_own_number():
    return CallerScript(destination=LINE, caller_id_number=OWN, actions=[
        Press("1", after_prompt="callback/offer"),
        Press("1", after_prompt="callback/confirm_keys"),
    ])


def callbacks(fsrouter) -> list[dict]:
    result = CliRunner().invoke(main, ["callbacks", "list", "--json", "--database",
                                       f"sqlite:///{fsrouter.workdir}/fsrouter.db"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def prompts(call) -> list[str]:
    return [prompt_id(s) for s in call.sounds]


def wait_dials(fsrouter, number: str, count: int, timeout: float = 10):
    fsrouter.wait_until(lambda: len([d for d in fsrouter.switch.dials(gateway(number)) if d.done]) >= count,
                        timeout, f"{number} was not dialled {count} time(s)")
    return fsrouter.switch.dials(gateway(number))


def test_own_number_confirmed_then_the_agent_is_whispered_and_the_customer_bridged(start_fsrouter):
    fsrouter = centre(start_fsrouter)
    fsrouter.switch.add_customer(CustomerScript(endpoint=gateway(OWN), attempts=(1.0,), hang_up_after=10))
    keep_kim_busy(fsrouter)
    caller = fsrouter.switch.place_call(books_own_number())
    assert caller.wait(CALL_TIMEOUT), fsrouter.log_text()
    heard = prompts(caller)
    confirm = heard.index("callback/confirm_number")
    assert heard[confirm + 1:confirm + 11] == [f"numbers/{d}" for d in OWN[3:]]  # 6971234567, read back
    assert heard[-1] == "callback/booked" and caller.hung_up_by == "fsrouter"
    assert caller.bridged_with is None
    [dial] = wait_dials(fsrouter, OWN, 1)
    assert dial.origination["origination_caller_id_number"] == LINE  # the line they called
    assert "callback/intro" in prompts(dial)
    agent = fsrouter.switch.agent_call(dial.bridged_with)
    assert agent.endpoint == "user/4001"
    whisper = [s for s in agent.sounds if s.startswith("tts:")]
    digits = " ".join(OWN)  # the number digit by digit
    assert whisper and whisper[0].startswith(f"tts:Callback for {digits}; waited "), agent.sounds
    assert agent.answered_at < dial.answered_at  # the agent first, then the customer
    [booked] = callbacks(fsrouter)
    assert (booked["status"], booked["attempts"], booked["number"]) == ("completed", 1, OWN)


def test_a_premium_number_is_refused_aloud_and_a_keyed_number_is_called_back(start_fsrouter):
    # Kim talks for 3 s: the two-number dialog must end before she is free,
    # or on a loaded machine the caller is bridged before booking.
    fsrouter = centre(start_fsrouter, hang_up_after=60)
    fsrouter.switch.add_customer(CustomerScript(endpoint=gateway(KEYED), attempts=(1.0,), hang_up_after=10))
    keep_kim_busy(fsrouter)
    caller = fsrouter.switch.place_call(CallerScript(destination=LINE, caller_id_number="anonymous", actions=[
        Press("1", after_prompt="callback/offer"),
        Press("9011234567#", after_prompt="callback/enter_number"),                # premium rate
        Press("2106543210#", after_prompt="callback/enter_number", occurrence=2),  # an Athens line
        Press("1", after_prompt="callback/confirm_keys"),
    ]))
    assert caller.wait(CALL_TIMEOUT), fsrouter.log_text()
    heard = prompts(caller)
    refused = heard.index("callback/refused")
    assert heard[refused + 1] == "callback/enter_number"  # asked again, politely
    assert heard[-1] == "callback/booked"
    [dial] = wait_dials(fsrouter, KEYED, 1)
    assert dial.bridged_with is not None
    assert fsrouter.switch.dials(gateway("+309011234567")) == []
    assert [(c["number"], c["status"]) for c in callbacks(fsrouter)] == [(KEYED, "completed")]


def test_no_answer_is_retried_and_the_second_attempt_is_bridged(start_fsrouter):
    fsrouter = centre(start_fsrouter)
    fsrouter.switch.add_customer(CustomerScript(endpoint=gateway(OWN), attempts=(None, 1.0), hang_up_after=10))
    keep_kim_busy(fsrouter)
    caller = fsrouter.switch.place_call(books_own_number())
    assert caller.wait(CALL_TIMEOUT), fsrouter.log_text()
    first, second = wait_dials(fsrouter, OWN, 2, timeout=15)
    assert first.answered_at is None and first.hangup_cause == "NO_ANSWER"
    assert second.bridged_with is not None
    [booked] = callbacks(fsrouter)
    assert (booked["status"], booked["attempts"]) == ("completed", 2)


def test_the_callback_is_given_up_after_the_declared_attempts(start_fsrouter):
    fsrouter = centre(start_fsrouter)
    fsrouter.switch.add_customer(CustomerScript(endpoint=gateway(OWN), attempts=(None, "busy")))
    keep_kim_busy(fsrouter)
    caller = fsrouter.switch.place_call(books_own_number())
    assert caller.wait(CALL_TIMEOUT), fsrouter.log_text()
    wait_dials(fsrouter, OWN, 2, timeout=15)
    fsrouter.wait_until(lambda: callbacks(fsrouter)[0]["status"] == "failed", 5, "not given up")
    gevent.sleep(1.5)  # past the retry interval: no third attempt
    assert len(fsrouter.switch.dials(gateway(OWN))) == 2
    assert callbacks(fsrouter)[0]["attempts"] == 2


def test_sigkill_between_booking_and_dialling_loses_nothing_and_dials_once(start_fsrouter):
    # Kim is busy while the caller books, then her phone unregisters, so the
    # booked callback cannot be dialled (nor offered while nobody is registered).
    fsrouter = centre(start_fsrouter, hang_up_after=60)
    keep_kim_busy(fsrouter)
    caller = fsrouter.switch.place_call(books_own_number())
    assert caller.wait(CALL_TIMEOUT), fsrouter.log_text()
    fsrouter.switch.unregister("user/4001")
    assert prompts(caller)[-1] == "callback/booked"
    assert [c["status"] for c in callbacks(fsrouter)] == ["pending"]
    fsrouter.kill()
    fsrouter.switch.add_customer(CustomerScript(endpoint=gateway(OWN), attempts=(1.0,), hang_up_after=10))
    fsrouter.switch.register("user/4001")
    fsrouter.start()
    [dial] = wait_dials(fsrouter, OWN, 1)
    assert dial.bridged_with is not None
    gevent.sleep(1.5)
    assert len(fsrouter.switch.dials(gateway(OWN))) == 1
    [booked] = callbacks(fsrouter)
    assert (booked["status"], booked["attempts"]) == ("completed", 1)


def test_a_booking_lost_with_the_database_keeps_the_caller_waiting_until_an_agent_answers(
        start_fsrouter, tmp_path):
    # The caller must still be waiting when Kim is free (max_wait 10 min).
    rules = tmp_path / "patient.yaml"
    rules.write_text(RULES.read_text().replace("max_wait: {after: 30s", "max_wait: {after: 10m"))
    fsrouter = start_fsrouter(rules=rules)
    fsrouter.switch.add_agent(AgentScript(endpoint="user/4001", answer_after=0.2, hang_up_after=60))
    keep_kim_busy(fsrouter)  # for 60 sim s (3 s here)
    database = fsrouter.workdir / "fsrouter.db"
    for suffix in ("", "-wal", "-shm"):  # deleted under the running service
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    caller = fsrouter.switch.place_call(books_own_number())
    fsrouter.wait_until(lambda: "could not be booked" in fsrouter.log_text(), 10, "no booking was tried")
    fsrouter.wait_until(lambda: caller.bridged_with is not None, 10, "the caller was not served")
    assert fsrouter.switch.agent_call(caller.bridged_with).endpoint == "user/4001"
    heard = prompts(caller)
    assert "callback/confirm_keys" in heard and "callback/booked" not in heard
    assert "was deleted while fsrouter had it open" in fsrouter.log_text()
    assert not database.exists()  # nothing wrote a new, empty one meanwhile
    assert caller.wait(CALL_TIMEOUT), fsrouter.log_text()  # Kim hangs up; the call ends cleanly


def test_a_callback_booked_after_a_reload_retired_the_callers_queue_is_dialled_from_the_new_one(
        start_fsrouter, tmp_path):
    # Billing is split by brand (billing[brand=acme] is Kim's); a reload ends
    # the split while the caller waits in billing[brand=acme], which is
    # retired: it keeps its caller, but no booking can enter it.
    split = tmp_path / "by_brand.yaml"
    split.write_text(RULES.read_text()
                     .replace("require: {billing: 1}", 'require: {billing: 1, "brand_{brand}": 1}')
                     .replace("skills: {billing: 5}", "skills: {billing: 5, brand_acme: 5}"))
    fsrouter = start_fsrouter(rules=split)
    fsrouter.switch.add_agent(AgentScript(endpoint="user/4001", answer_after=0.2, hang_up_after=80))
    fsrouter.switch.add_customer(CustomerScript(endpoint=gateway(OWN), attempts=(1.0,), hang_up_after=10))
    keep_kim_busy(fsrouter)  # for 80 sim s (4 s here)
    caller = fsrouter.switch.place_call(CallerScript(destination=LINE, caller_id_number=OWN, actions=[
        Press("1", after_prompt="callback/offer", occurrence=2),  # the second offer, 2 s on: after the reload
        Press("1", after_prompt="callback/confirm_keys"),
    ]))
    fsrouter.wait_until(lambda: f"call {caller.uuid}: joined queue billing[brand=acme]" in fsrouter.log_text(),
                        5, "the caller did not wait in billing[brand=acme]")
    fsrouter.rules.write_text(RULES.read_text().replace("skills: {billing: 5}", "skills: {billing: 5, brand_acme: 5}"))
    fsrouter.proc.send_signal(signal.SIGHUP)
    fsrouter.wait_until(lambda: "rules reloaded from" in fsrouter.log_text(), 5, "the rules were not reloaded")
    assert caller.wait(CALL_TIMEOUT), (prompts(caller), fsrouter.log_text())
    assert prompts(caller)[-1] == "callback/booked"
    log = fsrouter.log_text()
    assert log.index("rules reloaded from") < log.index(f"call {caller.uuid}: callback")  # booked afterwards
    [dial] = wait_dials(fsrouter, OWN, 1)  # once Kim is free
    assert fsrouter.switch.agent_call(dial.bridged_with).endpoint == "user/4001"
    assert "no longer exists" not in fsrouter.log_text()


def supervisor(fsrouter, *args: str) -> str:
    """`fsrouter callbacks ARGS` through the running service's API (the
    default), in-process on a thread while the simulator runs on this loop."""
    result = gevent.get_hub().threadpool.apply(
        CliRunner().invoke, (main, ["callbacks", *args, "--config", str(fsrouter.config)]))
    assert result.exit_code == 0, f"{result.output}\n{fsrouter.log_text()}"
    return result.stdout


def test_a_callback_cancelled_through_the_api_is_not_dialled_until_retried(start_fsrouter):
    fsrouter = centre(start_fsrouter)
    other = keep_kim_busy(fsrouter)
    caller = fsrouter.switch.place_call(books_own_number())
    assert caller.wait(CALL_TIMEOUT), fsrouter.log_text()
    fsrouter.switch.unregister("user/4001")  # nothing is offered while the supervisor decides
    [booked] = json.loads(supervisor(fsrouter, "list", "--json"))
    assert supervisor(fsrouter, "cancel", str(booked["id"])) == (
        f"callback {booked['id']} to {OWN} (billing): cancelled\n")
    fsrouter.switch.add_customer(CustomerScript(endpoint=gateway(OWN), attempts=(1.0,), hang_up_after=10))
    fsrouter.switch.register("user/4001")
    assert other.wait(CALL_TIMEOUT)
    gevent.sleep(1.5)  # Kim free, past the dialler's poll: a pending callback would be dialled now
    assert fsrouter.switch.dials(gateway(OWN)) == []
    supervisor(fsrouter, "retry", str(booked["id"]))
    [dial] = wait_dials(fsrouter, OWN, 1)
    assert dial.bridged_with is not None
