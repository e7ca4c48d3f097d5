"""`GET /calls`: the calls the service is handling now (`runtime/live_calls.py`);
`POST /calls/{uuid}/transfer`: a supervisor sends a bridged call on to
another queue with a note for the next agent (`runtime/transfers.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fsrouter.api.routing import ApiError, Request, Router
from fsrouter.runtime.transfers import TransferRefused

if TYPE_CHECKING:
    from fsrouter.runtime.live_calls import LiveCalls
    from fsrouter.runtime.queue_runtime import QueueRuntime

_TRANSFER_FIELDS = {"queue": str, "note": str, "attended": bool}


def add_routes(router: Router, calls: LiveCalls, runtime: QueueRuntime) -> None:
    router.add("GET", "/calls", lambda request: {"calls": calls.listing(runtime)})
    router.add("POST", "/calls/{uuid}/transfer", lambda request: _transfer(runtime, request))


def _transfer(runtime: QueueRuntime, request: Request) -> dict:
    """`{"queue": "billing", "note": "...", "attended": false}` -> the queue
    the call went to (over the transfer cap, the queue's `over_cap`)."""
    body = request.json()
    unknown = sorted(set(body) - set(_TRANSFER_FIELDS))
    if unknown:
        raise ApiError(400, f"unknown fields: {', '.join(unknown)} (expected: queue, note, attended)")
    for name, kind in _TRANSFER_FIELDS.items():
        if name in body and not isinstance(body[name], kind):
            raise ApiError(400, f"{name} must be a {'boolean' if kind is bool else 'string'}")
    if not body.get("queue"):
        raise ApiError(400, "queue is required")
    uuid = request.params["uuid"]
    try:
        queue = runtime.transfer_call(uuid, body["queue"], body.get("note", ""), body.get("attended", False))
    except TransferRefused as exc:
        raise ApiError(409, str(exc)) from None
    return {"call": uuid, "queue": queue}
