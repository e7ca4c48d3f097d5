"""`/notices`: switch a supervisor's notice on, clear it, list what is on.

    GET    /notices                      the notices callers hear now
    POST   /notices                      {"scope", "prompt", "until" | "for"}: 201
    DELETE /notices/{id}                 clear one
    DELETE /notices?scope=line:+30...    clear the one on for a scope

Bad input is a 400 saying why (an unknown prompt lists the ones there are);
nothing is stored then.  A notice is committed to the store before the
answer says it is on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fsrouter.api.routing import ApiError, Request, Response, Router, id_param, stored
from fsrouter.notices import Notice, NoticeError

if TYPE_CHECKING:
    from fsrouter.runtime.notices import NoticeDesk

_FIELDS = ("scope", "prompt", "until", "for")


def add_routes(router: Router, desk: NoticeDesk) -> None:
    def view(notice: Notice | None) -> dict[str, Any] | None:
        if notice is None:
            return None
        return {"id": notice.id, "scope": notice.scope, "prompt": notice.prompt,
                "created_at": notice.created_at, "expires_at": notice.expires_at, "ends": desk.ends(notice)}

    def listed(request: Request) -> dict:
        return {"notices": [view(n) for n in desk.live()]}

    def switch_on(request: Request) -> Response:
        body = request.json()
        unknown = sorted(set(body) - set(_FIELDS))
        if unknown:
            raise ApiError(400, f"unknown field {unknown[0]!r} (fields: {', '.join(_FIELDS)})")
        for name in _FIELDS:
            if name in body and not isinstance(body[name], str):
                raise ApiError(400, f"{name} must be a string")
        for name in ("scope", "prompt"):
            if name not in body:
                raise ApiError(400, f"{name} is required")
        try:
            done = stored(lambda: desk.switch_on(body["scope"], body["prompt"], until=body.get("until"),
                                                  lasting=body.get("for")))
        except NoticeError as exc:
            raise ApiError(400, str(exc)) from None
        return Response.json({"notice": view(done.notice), "replaced": view(done.replaced),
                              "warnings": done.warnings}, 201)

    def clear_one(request: Request) -> dict:
        notice_id = id_param(request, "notice")
        return cleared(stored(lambda: desk.clear(notice_id=notice_id)), f"no notice {notice_id} is on")

    def clear_scope(request: Request) -> dict:
        scope = request.query.get("scope")
        if not scope:
            raise ApiError(400, "say which: DELETE /notices/ID or DELETE /notices?scope=SCOPE")
        try:
            gone = stored(lambda: desk.clear(scope=scope))
        except NoticeError as exc:
            raise ApiError(400, str(exc)) from None
        return cleared(gone, f"no notice is on for {scope}")

    def cleared(notices: list[Notice], nothing: str) -> dict:
        if not notices:
            raise ApiError(404, nothing)
        return {"cleared": [view(n) for n in notices]}

    router.add("GET", "/notices", listed)
    router.add("POST", "/notices", switch_on)
    router.add("DELETE", "/notices", clear_scope)
    router.add("DELETE", "/notices/{id}", clear_one)

