"""Survey figures for reports: the answers of `Store.survey_scores` summed
up per queue, agent and question.  Pure: the report (`fsrouter report`, the
API) reads the scores and prints or serves these rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fsrouter.store.records import SurveyScore


@dataclass(frozen=True)
class SurveyFigure:
    """`answers` answers to `question` for `agent_id` in `queue`, `average` their mean score."""

    queue: str
    agent_id: str
    question: int
    answers: int
    average: float


def survey_figures(scores: Iterable[SurveyScore]) -> list[SurveyFigure]:
    """One figure per (queue, agent, question), in that order."""
    groups: dict[tuple[str, str, int], list[int]] = {}
    for score in scores:
        groups.setdefault((score.queue, score.agent_id, score.question), []).append(score.score)
    return [SurveyFigure(queue, agent, question, len(values), round(sum(values) / len(values), 2))
            for (queue, agent, question), values in sorted(groups.items())]
