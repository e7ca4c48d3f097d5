"""`GET /rules` (which rules run, since when, and how the last reload went)
and `POST /rules/reload` (the SIGHUP reload, answered with its outcome).

A reload asked for here takes the very path of SIGHUP (`Service.reload`:
systemd hears RELOADING/READY, a reload already running is followed by one
more) and the answer waits for it: 200 when applied, 422 with every error
and its position when the rules on disk were refused (the running plan stays
in force), 202 when it is still compiling after `wait` seconds (then ask
`GET /rules`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fsrouter.api.routing import Response, Router

if TYPE_CHECKING:
    from fsrouter.runtime.reload import PlanHolder, ReloadOutcome

#: Longest a request waits for its reload: under the server's connection deadline.
RELOAD_WAIT = 20.0


def add_routes(router: Router, plans: PlanHolder, reload: Callable[[], None], *, wait: float = RELOAD_WAIT) -> None:
    router.add("GET", "/rules", lambda request: _version(plans))

    def reload_now(request) -> Response:
        reload()
        plans.wait_reloaded(wait)
        if plans.reloading:
            return Response.json({"applied": None, "message": "still reloading: GET /rules for the outcome"}, 202)
        outcome = plans.last
        assert outcome is not None  # a reload has run
        if outcome.applied:
            return Response.json({"applied": True, **_version(plans)})
        return Response.json({"applied": False, "error": "the rules were refused; the running plan stays in force",
                              "problems": _problems(outcome)}, 422)

    router.add("POST", "/rules/reload", reload_now)


def _version(plans: PlanHolder) -> dict:
    last = plans.last
    return {"digest": plans.digest, "loaded_at": plans.loaded_at,
            "last_reload": None if last is None else {"applied": last.applied, "at": last.at,
                                                      "problems": _problems(last)}}


def _problems(outcome: ReloadOutcome) -> list[dict]:
    return [{"position": str(p.pos), "file": p.pos.file, "line": p.pos.line, "column": p.pos.column,
             "severity": p.severity, "message": p.message, "expected": p.expected, "text": str(p)}
            for p in outcome.problems]
