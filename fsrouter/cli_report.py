"""`fsrouter report`: yesterday's (or any days') figures from the stored statistics.

The rows are the queue events `fsrouter run` stored (`store/stats.py`);
what they add up to is defined once, in `fsrouter.figures`.  Days and hours
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
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from .cli_api import echo_json, echo_table
from .cli_store import opened as _opened
from .config import load_config
from .figures import Figures, Tallies, rules_queue
from .rules import RulesError, compile_rules
from .runtime.today import targets_of

COLUMNS = (
    ("offered", "OFFERED"), ("answered", "ANSWERED"), ("abandoned", "ABANDONED"),
    ("abandoned_short", "AB<=5S"), ("service_level", "SL"), ("asa", "ASA"), ("aht", "AHT"),
    ("callbacks_booked", "CB BOOKED"), ("callbacks_completed", "CB DONE"), ("callbacks_failed", "CB FAILED"),
    ("transfers_per_call", "XFER/CALL"), ("ewt_error", "EWT ERROR"), ("ewt_kept", "EWT KEPT"),
)
"""Figures fields in output order, with their table headings."""


@click.command()
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First day (YYYY-MM-DD), in the rules' time zone.")
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Last day, included.")
@click.option("--queue", help="Only this rules queue (its skill variants included).")
@click.option("--by", type=click.Choice(["day", "hour"]), help="One line per day or hour (default: the whole range).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--config", "config_path", default="config/fsrouter.yaml", show_default=True,
              type=click.Path(dir_okay=False), help="Service configuration (its database and rules).")
@click.option("--database", metavar="URL", help="Store URL, instead of the configuration's.")
def report(first: datetime, last: datetime, queue: str | None, by: str | None, as_csv: bool, as_json: bool,
           config_path: str, database: str | None) -> None:
    """Offered, answered, abandoned, service level, speed of answer, handle
    time, callbacks, transfers and EWT accuracy per queue, from --from to --to."""
    if as_csv and as_json:
        raise click.UsageError("give --csv or --json, not both")
    if last < first:
        raise click.UsageError("--to is before --from")
    url, tz, targets = _settings(config_path, database)
    start, end = _bounds(first.date(), last.date(), tz)
    with _opened(url) as store:
        rows = [row for row in store.queue_events(since=start) if row.at < end
                and (queue is None or rules_queue(row.queue) == queue)]
    tallies = Tallies(_period(by, tz, first.date(), last.date()), targets)
    tallies.add(rows)
    figures = tallies.figures()
    if as_json:
        echo_json([_record(key, f) for key, f in figures.items()])
    elif as_csv:
        click.echo(_csv(figures), nl=False)
    elif figures:
        echo_table(("QUEUE", "PERIOD", *(heading for _, heading in COLUMNS)),
                   ((queue, period, *_cells(f)) for (queue, period), f in figures.items()))
    else:
        click.echo("no statistics in that range")


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


def _bounds(first: date, last: date, tz: tzinfo) -> tuple[float, float]:
    """From midnight starting `first` to midnight ending `last`, in `tz`."""
    start = datetime.combine(first, time(), tz)
    end = datetime.combine(last + timedelta(days=1), time(), tz)
    return start.timestamp(), end.timestamp()


def _period(by: str | None, tz: tzinfo, first: date, last: date) -> Callable[[float], str]:
    if by == "day":
        return lambda at: datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d")
    if by == "hour":
        return lambda at: datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d %H:00")
    whole = f"{first}..{last}"
    return lambda at: whole


def _record(key: tuple[str, str], figures: Figures) -> dict:
    queue, period = key
    return {"queue": queue, "period": period, **figures.as_dict()}


def _csv(figures: dict[tuple[str, str], Figures]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["queue", "period", *(name for name, _ in COLUMNS), "target"])
    for (queue, period), f in figures.items():
        values = f.as_dict()
        writer.writerow([queue, period, *("" if values[n] is None else values[n] for n, _ in COLUMNS), f.target])
    return out.getvalue()


def _cells(f: Figures) -> Iterable[str]:
    for name, _ in COLUMNS:
        value = getattr(f, name)
        if value is None:
            yield "-"
        elif name == "service_level":
            yield f"{value:.1%} ({f.target:g}s)"
        elif name == "ewt_kept":
            yield f"{value:.1%}"
        elif name in ("asa", "aht", "ewt_error"):
            yield f"{value:+.1f}s" if name == "ewt_error" else f"{value:.1f}s"
        elif name == "transfers_per_call":
            yield f"{value:.2f}"
        else:
            yield str(value)
