"""Requests to the admin API, matched to handlers by method and path.

Resources register their routes on a `Router` (see `resources.py`); a
handler gets a `Request` and returns what is sent back as JSON, or raises
`ApiError` with the status and a message for the client.  The router knows
nothing of sockets or WSGI: tests call `Router.dispatch` directly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fsrouter.store.errors import StoreError

#: Largest request body read, in bytes: every resource takes a small JSON object.
MAX_BODY = 64 * 1024


class ApiError(Exception):
    """Answer `status` with `{"error": message}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    #: The `{name}` parts of the route's pattern.
    params: Mapping[str, str] = field(default_factory=dict)
    #: The query string, one value per name (the last one given).
    query: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (`{}` when empty); 400 otherwise."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"the body is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ApiError(400, "the body must be a JSON object")
        return value


@dataclass(frozen=True)
class Response:
    """What a handler may return instead of a JSON value: another status,
    or a body that is not JSON (a page, Prometheus text)."""

    body: bytes | str
    status: int = 200
    content_type: str = "application/json"

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Response:
        """`value` as JSON with another status than 200 (an error with more
        than its message, such as the problems of refused rules)."""
        return cls(encode_json(value), status)


def encode_json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


Handler = Callable[[Request], Any]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    #: Served without the token: only what holds no data (the wallboard's page itself).
    public: bool = False


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, path: str, handler: Handler, *, public: bool = False) -> None:
        """Route `method path` to `handler`; `{name}` in `path` matches one
        path segment, handed to the handler as `request.params[name]`."""
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        self.routes.append(Route(method, re.compile(regex + r"\Z"), handler, public))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for `method path` and its parameters; 404 or 405 otherwise."""
        allowed = []
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                if route.method == method:
                    return route, found.groupdict()
                allowed.append(route.method)
        if allowed:
            raise ApiError(405, f"{method} is not allowed on {path} (allowed: {', '.join(allowed)})")
        raise ApiError(404, f"no resource {path}")

    def dispatch(self, method: str, path: str, body: bytes = b"", query: str = "") -> Any:
        """What the handler of `method path` answers (for tests: no token,
        no socket); `ApiError` as the server would answer it."""
        route, params = self.match(method, path)
        return route.handler(Request(method, path, params, parse_query(query), body))


def parse_query(query_string: str) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(query_string, keep_blank_values=True).items()}


def id_param(request: Request, what: str, name: str = "id") -> int:
    """The path's `{id}` as a store id; anything else names no such object (404)."""
    text = request.params[name]
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise ApiError(404, f"no {what} {text!r}")
    return int(text)


def stored(work: Callable[[], Any]) -> Any:
    """`work()`, a store's failing being the service's trouble, not the request's: 503."""
    try:
        return work()
    except StoreError as exc:
        raise ApiError(503, f"the store did not answer: {exc}") from None
