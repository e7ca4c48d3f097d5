"""`fsrouter notice set|clear|list`: a supervisor's notices, through the
running service's admin API (docs/api.md, `/notices`).

The service checks everything against the rules it runs (the queue exists,
the prompt exists in every language, `--until` in the rules' time zone) and
answers with one line when it refuses: printed as is, exit status 1.  A
scope that cannot be one is a usage error here already (exit 2).
"""

from __future__ import annotations

from urllib.parse import quote

import click

from .api.client import ApiClient
from .cli_api import api_command, echo_json, echo_table
from .notices import SCOPE_HINT, NoticeError, parse_scope


def _scope(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return parse_scope(value).key
    except NoticeError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group()
def notice() -> None:
    """Switch a notice on for callers (a line, brand, queue or everyone), clear it, list them."""


@notice.command("set")
@click.option("--scope", required=True, callback=_scope, help=f"Who hears it: {SCOPE_HINT}.")
@click.option("--prompt", required=True, help="The prompt to play, e.g. notices/outage_athens.")
@click.option("--until", "until", metavar="HH:MM", help="Ends at this time in the rules' time zone "
              "(today, or tomorrow if already past), or at YYYY-MM-DD HH:MM.")
@click.option("--for", "lasting", metavar="DURATION", help="Ends after this long: 90s, 45m, 2h, 1h30m.")
@api_command
def set_notice(client: ApiClient, scope: str, prompt: str, until: str | None, lasting: str | None,
               as_json: bool) -> None:
    """Switch a notice on: callers reaching a `notice:` step of its scope
    hear PROMPT instead of nothing.  It replaces the notice on for that scope."""
    if until is not None and lasting is not None:
        raise click.UsageError("give --until or --for, not both")
    body = {"scope": scope, "prompt": prompt}
    body.update({name: value for name, value in (("until", until), ("for", lasting)) if value is not None})
    answer = client.post("/notices", body)
    if as_json:
        echo_json(answer)
        return
    on = answer["notice"]
    click.echo(f"notice {on['id']} on for {on['scope']}: {on['prompt']}, "
               f"{'until ' + on['ends'] if on['ends'] else 'until cleared'}"
               + (f" (replaces notice {answer['replaced']['id']})" if answer["replaced"] else ""))
    for warning in answer["warnings"]:
        click.echo(f"warning: {warning}", err=True)


@notice.command()
@click.argument("notice_id", metavar="[ID]", type=int, required=False)
@click.option("--scope", callback=_scope, help="Clear the notice on for this scope instead.")
@api_command
def clear(client: ApiClient, notice_id: int | None, scope: str | None, as_json: bool) -> None:
    """Clear notice ID, or the one on for --scope: callers hear it no more."""
    if (notice_id is None) == (scope is None):
        raise click.UsageError("give a notice ID or --scope, one of the two")
    answer = client.delete(f"/notices/{notice_id}" if scope is None else f"/notices?scope={quote(scope)}")
    if as_json:
        echo_json(answer)
        return
    for gone in answer["cleared"]:
        click.echo(f"notice {gone['id']} cleared ({gone['scope']}: {gone['prompt']})")


@notice.command("list")
@api_command
def list_notices(client: ApiClient, as_json: bool) -> None:
    """The notices callers hear now."""
    answer = client.get("/notices")
    if as_json:
        echo_json(answer)
    elif answer["notices"]:
        echo_table(("ID", "SCOPE", "PROMPT", "ENDS"),
                   ((n["id"], n["scope"], n["prompt"], n["ends"] or "when cleared") for n in answer["notices"]))
    else:
        click.echo("no notices on")
