"""`/reports/calls`: the stored calls of a range of days, one record each.

    GET /reports/calls?from=2026-12-01&to=2026-12-06[&queue=billing]

The records are `fsrouter report --calls`'s (`fsrouter.call_records`): days
in the rules' time zone, read from the store the service writes its
statistics to.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo

from fsrouter.api.routing import ApiError, Request, Router, stored
from fsrouter.call_records import read_call_records


def add_routes(router: Router, store, tz: Callable[[], tzinfo]) -> None:
    """The route over `store`, days in `tz()` (the current rules' zone)."""

    def calls(request: Request) -> dict:
        first, last = _day(request, "from"), _day(request, "to")
        if last < first:
            raise ApiError(400, "to is before from")
        records = stored(lambda: read_call_records(store, first, last, tz(), request.query.get("queue") or None))
        return {"calls": [record.as_dict() for record in records]}

    router.add("GET", "/reports/calls", calls)


def _day(request: Request, name: str) -> date:
    """Query parameter `name` as a day, YYYY-MM-DD (as `fsrouter report` takes it)."""
    value = request.query.get(name)
    if not value:
        raise ApiError(400, f"{name}=YYYY-MM-DD is required")
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ApiError(400, f"{name} must be a day as YYYY-MM-DD, got {value!r}") from None
