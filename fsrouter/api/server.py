"""The admin HTTP API's server: routes, the token, JSON in and out.

Served by gevent's WSGI server on the main loop, the same loop that carries
every call, so a request must cost little and no client may hold the server:
each read or write waits at most `idle_timeout`, a connection lives at most
`connection_timeout` (a client trickling one byte at a time is cut off), and
at most `max_connections` are served at once (beyond that, new ones wait in
the listen backlog until a slot frees).  Every request but the public ones
(a page holding no data) needs the bearer token when one is configured.

Without a token (allowed on loopback only), the machine's own browser is the
way in for anybody: a web page may post to 127.0.0.1 (cross-site request
forgery), or rebind its own name to 127.0.0.1 and read the answers (DNS
rebinding).  So a request must then name a loopback host, and one coming
from a page (`Origin`) must come from a loopback origin.
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

import gevent
import gevent.pool
from gevent.pywsgi import WSGIServer

from fsrouter.api.routing import MAX_BODY, ApiError, Request, Response, Route, Router, parse_query
from fsrouter.api.token import authorized

log = logging.getLogger(__name__)

_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized",
            404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
            422: "Unprocessable Content",
            500: "Internal Server Error", 503: "Service Unavailable"}


class _BoundedWSGIServer(WSGIServer):
    """gevent's WSGI server with a deadline on every connection."""

    def __init__(self, *args, idle_timeout: float, connection_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.idle_timeout = idle_timeout
        self.connection_timeout = connection_timeout

    def handle(self, sock, address):
        # pywsgi has no timeout of its own: an idle keep-alive or a request
        # never finished would hold its greenlet and socket for ever.
        sock.settimeout(self.idle_timeout)
        try:
            with gevent.Timeout(self.connection_timeout, False):
                super().handle(sock, address)
        finally:
            sock.close()


class AdminAPI:
    """The routes of `router`, behind `token` (None: no token asked)."""

    def __init__(self, host: str, port: int, router: Router, *, token: str | None = None,
                 idle_timeout: float = 10.0, connection_timeout: float = 30.0, max_connections: int = 32):
        self._router = router
        self._token = token
        self._server = _BoundedWSGIServer(
            (host, port), self._app, log=None, error_log=log, spawn=gevent.pool.Pool(max_connections),
            idle_timeout=idle_timeout, connection_timeout=connection_timeout)

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address

    @property
    def needs_token(self) -> bool:
        return self._token is not None

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop(timeout=1)

    def _app(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "")
        # PEP 3333: the path is percent-decoded bytes held as latin-1; names are UTF-8.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        headers = [("Cache-Control", "no-store")]
        try:
            route, params = self._route(method, path, environ)
            request = Request(method, path, params, parse_query(environ.get("QUERY_STRING", "")), _body(environ))
            result = route.handler(request)
            if not isinstance(result, Response):
                result = Response.json(result)  # inside: a value JSON cannot hold is a 500 like any fault
        except ApiError as exc:
            result = Response.json({"error": exc.message}, exc.status)
            if exc.status == 401:
                headers.append(("WWW-Authenticate", 'Bearer realm="fsrouter"'))
        except Exception:  # noqa: BLE001 - one request fails, never the server
            log.exception("admin API: %s %s failed", method, path)
            result = Response.json({"error": "internal error (see the service log)"}, 500)
        body = result.body.encode() if isinstance(result.body, str) else result.body
        start_response(f"{result.status} {_REASONS.get(result.status, 'Status')}",
                       [("Content-Type", result.content_type), ("Content-Length", str(len(body))), *headers])
        return [body]

    def _route(self, method: str, path: str, environ) -> tuple[Route, dict[str, str]]:
        """The route, once the request is let in: otherwise only a public
        route is answered, and a 404 or 405 is a 401 (no probing for what
        the API has)."""
        refusal = self._refusal(environ)
        try:
            route, params = self._router.match(method, path)
        except ApiError:
            if refusal:
                raise ApiError(401, refusal) from None
            raise
        if refusal and not route.public:
            raise ApiError(401, refusal)
        return route, params

    def _refusal(self, environ) -> str | None:
        """Why the request may not have what is behind the token, if it may not.
        Without a token, it must name a loopback host and come from no page,
        or from a loopback page."""
        if self._token is not None:
            if authorized(environ.get("HTTP_AUTHORIZATION"), self._token):
                return None
            return "a valid bearer token is required"
        origin = environ.get("HTTP_ORIGIN")
        if _loopback_name(environ.get("HTTP_HOST", "")) and (origin is None or _loopback_name(urlsplit(origin).netloc)):
            return None
        return "without a token, only requests to a loopback host from no page or a loopback page are served"


def _loopback_name(host: str) -> bool:
    """Whether a Host header or an origin's host[:port] names this machine
    literally (no name is resolved: that is what DNS rebinding abuses)."""
    try:
        name = urlsplit("//" + host).hostname or ""
    except ValueError:  # "[::1" and the like
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _body(environ) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "bad Content-Length") from None
    if length > MAX_BODY:
        raise ApiError(413, f"the body is over {MAX_BODY} bytes")
    return environ["wsgi.input"].read(length) if length > 0 else b""
