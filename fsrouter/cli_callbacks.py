"""`fsrouter callbacks`: a supervisor's view of booked callbacks.

List them, cancel one, or make one due again.  The database is the service
configuration's `database.url` (or `--database`), so the commands work on
the same store as the running service, beside it.  Exit codes: 0 done, 1
the store refused (unknown id, a transition the callback's status does not
allow, database unreachable), 2 usage.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click

from .config import load_config
from .rules import RulesError
from .store import CallbackRecord, CallbackStatus, Store, StoreError, UnsupportedURL, open_store
from .store.url import sqlite_path

_ACTIVE = (CallbackStatus.PENDING, CallbackStatus.DIALING)


@click.group()
def callbacks() -> None:
    """List, cancel and retry booked callbacks."""


def _store_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--config/--database/--json, turned into an open `store` argument."""

    @click.option("--config", "config_path", default="config/fsrouter.yaml", show_default=True,
                  type=click.Path(dir_okay=False), help="Service configuration (its database.url).")
    @click.option("--database", metavar="URL", help="Store URL, instead of the configuration's.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    @wraps(command)
    def run(config_path: str, database: str | None, **kwargs: Any) -> None:
        with _opened(database or _configured_url(config_path)) as store:
            command(store=store, **kwargs)

    return run


@callbacks.command("list")
@click.option("--status", type=click.Choice([s.value for s in CallbackStatus]),
              help="Only callbacks in this status.")
@click.option("--queue", help="Only callbacks of this queue.")
@_store_options
def list_callbacks(store: Store, status: str | None, queue: str | None, as_json: bool) -> None:
    """List callbacks in line order (the order they are dialled in)."""
    records = store.list_callbacks(status, queue)
    if as_json:
        click.echo(json.dumps([_as_dict(r) for r in records], indent=2, ensure_ascii=False))
    elif records:
        click.echo(_table(records, time.time()))
    else:
        click.echo("no callbacks")


@callbacks.command()
@click.argument("callback_id", metavar="ID", type=int)
@_store_options
def cancel(store: Store, callback_id: int, as_json: bool) -> None:
    """Cancel callback ID (pending or being dialled)."""
    _report(store.cancel(callback_id), as_json, "cancelled")


@callbacks.command()
@click.argument("callback_id", metavar="ID", type=int)
@_store_options
def retry(store: Store, callback_id: int, as_json: bool) -> None:
    """Make callback ID (pending, failed or cancelled) due again now."""
    _report(store.retry(callback_id, time.time()), as_json, "pending again, due now")


# -- opening the store --------------------------------------------------------


def _configured_url(config_path: str) -> str:
    if not Path(config_path).is_file():
        raise click.UsageError(f"no service configuration at {config_path}: give --config or --database")
    try:
        return load_config(config_path).database_url
    except RulesError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None


@contextmanager
def _opened(url: str) -> Iterator[Store]:
    """The store at `url`; store errors become one-line messages (exit 1)."""
    _require_existing_sqlite_file(url)
    try:
        store = open_store(url)
    except UnsupportedURL as exc:
        raise click.BadParameter(str(exc), param_hint="--database") from None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield store
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()


def _require_existing_sqlite_file(url: str) -> None:
    """Opening a SQLite URL creates the file: refuse a path that names no
    database yet, which is a typo or the wrong configuration."""
    if not url.lower().startswith("sqlite:"):
        return
    try:
        path = sqlite_path(url)
    except UnsupportedURL as exc:
        raise click.BadParameter(str(exc), param_hint="--database") from None
    if path != ":memory:" and not Path(path).is_file():
        raise click.ClickException(f"no database at {path} (has fsrouter run with this configuration?)")


# -- output -------------------------------------------------------------------


def _report(record: CallbackRecord, as_json: bool, what: str) -> None:
    if as_json:
        click.echo(json.dumps(_as_dict(record), indent=2, ensure_ascii=False))
    else:
        click.echo(f"callback {record.id} to {record.number} ({record.queue}): {what}")


def _as_dict(record: CallbackRecord) -> dict[str, Any]:
    return dataclasses.asdict(record)  # enums are str: JSON shows their values


_COLUMNS = ("ID", "STATUS", "QUEUE", "NUMBER", "BOOKED", "WAITED", "ATTEMPTS", "NEXT ATTEMPT")


def _table(records: Sequence[CallbackRecord], now: float) -> str:
    rows = [_COLUMNS, *(_row(r, now) for r in records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows
    )


def _row(r: CallbackRecord, now: float) -> tuple[str, ...]:
    """One table line.  WAITED is how long the customer has waited since
    arriving in the queue (until the callback ended, if it has)."""
    ended = r.finished_at if r.status not in _ACTIVE and r.finished_at is not None else now
    attempts = f"{r.attempts} ({r.last_outcome})" if r.last_outcome else str(r.attempts)
    return (str(r.id), r.status.value, r.queue, r.number, _clock(r.booked_at),
            _duration(ended - r.arrival_time), attempts, _next_attempt(r, now))


def _next_attempt(r: CallbackRecord, now: float) -> str:
    if r.status is CallbackStatus.DIALING:
        return f"dialling ({r.lease_owner})"
    if r.status is not CallbackStatus.PENDING:
        return "-"
    return "due now" if r.next_attempt_at <= now else _clock(r.next_attempt_at)


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
