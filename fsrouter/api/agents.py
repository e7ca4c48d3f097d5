"""`/agents`: who is logged in, on a call, paused and why; log agents in and
out, pause and unpause them, set their skills (docs/api.md).

Every change goes through the service's `AgentDesk` (runtime/agent_desk.py),
as a feature code on the phone does: checked, stored, then applied.  Its
refusals carry their status: 404 no such agent, 400 a bad value, 409 the
agent's state forbids it, 503 the store could not keep it (nothing changed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fsrouter.api.routing import ApiError, Request, Router
from fsrouter.runtime.agent_desk import DeskError

if TYPE_CHECKING:
    from fsrouter.acd import AgentStatus
    from fsrouter.runtime.agent_desk import AgentDesk

ACTIONS = ("login", "logout", "pause", "unpause")


def describe(status: AgentStatus) -> dict[str, Any]:
    """An agent as the API shows it."""
    return {
        "id": status.agent_id,
        "name": status.name,
        "state": str(status.state),
        "reason": status.reason,
        "pending": status.pending,
        "reachable": status.reachable,
        "ready_at": status.ready_at,
        "skills": dict(status.skills),
        "calls": status.calls,
        "talk_time": round(status.talk_time, 1),
        "consecutive_misses": status.consecutive_misses,
    }


def add_routes(router: Router, desk: AgentDesk) -> None:
    def answer(work):
        try:
            return describe(work())
        except DeskError as exc:
            raise ApiError(exc.status, str(exc)) from None

    def listing(request: Request) -> dict:
        return {"agents": [describe(desk.status(agent_id)) for agent_id in desk.agent_ids()]}

    def one(request: Request) -> dict:
        return answer(lambda: desk.status(request.params["id"]))

    def change(action: str):
        def handler(request: Request) -> dict:
            body = request.json()
            reason = body.get("reason", "") if action == "pause" else ""
            if not isinstance(reason, str):
                raise ApiError(400, f"reason must be text, got {reason!r}")
            return answer(lambda: desk.change(request.params["id"], action, reason))
        return handler

    def skills(request: Request) -> dict:
        return answer(lambda: desk.set_skills(request.params["id"], request.json()))

    router.add("GET", "/agents", listing)
    router.add("GET", "/agents/{id}", one)
    for action in ACTIONS:
        router.add("POST", f"/agents/{{id}}/{action}", change(action))
    router.add("PUT", "/agents/{id}/skills", skills)
    router.add("POST", "/agents/{id}/skills", skills)
