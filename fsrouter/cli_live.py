"""`fsrouter queues`, `fsrouter calls`, `fsrouter transfer` and `fsrouter
rules show|reload`: the running service's queues, calls and rules, asked
through its admin API
(`cli_api.api_command`: --config, --api, --json).  Readable tables by
default; exit 1 with one line when the service refuses or cannot be reached.
"""

from __future__ import annotations

import time
from typing import Any

import click

from .api.client import ApiClient, ClientError
from .cli_api import api_command, clock, duration, echo_json, echo_table, segment
from .runtime.queue_figures import AGENT_GROUPS



@click.command()
@click.argument("name", required=False)
@api_command
def queues(client: ApiClient, name: str | None, as_json: bool) -> None:
    """Every queue's figures, or queue NAME with its callers and agents."""
    if name is None:
        answer = client.get("/queues")
        if as_json:
            echo_json(answer)
            return
        echo_table(("QUEUE", "WAITING", "RINGING", "LONGEST", "EWT", *(g.upper() for g in AGENT_GROUPS)),
                   ((q["queue"], q["waiting"], q["ringing"], duration(q["longest_wait"]), q["ewt_phrase"],
                     *(q["agents"][g] for g in AGENT_GROUPS)) for q in answer["queues"]))
        return
    answer = client.get("/queues/" + segment(name))
    if as_json:
        echo_json(answer)
        return
    agents = ", ".join(f"{answer['agents'][g]} {g.replace('_', ' ')}" for g in AGENT_GROUPS)
    click.echo(f"{answer['queue']}: {answer['waiting']} waiting, {answer['ringing']} ringing, "
               f"longest {duration(answer['longest_wait'])}, EWT {answer['ewt_phrase'] or '-'}")
    click.echo(f"agents: {agents}")
    if answer["callers"]:
        click.echo("")
        echo_table(("POS", "CALL", "CALLER", "WAITED", "EWT", "STATE"),
                   ((c["position"], c["id"], c["caller"] or None, duration(c["waited"]), c["ewt_phrase"],
                     _caller_state(c)) for c in answer["callers"]))
    if answer["agent_list"]:
        click.echo("")
        echo_table(("AGENT", "NAME", "STATE", "REASON"),
                   ((a["id"], a["name"], a["state"] if a["reachable"] else f"{a['state']} (unreachable)",
                     a["reason"] or None) for a in answer["agent_list"]))


def _caller_state(caller: dict[str, Any]) -> str:
    state = "ringing" if caller["ringing"] else "waiting"
    return f"{state} (callback)" if caller["callback"] else state


@click.command()
@api_command
def calls(client: ApiClient, as_json: bool) -> None:
    """The calls the service is handling now, oldest first."""
    answer = client.get("/calls")
    if as_json:
        echo_json(answer)
    elif not answer["calls"]:
        click.echo("no calls")
    else:
        now = time.time()
        echo_table(("CALL", "CALLER", "LINE", "STATE", "QUEUE", "AGENT", "SINCE"),
                   ((c["uuid"], c["caller"] or None, c["line"], c["state"], c["queue"], c["agent"],
                     duration(now - c["since"])) for c in answer["calls"]))


@click.command()
@click.argument("call_uuid", metavar="CALL")
@click.option("--queue", required=True, help="The rules queue the caller goes to.")
@click.option("--note", default="", help="What the next agent's whisper says (at most 200 characters).")
@click.option("--attended", is_flag=True, help="The agent stays on until the next one answers.")
@api_command
def transfer(client: ApiClient, call_uuid: str, queue: str, note: str, attended: bool, as_json: bool) -> None:
    """Send the bridged CALL on to QUEUE, keeping its context, with a note
    for the next agent (a warm transfer, as the agent's `*` keys do)."""
    answer = client.post(f"/calls/{segment(call_uuid)}/transfer",
                         {"queue": queue, "note": note, "attended": attended})
    if as_json:
        echo_json(answer)
    else:
        click.echo(f"call {answer['call']} transferred to {answer['queue']}")


@click.group()
def rules() -> None:
    """Show the rules the running service runs, or reload them."""


@rules.command()
@api_command
def show(client: ApiClient, as_json: bool) -> None:
    """The rules' SHA-256, when they were loaded, and the last reload's outcome."""
    answer = client.get("/rules")
    if as_json:
        echo_json(answer)
        return
    click.echo(f"rules {answer['digest'][:16]}, loaded {clock(answer['loaded_at'])}")
    last = answer["last_reload"]
    if last is not None and not last["applied"]:
        click.echo(f"last reload refused at {clock(last['at'])}:")
        for problem in last["problems"]:
            click.echo(f"  {problem['text']}")


@rules.command()
@api_command
def reload(client: ApiClient, as_json: bool) -> None:
    """Reload the rules as SIGHUP does; refused rules are listed, exit 1."""
    try:
        answer = client.post("/rules/reload")
    except ClientError as exc:
        if exc.status == 422 and isinstance(exc.detail, dict):
            for problem in exc.detail.get("problems", ()):
                click.echo(problem["text"], err=True)
        raise
    if as_json:
        echo_json(answer)
    elif answer.get("applied"):
        click.echo(f"rules reloaded: {answer['digest'][:16]}, loaded {clock(answer['loaded_at'])}")
    else:
        click.echo(answer.get("message", "reload under way"))
