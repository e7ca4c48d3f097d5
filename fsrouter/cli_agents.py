"""`fsrouter agents list|show|login|logout|pause|unpause|skills`: the running
service's agents, through its admin API (`cli_api.api_command`: --config,
--api, --json).  A change prints the agent as it is after it; a refusal (no
such agent, a state that forbids it, a store that cannot keep it) is one
line and exit status 1.
"""

from __future__ import annotations

from typing import Any

import click

from .api.client import ApiClient
from .cli_api import api_command, duration, echo_json, echo_table, segment


@click.group()
def agents() -> None:
    """Agents of the running service: who is in, log them in and out, pause, skills."""


@agents.command("list")
@api_command
def list_agents(client: ApiClient, as_json: bool) -> None:
    """Every agent: state, pause reason, calls taken, skills."""
    answer = client.get("/agents")
    if as_json:
        echo_json(answer)
        return
    echo_table(("AGENT", "NAME", "STATE", "REASON", "CALLS", "TALK", "SKILLS"),
               ((a["id"], a["name"], _state(a), a["reason"] or None, a["calls"], duration(a["talk_time"]),
                 _skills(a["skills"]) or None) for a in answer["agents"]))


@agents.command()
@click.argument("agent_id")
@api_command
def show(client: ApiClient, agent_id: str, as_json: bool) -> None:
    """One agent."""
    _print(client.get(_path(agent_id)), as_json)


def _change(action: str, help_text: str):
    @agents.command(action, help=help_text)
    @click.argument("agent_id")
    @api_command
    def change(client: ApiClient, agent_id: str, as_json: bool) -> None:
        _print(client.post(f"{_path(agent_id)}/{action}"), as_json)

    return change


login = _change("login", "Log AGENT_ID in: calls are offered to them.")
logout = _change("logout", "Log AGENT_ID out (after the call they are on, if any).")
unpause = _change("unpause", "End AGENT_ID's pause.")


@agents.command()
@click.argument("agent_id")
@click.option("--reason", default="break", show_default=True, help="Why: break, lunch, training...")
@api_command
def pause(client: ApiClient, agent_id: str, reason: str, as_json: bool) -> None:
    """Pause AGENT_ID (after the call they are on, if any): no calls offered."""
    _print(client.post(f"{_path(agent_id)}/pause", {"reason": reason}), as_json)


@agents.command()
@click.argument("agent_id")
@click.argument("levels", nargs=-1, required=True, metavar="SKILL=LEVEL...")
@api_command
def skills(client: ApiClient, agent_id: str, levels: tuple[str, ...], as_json: bool) -> None:
    """Set AGENT_ID's skill levels (1-10; 0 removes a skill) from the next
    offer on, until a reload changes the agent's skills in the rules."""
    _print(client.call("PUT", f"{_path(agent_id)}/skills", _levels(levels)), as_json)


def _levels(pairs: tuple[str, ...]) -> dict[str, int]:
    levels = {}
    for pair in pairs:
        name, sep, level = pair.partition("=")
        if not sep or not name or not level.strip().isdigit():
            raise click.BadParameter(f"{pair!r}: expected SKILL=LEVEL, e.g. billing=7", param_hint="SKILL=LEVEL")
        levels[name] = int(level)
    return levels


def _path(agent_id: str) -> str:
    return "/agents/" + segment(agent_id)


def _print(agent: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(agent)
        return
    reason = f" ({agent['reason']})" if agent["reason"] else ""
    click.echo(f"{agent['id']} {agent['name']}: {_state(agent)}{reason}")
    if agent["skills"]:
        click.echo(f"skills: {_skills(agent['skills'])}")


def _state(agent: dict[str, Any]) -> str:
    state = agent["state"]
    if agent["pending"]:
        state += f", then {'logged out' if agent['pending'] == 'logout' else 'paused'}"
    return state if agent["reachable"] else f"{state} (unreachable)"


def _skills(skills: dict[str, int]) -> str:
    return ", ".join(f"{name}={level}" for name, level in sorted(skills.items()))
