"""End to end: after the bridge.  An agent keys `*<code>` on the phone to
send the caller on to another queue; the next agent's whisper says who sent
them and why, the transfer count rises, and past the cap the call goes to
the supervisor queue.  An agent hanging up first leaves the caller with the
post-call survey, whose scores reach the store.
"""

from __future__ import annotations

from pathlib import Path

from report_cli import report_today

from fsrouter.sim import CallerScript, HangUp, Press
from fsrouter.sim.agent import AgentScript
from fsrouter.sim.scenario import prompt_id
from fsrouter.store import open_store
from fsrouter.store.surveys import SurveyFigure, survey_figures

RULES = Path(__file__).resolve().parent / "rules" / "afterbridge.yaml"
CALL_TIMEOUT = 20


def agent(extension: str, **behaviour) -> AgentScript:
    return AgentScript(endpoint=f"user/{extension}", answer_after=0.5, **behaviour)


def leg_of(fsrouter, extension: str):
    [leg] = [c for c in fsrouter.switch.agent_calls if c.endpoint == f"user/{extension}" and c.answered_at]
    return leg


def stored(fsrouter, read):
    with open_store(f"sqlite:///{fsrouter.workdir}/fsrouter.db") as store:
        return read(store)


def test_an_agent_transfers_with_a_reason_code_and_past_the_cap_the_supervisor_takes_it(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    # Becky (sales) sends the caller to billing with *1; Nikos (billing) sends
    # them back to sales with *2, but billing allows one transfer per call and
    # this would be the second: they go to the supervisor queue instead.
    fsrouter.switch.add_agent(agent("1001", press=[Press(at=20, keys="*1")]))
    fsrouter.switch.add_agent(agent("1002", press=[Press(at=30, keys="*2")]))
    fsrouter.switch.add_agent(agent("1003", hang_up_after=20))
    call = fsrouter.switch.place_call(CallerScript(destination="5100"))
    assert call.wait(CALL_TIMEOUT), fsrouter.log_text()

    becky, nikos, maria = (leg_of(fsrouter, x) for x in ("1001", "1002", "1003"))
    assert becky.sounds == ["tts:sales"]
    assert nikos.sounds == ["tts:transfer from Becky: billing dispute. billing; router"]  # speech() makes commas ;
    assert maria.sounds == ["tts:transfer from Nikos: back to sales. supervisor"]
    assert call.bridged_with == maria.uuid
    assert becky.hung_up_by == nikos.hung_up_by == "fsrouter"  # each dropped once the caller was sent on
    assert call.hung_up_by == "fsrouter"  # Maria hung up; no survey in supervisor: fsrouter ended the call
    heard = [prompt_id(s) for s in call.sounds]
    assert heard.count("queue/transfer") == 2, heard
    assert call.digits == []  # the feature codes never reached the caller
    assert fsrouter.error_lines() == []

    def transfers():
        return [e for e in stored(fsrouter, lambda s: s.queue_events(kind="transferred")) if e.entry_id == call.uuid]

    fsrouter.wait_until(lambda: len(transfers()) == 2, 5, "the transfers were not stored")
    first, second = transfers()
    assert (first.queue, first.fields["to_queue"], first.fields["agent"], first.fields["transfers"]) == (
        "sales", "billing", "1001", 1)
    assert (second.queue, second.fields["to_queue"], second.fields["agent"], second.fields["transfers"]) == (
        "billing", "supervisor", "1002", 2)
    answered = [e.fields["agent"] for e in stored(fsrouter, lambda s: s.queue_events(kind="answered"))
                if e.entry_id == call.uuid]
    assert answered == ["1001", "1002", "1003"]


def test_the_agent_hanging_up_first_leaves_the_caller_with_the_survey(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    fsrouter.switch.add_agent(agent("1004", hang_up_after=10))
    call = fsrouter.switch.place_call(CallerScript(destination="5101", actions=[
        Press(after_prompt="survey/rate", keys="7"),  # not a score: asked again
        Press(after_prompt="survey/rate", occurrence=2, keys="4"),
        Press(after_prompt="survey/resolved", keys="1"),
    ]))
    assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    heard = [prompt_id(s) for s in call.sounds]
    assert heard[-4:] == ["survey/rate", "survey/rate", "survey/resolved", "survey/thanks"], heard
    assert call.hung_up_by == "fsrouter"
    fsrouter.wait_until(lambda: stored(fsrouter, lambda s: s.survey_scores()), 5, "no survey scores stored")
    scores = stored(fsrouter, lambda s: s.survey_scores(queue="helpdesk"))
    assert [(s.call_uuid, s.agent_id, s.question, s.score) for s in scores] == [
        (call.uuid, "1004", 1, 4), (call.uuid, "1004", 2, 1)]
    assert survey_figures(scores) == [SurveyFigure("helpdesk", "1004", 1, 1, 4.0),
                                      SurveyFigure("helpdesk", "1004", 2, 1, 1.0)]
    # What the report shows: the figures' survey columns, the call's record, each agent's scores.
    fsrouter.wait_until(lambda: report_today(fsrouter, "--calls"), 5, "the call's statistics were not stored")
    [helpdesk] = report_today(fsrouter, "--queue", "helpdesk")
    assert (helpdesk["answered"], helpdesk["surveyed"], helpdesk["survey_q1"], helpdesk["survey_q2"]) == (1, 1, 4, 1)
    [record] = report_today(fsrouter, "--calls")
    assert (record["entry_id"], record["outcome"], record["agents"], record["survey"]) == (
        call.uuid, "answered", ["1004"], {"1": 4, "2": 1})
    assert report_today(fsrouter, "--surveys") == [
        {"queue": "helpdesk", "agent_id": "1004", "question": 1, "answers": 1, "average": 4.0},
        {"queue": "helpdesk", "agent_id": "1004", "question": 2, "answers": 1, "average": 1.0}]
    assert fsrouter.error_lines() == []


def test_a_caller_hanging_up_first_is_not_surveyed(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    fsrouter.switch.add_agent(agent("1004"))
    call = fsrouter.switch.place_call(CallerScript(destination="5101", actions=[HangUp(at=15)]))
    assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    assert call.bridged_with and call.hung_up_by == "caller"
    assert "survey/rate" not in [prompt_id(s) for s in call.sounds]
    fsrouter.wait_until(lambda: "ended in state finished" in fsrouter.log_text(), 5, "the call did not end")
    assert stored(fsrouter, lambda s: s.survey_scores()) == []


def test_a_caller_hanging_up_mid_survey_keeps_the_answer_given(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    fsrouter.switch.add_agent(agent("1004", hang_up_after=10))
    call = fsrouter.switch.place_call(CallerScript(destination="5101", actions=[
        Press(after_prompt="survey/rate", keys="2"), HangUp(after_prompt="survey/resolved", delay=0.5)]))
    assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    assert call.hung_up_by == "caller"
    fsrouter.wait_until(lambda: stored(fsrouter, lambda s: s.survey_scores()), 5, "no survey scores stored")
    assert [(s.question, s.score) for s in stored(fsrouter, lambda s: s.survey_scores())] == [(1, 2)]


def test_an_attended_transfer_keeps_the_first_agent_on_until_the_second_is_bridged(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    fsrouter.switch.add_agent(agent("1001", press=[Press(at=20, keys="*3")]))
    fsrouter.switch.add_agent(agent("1002", hang_up_after=20))
    call = fsrouter.switch.place_call(CallerScript(destination="5100"))
    assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    becky, nikos = leg_of(fsrouter, "1001"), leg_of(fsrouter, "1002")
    assert nikos.sounds == ["tts:transfer from Becky: handover. billing; router"]
    assert call.bridged_with == nikos.uuid
    # Becky was on with the caller until Nikos's bridge replaced hers, then dropped.
    assert becky.hung_up_by == "fsrouter" and becky.hangup_cause == "ORIGINATOR_CANCEL"
    assert becky.unbridged_at - becky.bridged_at > 20 * 0.9
    heard = [prompt_id(s) for s in call.sounds]
    assert "queue/transfer" not in heard, heard  # no prompt, no music: the caller was never alone
    assert fsrouter.error_lines() == []
    fsrouter.wait_until(lambda: "ended in state finished, outcome ('answered', '1002')" in fsrouter.log_text(), 5,
                        "the call did not end as answered by Nikos")


def test_a_supervisor_transfers_through_the_cli_with_a_note_for_the_next_agent(start_fsrouter):
    """`fsrouter transfer CALL --queue billing --note ...` (the admin API's
    POST /calls/{uuid}/transfer): the next agent's whisper carries the note."""
    import gevent
    from click.testing import CliRunner

    from fsrouter.cli import main

    fsrouter = start_fsrouter(rules=RULES)
    fsrouter.switch.add_agent(agent("1001"))  # sales: stays on until sent on
    fsrouter.switch.add_agent(agent("1002", hang_up_after=5))  # billing
    call = fsrouter.switch.place_call(CallerScript(destination="5100"))
    fsrouter.wait_until(lambda: call.bridged_with is not None, 10, "the caller was never bridged")

    def cli(*args):
        return gevent.get_hub().threadpool.apply(
            CliRunner().invoke, (main, [*args, "--config", str(fsrouter.config)]))

    refused = cli("transfer", call.uuid, "--queue", "nowhere")
    assert refused.exit_code == 1 and "409 no queue 'nowhere'" in refused.output, refused.output
    done = cli("transfer", call.uuid, "--queue", "billing", "--note", "wants a refund")
    assert done.exit_code == 0, done.output
    assert done.output == f"call {call.uuid} transferred to billing\n"
    assert call.wait(CALL_TIMEOUT), fsrouter.log_text()
    nikos = leg_of(fsrouter, "1002")
    assert nikos.sounds == ["tts:transfer from supervisor: wants a refund. billing; router"]
    assert call.bridged_with == nikos.uuid
    assert fsrouter.error_lines() == []
