"""The admin API server over a real socket: the token, routing, JSON
errors; a failing handler fails its request, never the server."""

from __future__ import annotations

import gevent
import pytest

from fsrouter.api.client import ApiClient as BlockingClient
from fsrouter.api.client import ClientError
from fsrouter.api.routing import ApiError, Response, Router
from fsrouter.api.server import AdminAPI

TOKEN = "s3cret-token"


class ApiClient(BlockingClient):
    """The CLI's client, its blocking calls made on a thread so that the
    server, on this thread's gevent loop, can answer."""

    def call(self, *args, **kwargs):
        return gevent.get_hub().threadpool.apply(super().call, args, kwargs)


def crash(request):
    raise RuntimeError("boom")


def refuse(request):
    raise ApiError(409, "agent 1001 is on a call")


@pytest.fixture
def api():
    router = Router()
    router.add("GET", "/things/{name}", lambda request: {"name": request.params["name"],
                                                         "query": dict(request.query)})
    router.add("POST", "/things/{name}", lambda request: request.json())
    router.add("GET", "/page", lambda request: Response("<html></html>", content_type="text/html"),
               public=True)
    router.add("GET", "/crash", crash)
    router.add("GET", "/not-json", lambda request: {"when": object()})
    router.add("GET", "/refuse", refuse)
    server = AdminAPI("127.0.0.1", 0, router, token=TOKEN)
    server.start()
    yield "http://%s:%d" % server.address
    server.stop()


def test_without_the_token_401_and_with_it_200(api):
    with pytest.raises(ClientError) as refused:
        ApiClient(api).get("/things/a")
    assert refused.value.status == 401
    with pytest.raises(ClientError) as wrong:
        ApiClient(api, "not-it").get("/things/a")
    assert wrong.value.status == 401
    assert ApiClient(api, TOKEN).get("/things/a?x=1") == {"name": "a", "query": {"x": "1"}}


def test_without_the_token_no_probing_for_what_exists(api):
    for path in ("/nothing", "/things/a/b"):
        with pytest.raises(ClientError) as refused:
            ApiClient(api).get(path)
        assert refused.value.status == 401
    with pytest.raises(ClientError) as refused:
        ApiClient(api).delete("/things/a")
    assert refused.value.status == 401


def test_a_path_parameter_is_utf8_percent_decoded(api):
    assert ApiClient(api, TOKEN).get("/things/%CE%B1%20b")["name"] == "α b"


def test_a_public_route_needs_no_token(api):
    assert ApiClient(api).get("/page") == "<html></html>"


def test_json_bodies_are_read_and_bad_ones_refused(api):
    client = ApiClient(api, TOKEN)
    assert client.post("/things/a", {"note": "héllo"}) == {"note": "héllo"}
    with pytest.raises(ClientError, match="400 the body must be a JSON object"):
        client.call("POST", "/things/a", [1, 2])  # type: ignore[arg-type]


def test_unknown_paths_and_methods(api):
    client = ApiClient(api, TOKEN)
    with pytest.raises(ClientError, match="404 no resource /nothing"):
        client.get("/nothing")
    with pytest.raises(ClientError, match="405 DELETE is not allowed on /things/a"):
        client.delete("/things/a")


def test_a_handler_error_is_its_status_and_message(api):
    with pytest.raises(ClientError, match="409 agent 1001 is on a call"):
        ApiClient(api, TOKEN).get("/refuse")


def test_a_crashing_handler_is_a_500_and_the_server_goes_on(api):
    client = ApiClient(api, TOKEN)
    with pytest.raises(ClientError) as failed:
        client.get("/crash")
    assert failed.value.status == 500
    assert client.get("/things/b")["name"] == "b"
    with pytest.raises(ClientError, match="500 internal error"):
        client.get("/not-json")


def test_an_unreachable_service_is_one_line():
    with pytest.raises(ClientError, match="cannot reach the fsrouter API at http://127.0.0.1:9"):
        ApiClient("http://127.0.0.1:9", timeout=2).get("/status")
