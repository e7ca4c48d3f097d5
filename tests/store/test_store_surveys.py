"""Post-call survey scores: stored with the call, the queue and the agent, read back for reports."""

from __future__ import annotations

import pytest

from fsrouter.store import SurveyScore
from fsrouter.store.surveys import SurveyFigure, survey_figures


def test_scores_round_trip_with_call_queue_and_agent(backend, store):
    stored = store.record_survey("call-1", "sales", "1001", [(1, 4), (2, 1)], 100.0)
    assert [(s.question, s.score) for s in stored] == [(1, 4), (2, 1)]
    store.close()
    scores = backend.open().survey_scores()
    assert scores == stored
    assert scores[0] == SurveyScore(scores[0].id, "call-1", "sales", "1001", 1, 4, 100.0)


def test_recording_the_same_call_again_changes_nothing(store):
    first = store.record_survey("call-1", "sales", "1001", [(1, 4)], 100.0)
    again = store.record_survey("call-1", "sales", "1001", [(1, 2)], 101.0)
    assert again == first
    assert [s.score for s in store.survey_scores()] == [4]


def test_scores_by_time_and_queue(store):
    store.record_survey("a", "sales", "1001", [(1, 5)], 10.0)
    store.record_survey("b", "billing", "1002", [(1, 3)], 20.0)
    store.record_survey("c", "sales", "1002", [(1, 1)], 30.0)
    assert [s.call_uuid for s in store.survey_scores(since=20.0)] == ["b", "c"]
    assert [s.call_uuid for s in store.survey_scores(until=30.0)] == ["a", "b"]
    assert [s.call_uuid for s in store.survey_scores(since=10.0, until=30.0, queue="sales")] == ["a"]


@pytest.mark.parametrize("answers", [[(1, 10)], [(0, 3)], [(1, -1)], [(1, "5")], [(1, 4), (2, True and 12)]])
def test_a_bad_answer_writes_nothing(store, answers):
    with pytest.raises(ValueError, match="a survey answer is"):
        store.record_survey("call-1", "sales", "1001", answers, 100.0)
    assert store.survey_scores() == []


def test_figures_per_queue_agent_and_question(store):
    store.record_survey("a", "sales", "1001", [(1, 5), (2, 1)], 10.0)
    store.record_survey("b", "sales", "1001", [(1, 2)], 20.0)
    store.record_survey("c", "billing", "1002", [(1, 4)], 30.0)
    assert survey_figures(store.survey_scores()) == [
        SurveyFigure("billing", "1002", 1, 1, 4.0),
        SurveyFigure("sales", "1001", 1, 2, 3.5),
        SurveyFigure("sales", "1001", 2, 1, 1.0),
    ]
    assert survey_figures([]) == []


def test_figures_per_queue_and_period_with_agents_together():
    scores = [SurveyScore(0, call, queue, agent, question, value, at) for call, queue, agent, question, value, at in [
        ("a", "sales", "1001", 1, 5, 10.0), ("a", "sales", "1001", 2, 1, 10.0),
        ("b", "sales", "1002", 1, 2, 20.0), ("c", "sales", "1002", 1, 4, 70.0)]]
    minute = lambda at: f"minute {int(at // 60)}"  # noqa: E731
    assert survey_figures(scores, by_agent=False, period=minute) == [
        SurveyFigure("sales", "", 1, 2, 3.5, "minute 0"),
        SurveyFigure("sales", "", 2, 1, 1.0, "minute 0"),
        SurveyFigure("sales", "", 1, 1, 4.0, "minute 1"),
    ]
