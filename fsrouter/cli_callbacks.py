"""`fsrouter callbacks`: a supervisor's view of booked callbacks.

List them, cancel one, or make one due again.  By default through the
running service's admin API (`--config` gives its address and token,
`--api URL` another address), like every command that talks to the service.
`--database URL` works on the store directly, for when the service is
down: that is as safe as the API, because every change is one store
transaction checked against the callback's status under a row lock, and the
service's callback dialler learns of it from the store at its next poll
(every second), exactly as of a change made through the API.  Exit codes:
0 done, 1 refused (unknown id, a transition the callback's status does not
allow, service or database unreachable), 2 usage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import click

from .api.callbacks import view as _as_dict
from .api.client import ApiClient, ClientError
from .cli_api import api_options, clock, connect, duration, echo_json, echo_table
from .cli_store import opened
from .store import AttemptOutcome, CallbackRecord, CallbackStatus, Store
from .store.records import OWED



@click.group()
def callbacks() -> None:
    """List, cancel and retry booked callbacks."""


class _Api:
    """The callbacks as the running service's API gives them."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    def list_callbacks(self, status: str | None, queue: str | None) -> list[CallbackRecord]:
        query = urlencode({name: value for name, value in (("status", status), ("queue", queue)) if value})
        return [_record(c) for c in self._client.get("/callbacks" + (f"?{query}" if query else ""))["callbacks"]]

    def cancel(self, callback_id: int) -> CallbackRecord:
        return _record(self._client.post(f"/callbacks/{callback_id}/cancel"))

    def retry(self, callback_id: int) -> CallbackRecord:
        return _record(self._client.post(f"/callbacks/{callback_id}/retry"))


class _Database:
    """The callbacks straight from the store (`--database`)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.list_callbacks = store.list_callbacks
        self.cancel = store.cancel

    def retry(self, callback_id: int) -> CallbackRecord:
        return self._store.retry(callback_id, time.time())


def _record(answer: dict[str, Any]) -> CallbackRecord:
    outcome = answer.get("last_outcome")
    return CallbackRecord(**{**answer, "status": CallbackStatus(answer["status"]),
                             "last_outcome": AttemptOutcome(outcome) if outcome else None})


def _source_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """cli_api's --config/--api/--json and --database, turned into a
    `callbacks` argument (the API, or the store with --database)."""

    @api_options
    @click.option("--database", metavar="URL", help="Work on this store directly (the service may be down).")
    @wraps(command)
    def run(config_path: str, api_url: str | None, database: str | None, **kwargs: Any) -> None:
        if database is not None:
            if api_url is not None:
                raise click.UsageError("give --api or --database, not both")
            with opened(database) as store:
                command(callbacks=_Database(store), **kwargs)
            return
        try:
            command(callbacks=_Api(connect(config_path, api_url)), **kwargs)
        except ClientError as exc:
            down = " (is fsrouter running? --database URL works on the store directly)" if exc.status is None else ""
            raise click.ClickException(f"{exc}{down}") from None

    return run


@callbacks.command("list")
@click.option("--status", type=click.Choice([s.value for s in CallbackStatus]),
              help="Only callbacks in this status.")
@click.option("--queue", help="Only callbacks of this queue.")
@_source_options
def list_callbacks(callbacks, status: str | None, queue: str | None, as_json: bool) -> None:
    """List callbacks in line order (the order they are dialled in)."""
    records = callbacks.list_callbacks(status, queue)
    if as_json:
        echo_json([_as_dict(r) for r in records])
    elif records:
        now = time.time()
        echo_table(_COLUMNS, (_row(r, now) for r in records))
    else:
        click.echo("no callbacks")


@callbacks.command()
@click.argument("callback_id", metavar="ID", type=int)
@_source_options
def cancel(callbacks, callback_id: int, as_json: bool) -> None:
    """Cancel callback ID (pending or being dialled)."""
    _report(callbacks.cancel(callback_id), as_json, "cancelled")


@callbacks.command()
@click.argument("callback_id", metavar="ID", type=int)
@_source_options
def retry(callbacks, callback_id: int, as_json: bool) -> None:
    """Make callback ID (pending, failed or cancelled) due again now."""
    _report(callbacks.retry(callback_id), as_json, "pending again, due now")


# -- output -------------------------------------------------------------------


def _report(record: CallbackRecord, as_json: bool, what: str) -> None:
    if as_json:
        echo_json(_as_dict(record))
    else:
        click.echo(f"callback {record.id} to {record.number} ({record.queue}): {what}")


_COLUMNS = ("ID", "STATUS", "QUEUE", "NUMBER", "BOOKED", "WAITED", "ATTEMPTS", "NEXT ATTEMPT")


def _row(r: CallbackRecord, now: float) -> tuple[str, ...]:
    """One table line.  WAITED is how long the customer has waited since
    arriving in the queue (until the callback ended, if it has)."""
    ended = r.finished_at if r.status not in OWED and r.finished_at is not None else now
    attempts = f"{r.attempts} ({r.last_outcome})" if r.last_outcome else str(r.attempts)
    return (str(r.id), r.status.value, r.queue, r.number, clock(r.booked_at),
            duration(ended - r.arrival_time), attempts, _next_attempt(r, now))


def _next_attempt(r: CallbackRecord, now: float) -> str:
    if r.status is CallbackStatus.DIALING:
        return f"dialling ({r.lease_owner})"
    if r.status is not CallbackStatus.PENDING:
        return "-"
    return "due now" if r.next_attempt_at <= now else clock(r.next_attempt_at)


