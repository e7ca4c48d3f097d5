"""What every `fsrouter` command that talks to a running service shares.

`@api_command` gives a click command the options `--config PATH` (the
service configuration: where the API listens and where its token is),
`--api URL` (another address) and `--json`, and calls it with an
`ApiClient` as `client` and the flag as `as_json`.  Whatever the service
answers with an error, or a service that cannot be reached, is one line on
stderr and exit status 1; usage mistakes are click's (exit 2).

The output helpers (`echo_json`, `echo_table`, `duration`, `clock`) keep every
command's tables alike.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from .api.client import ApiClient, ClientError
from .api.token import TokenError
from .config import load_config
from .logs import escape_controls
from .rules import RulesError

#: Read for the token when `--api` is given without a configuration.
TOKEN_ENV = "FSROUTER_API_TOKEN"


def api_command(command: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a click command (put it under `@group.command()`): it gets
    `client` and `as_json`; `ClientError` it lets through becomes one line."""

    @api_options
    @wraps(command)
    def run(config_path: str, api_url: str | None, **kwargs: Any) -> None:
        client = connect(config_path, api_url)
        try:
            command(client=client, **kwargs)
        except ClientError as exc:
            raise click.ClickException(str(exc)) from None

    return run


def api_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options `--config`, `--api` and `--json`, passed to `command` as
    `config_path`, `api_url` and `as_json` (for commands that connect in
    their own way; most use `api_command`)."""
    command = click.option("--json", "as_json", is_flag=True,
                           help="Print the API's JSON answer instead of a table.")(command)
    command = click.option("--api", "api_url", metavar="URL",
                           help="The service's admin API (default: the configuration's api.host and api.port).")(command)
    return click.option("--config", "config_path", default="config/fsrouter.yaml", show_default=True,
                        type=click.Path(dir_okay=False),
                        help="Service configuration: the API's address and token.")(command)


def connect(config_path: str, api_url: str | None) -> ApiClient:
    """The client for the configuration at `config_path`, or for `api_url`
    (with the configuration's token; without a configuration file, the
    token of the environment variable FSROUTER_API_TOKEN, if set)."""
    if not Path(config_path).is_file():
        if api_url is None:
            raise click.UsageError(f"no service configuration at {config_path}: give --config or --api URL")
        return ApiClient(api_url.rstrip("/"), os.environ.get(TOKEN_ENV, "").strip() or None)
    try:
        return ApiClient.from_config(load_config(config_path), api_url)
    except RulesError as exc:
        raise click.ClickException(f"{config_path}: {exc.problems[0] if exc.problems else exc}") from None
    except (TokenError, ClientError) as exc:
        raise click.ClickException(str(exc)) from None


def segment(value: str) -> str:
    """`value` as one segment of an API path (an agent id, a queue, a call uuid)."""
    return quote(value, safe="")


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def echo_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Columns padded to their widest cell; None shows as "-".  Cells carry
    callers' values (caller ids, names): control characters are shown
    escaped, so a cell can neither forge a line nor drive the terminal."""
    lines = [tuple(columns),
             *(tuple("-" if cell is None else escape_controls(str(cell)) for cell in row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    for line in lines:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())


def duration(seconds: float | None) -> str:
    """A duration as people read it on a board: 42s, 3m05s, 1h02m."""
    if seconds is None:
        return "-"
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def clock(t: float) -> str:
    """A moment in local time, to the second."""
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")
