"""The admin API's server over a real socket, with the status resource:
answers, and no client can hold it."""

import json
import time

import gevent
import pytest
from gevent import socket

from fsrouter.api import status
from fsrouter.api.routing import Router
from fsrouter.api.server import AdminAPI


@pytest.fixture
def api():
    router = Router()
    status.add_routes(router, lambda: {"active_calls": 3})
    server = AdminAPI("127.0.0.1", 0, router, idle_timeout=0.2, connection_timeout=0.6, max_connections=2)
    server.start()
    yield server
    server.stop()


def connect(api):
    return socket.create_connection(api.address, timeout=5)


def get_status(api) -> dict:
    with connect(api) as sock:
        sock.sendall(b"GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    return json.loads(body)


def closed_after(sock) -> float:
    """Seconds until the server closes `sock` (it sends nothing first)."""
    started = time.monotonic()
    assert sock.recv(100) == b""
    return time.monotonic() - started


def test_status_is_served(api):
    assert get_status(api) == {"active_calls": 3}


def test_an_idle_connection_is_closed_after_the_idle_timeout(api):
    with connect(api) as idle:
        assert 0.1 < closed_after(idle) < 2
    assert get_status(api) == {"active_calls": 3}


def test_a_client_trickling_bytes_is_cut_off_at_the_connection_timeout(api):
    with connect(api) as slow:
        def trickle():
            for byte in b"GET /status HTTP/1.1\r\nHost: x\r\n":
                slow.sendall(bytes([byte]))
                gevent.sleep(0.1)  # under the idle timeout, each time
        sender = gevent.spawn(trickle)
        try:
            assert 0.4 < closed_after(slow) < 2
        finally:
            sender.kill()


def test_idle_connections_beyond_the_cap_wait_and_are_then_served(api):
    idle = [connect(api) for _ in range(2)]  # the cap: both slots taken
    try:
        started = time.monotonic()
        assert get_status(api) == {"active_calls": 3}  # served once an idle one is dropped
        assert time.monotonic() - started > 0.1
    finally:
        for sock in idle:
            sock.close()


def ask(api, headers: str) -> bytes:
    with connect(api) as sock:
        sock.sendall(f"GET /status HTTP/1.0\r\n{headers}\r\n".encode())
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    return reply.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("headers, status", [
    ("Host: 127.0.0.1:8090\r\n", b"200"),
    ("Host: localhost\r\n", b"200"),
    ("Host: [::1]:8090\r\n", b"200"),
    ("Host: 127.0.0.1\r\nOrigin: http://localhost:8090\r\n", b"200"),
    ("", b"401"),  # no Host at all
    ("Host: evil.example:8090\r\n", b"401"),  # a name rebound to 127.0.0.1
    ("Host: [::1\r\n", b"401"),
    ("Host: 127.0.0.1\r\nOrigin: https://evil.example\r\n", b"401"),  # a page elsewhere posting here
])
def test_without_a_token_only_a_loopback_host_and_origin_are_served(api, headers, status):
    assert ask(api, headers).split()[1] == status
