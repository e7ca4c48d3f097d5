"""`fsrouter report`: yesterday's (or any days') figures from the stored statistics.

The rows are the queue events `fsrouter run` stored (`store/stats.py`);
what they add up to is defined once, in `fsrouter.figures`, and the post-call
survey's answers in `store.surveys`.  `--calls` lists the calls themselves
instead, one record each (`fsrouter.call_records`, as `GET /reports/calls`).  Days and hours
are those of the rules' time zone (`settings: {timezone: ...}`), and each
queue's service level is judged against its own `service_level` target, so
the configuration's rules are read too; with `--database` and no
configuration, UTC and the default target apply.  Exit codes: 0 done, 1 the
store or the rules refused, 2 usage.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import date, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from .call_records import CallRecord, read_call_records
from .cli_api import duration, echo_json, echo_table
from .cli_store import opened
from .config import load_config
from .figures import DEFAULT_TARGET, Tallies, Tally, day_bounds, rules_queue
from .rules import RulesError, compile_rules
from .runtime.today import targets_of
from .store.surveys import SurveyFigure, survey_figures

COLUMNS = (
    ("offered", "OFFERED"), ("answered", "ANSWERED"), ("abandoned", "ABANDONED"),
    ("abandoned_short", "AB<=5S"), ("service_level", "SL"), ("asa", "ASA"), ("aht", "AHT"),
    ("callbacks_booked", "CB BOOKED"), ("callbacks_completed", "CB DONE"), ("callbacks_failed", "CB FAILED"),
    ("transfers_per_call", "XFER/CALL"), ("ewt_error", "EWT ERROR"), ("ewt_kept", "EWT KEPT"),
    ("surveyed", "SURVEYED"), ("survey_q1", "Q1 AVG"), ("survey_q2", "Q2 AVG"),
)
"""Figures fields and survey figures in output order, with their table headings."""


@click.command()
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First day (YYYY-MM-DD), in the rules' time zone.")
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Last day, included.")
@click.option("--queue", help="Only this rules queue (its skill variants included).")
@click.option("--by", type=click.Choice(["day", "hour"]), help="One line per day or hour (default: the whole range).")
@click.option("--calls", is_flag=True, help="One line per call instead of figures.")
@click.option("--surveys", is_flag=True, help="Survey answers per queue, agent and question instead of figures.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--config", "config_path", default="config/fsrouter.yaml", show_default=True,
              type=click.Path(dir_okay=False), help="Service configuration (its database and rules).")
@click.option("--database", metavar="URL", help="Store URL, instead of the configuration's.")
def report(first: datetime, last: datetime, queue: str | None, by: str | None, calls: bool, surveys: bool,
           as_csv: bool, as_json: bool, config_path: str, database: str | None) -> None:
    """Offered, answered, abandoned, service level, speed of answer, handle
    time, callbacks, transfers, EWT accuracy and survey scores per queue,
    from --from to --to; or with --calls each call, with --surveys each
    agent's survey scores."""
    if as_csv and as_json:
        raise click.UsageError("give --csv or --json, not both")
    if calls and surveys:
        raise click.UsageError("give --calls or --surveys, not both")
    if by and (calls or surveys):
        raise click.UsageError("--by goes with the figures, not with --calls or --surveys")
    if last < first:
        raise click.UsageError("--to is before --from")
    url, tz, targets = _settings(config_path, database)
    if calls:
        with opened(url) as store:
            records = read_call_records(store, first.date(), last.date(), tz, queue)
        _print_calls(records, as_csv, as_json)
        return
    start, end = day_bounds(first.date(), last.date(), tz)
    period = _period(by, tz, first.date(), last.date())
    with opened(url) as store:
        scores = store.survey_scores(since=start, until=end, queue=queue)
        rows = [] if surveys else [row for row in store.queue_events(since=start, until=end)  # answers alone
                                   if queue is None or rules_queue(row.queue) == queue]
    if surveys:
        _print_surveys(survey_figures(scores), as_csv, as_json)
        return
    tallies = Tallies(period, targets)
    tallies.add(rows)
    lines = _lines(tallies, survey_figures(scores, by_agent=False, period=period))
    if as_json:
        echo_json([{"queue": queue, "period": period, **values} for (queue, period), values in lines.items()])
    elif as_csv:
        _echo_csv(["queue", "period", *(name for name, _ in COLUMNS), "target"], (
            [queue, period, *(_blank(values[n]) for n, _ in COLUMNS), values["target"]]
            for (queue, period), values in lines.items()))
    elif lines:
        echo_table(("QUEUE", "PERIOD", *(heading for _, heading in COLUMNS)),
                   ((queue, period, *_cells(values)) for (queue, period), values in lines.items()))
    else:
        click.echo("no statistics in that range")


def _lines(tallies: Tallies, surveys: list[SurveyFigure]) -> dict[tuple[str, str], dict]:
    """Each (queue, period)'s figures and survey figures, in order: every
    surveyed call answered question 1 (question 2 comes after it), so its
    answers are the calls surveyed."""
    figures = tallies.figures()
    by_key: dict[tuple[str, str], dict[int, SurveyFigure]] = {}
    for figure in surveys:
        by_key.setdefault((figure.queue, figure.period), {})[figure.question] = figure
    lines = {}
    for key in sorted(figures.keys() | by_key.keys()):
        answers = by_key.get(key, {})
        counted = figures.get(key) or Tally(tallies.targets.get(key[0], DEFAULT_TARGET)).figures()  # answers only
        lines[key] = {
            **counted.as_dict(),
            "surveyed": answers[1].answers if 1 in answers else 0,
            "survey_q1": answers[1].average if 1 in answers else None,
            "survey_q2": answers[2].average if 2 in answers else None,
        }
    return lines


def _settings(config_path: str, database: str | None) -> tuple[str, tzinfo, dict[str, float]]:
    """The store URL, the rules' time zone and each queue's target."""
    if not Path(config_path).is_file():
        if database is None:
            raise click.UsageError(f"no service configuration at {config_path}: give --config or --database")
        return database, ZoneInfo("UTC"), {}
    try:
        config = load_config(config_path)
        plan = compile_rules(config.rules_path)
    except RulesError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None
    return database or config.database_url, plan.settings.tz, targets_of(plan)


def _period(by: str | None, tz: tzinfo, first: date, last: date) -> Callable[[float], str]:
    if by == "day":
        return lambda at: datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d")
    if by == "hour":
        return lambda at: datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d %H:00")
    whole = f"{first}..{last}"
    return lambda at: whole


def _echo_csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
    """One header line, then the rows (empty cells for None: see `_blank`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    click.echo(out.getvalue(), nl=False)


def _cells(values: dict) -> Iterable[str]:
    for name, _ in COLUMNS:
        value = values[name]
        if value is None:
            yield "-"
        elif name == "service_level":
            yield f"{value:.1%} ({values['target']:g}s)"
        elif name == "ewt_kept":
            yield f"{value:.1%}"
        elif name in ("asa", "aht", "ewt_error"):
            yield f"{value:+.1f}s" if name == "ewt_error" else f"{value:.1f}s"
        elif name in ("transfers_per_call", "survey_q1", "survey_q2"):
            yield f"{value:.2f}"
        else:
            yield str(value)


CALL_FIELDS = ("joined", "entry_id", "queue", "callback", "outcome", "agents", "transfers", "wait", "talked",
               "recordings", "survey_q1", "survey_q2")
"""The CSV columns of `--calls` (lists joined by spaces)."""


def _print_calls(records: list[CallRecord], as_csv: bool, as_json: bool) -> None:
    if as_json:
        echo_json([record.as_dict() for record in records])
    elif as_csv:
        _echo_csv(CALL_FIELDS, (
            [r.joined, r.entry_id, r.queue, r.callback, r.outcome, " ".join(r.agents), r.transfers, _blank(r.wait),
             _blank(r.talked), " ".join(r.recordings), _blank(r.survey.get(1)), _blank(r.survey.get(2))]
            for r in records))
    elif records:
        echo_table(("JOINED", "CALL", "QUEUE", "OUTCOME", "WAIT", "TALK", "RECORDING", "SURVEY"), (
            (r.joined, ("callback " if r.callback else "") + r.entry_id, r.queue, r.summary(), duration(r.wait),
             duration(r.talked), " ".join(r.recordings) or None,
             " ".join(f"Q{q}={s}" for q, s in sorted(r.survey.items())) or None)
            for r in records))
    else:
        click.echo("no calls in that range")


def _print_surveys(figures: list[SurveyFigure], as_csv: bool, as_json: bool) -> None:
    names = ("queue", "agent_id", "question", "answers", "average")
    if as_json:
        echo_json([{name: getattr(f, name) for name in names} for f in figures])
    elif as_csv:
        _echo_csv(names, ([getattr(f, name) for name in names] for f in figures))
    elif figures:
        echo_table(("QUEUE", "AGENT", "QUESTION", "ANSWERS", "AVERAGE"),
                   ((f.queue, f.agent_id, f.question, f.answers, f"{f.average:.2f}") for f in figures))
    else:
        click.echo("no survey answers in that range")


def _blank(value: object) -> object:
    return "" if value is None else value
