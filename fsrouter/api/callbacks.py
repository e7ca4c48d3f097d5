"""`/callbacks`: the booked callbacks, and a supervisor's two changes to one.

    GET  /callbacks[?status=pending&queue=billing]   in line order
    POST /callbacks/{id}/cancel                      pending or dialling -> cancelled
    POST /callbacks/{id}/retry                       pending, failed or cancelled -> due now

The changes go through the store, where the callback dialler sees them at
its next poll (every second): a cancelled callback leaves the line, one
made due enters it at its old place.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from fsrouter.api.routing import ApiError, Request, Router, id_param, stored
from fsrouter.store import CallbackNotFound, CallbackRecord, CallbackStatus, InvalidTransition, Store

_STATUSES = tuple(s.value for s in CallbackStatus)


def add_routes(router: Router, store: Store, clock: Callable[[], float] = time.time) -> None:
    def listed(request: Request) -> dict:
        status = request.query.get("status") or None
        if status is not None and status not in _STATUSES:
            raise ApiError(400, f"unknown status {status!r} (statuses: {', '.join(_STATUSES)})")
        return {"callbacks": [view(r) for r in _asked(lambda: store.list_callbacks(status,
                                                                                  request.query.get("queue") or None))]}

    def change(what: Callable[[int], CallbackRecord]):
        def handler(request: Request) -> dict:
            cb_id = id_param(request, "callback")
            return view(_asked(lambda: what(cb_id)))
        return handler

    router.add("GET", "/callbacks", listed)
    router.add("POST", "/callbacks/{id}/cancel", change(lambda cb_id: store.cancel(cb_id, clock())))
    router.add("POST", "/callbacks/{id}/retry", change(lambda cb_id: store.retry(cb_id, clock())))


def view(record: CallbackRecord) -> dict[str, Any]:
    return dataclasses.asdict(record)  # enums are str: JSON shows their values


def _asked(work):
    """`work()`: an unknown callback is 404, a change its status forbids 409
    (both store errors, told apart first), any other store failure 503."""

    def answered():
        try:
            return work()
        except CallbackNotFound as exc:
            raise ApiError(404, str(exc)) from None
        except InvalidTransition as exc:
            raise ApiError(409, str(exc)) from None

    return stored(answered)
