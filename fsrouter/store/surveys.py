"""Survey figures for reports: the answers of `Store.survey_scores` summed
up per queue, agent and question (and period, for `fsrouter report --by`).
Pure: the report (`fsrouter report`, the API) reads the scores and prints or
serves these rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fsrouter.store.records import SurveyScore


@dataclass(frozen=True)
class SurveyFigure:
    """`answers` answers to `question` for `agent_id` in `queue`, `average`
    their mean score; `agent_id` is "" for all agents together, `period`
    "" for all times together."""

    queue: str
    agent_id: str
    question: int
    answers: int
    average: float
    period: str = ""


def survey_figures(scores: Iterable[SurveyScore], *, by_agent: bool = True,
                   period: Callable[[float], str] | None = None) -> list[SurveyFigure]:
    """One figure per (queue, period, agent, question), in that order; agents
    together unless `by_agent`, periods named by `period` (an answer counts
    in the period it was given) when given."""
    groups: dict[tuple[str, str, str, int], list[int]] = {}
    for score in scores:
        key = (score.queue, period(score.at) if period else "", score.agent_id if by_agent else "", score.question)
        groups.setdefault(key, []).append(score.score)
    return [SurveyFigure(queue, agent, question, len(values), round(sum(values) / len(values), 2), when)
            for (queue, when, agent, question), values in sorted(groups.items())]
