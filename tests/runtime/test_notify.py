"""The notify protocol over real datagram sockets; the service's use of it
is shown end to end in tests/test_cli_run.py."""

import logging
import os
import socket
import uuid

import gevent
import pytest

from fsrouter.runtime.notify import Notifier, socket_address, watchdog_interval


@pytest.fixture
def abstract():
    name = f"@fsrouter-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(socket_address(name))
        sock.settimeout(5)
        yield name, sock


def test_an_abstract_socket_is_named_with_a_leading_nul():
    assert socket_address("@name") == b"\0name"
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"


def test_messages_reach_an_abstract_socket(abstract):
    name, sock = abstract
    notifier = Notifier({"NOTIFY_SOCKET": name})
    notifier.ready()
    notifier.stopping()
    assert [sock.recv(100), sock.recv(100)] == [b"READY=1", b"STOPPING=1"]


def test_watchdog_pings_start_with_ready_and_stop_with_close(abstract):
    name, sock = abstract
    notifier = Notifier({"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "20000"})  # a ping every 10 ms
    notifier.ready()
    gevent.sleep(0.05)
    notifier.close()
    sock.settimeout(0)
    received = []
    while True:
        try:
            received.append(sock.recv(100))
        except BlockingIOError:
            break
    assert received[0] == b"READY=1" and received.count(b"WATCHDOG=1") >= 3
    gevent.sleep(0.03)
    with pytest.raises(BlockingIOError):
        sock.recv(100)  # closed: no more pings


@pytest.mark.parametrize("environ, interval", [
    ({"WATCHDOG_USEC": "30000000"}, 15.0),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
    ({}, None),
])
def test_the_watchdog_interval_is_half_of_watchdog_usec_for_this_process(environ, interval):
    assert watchdog_interval(environ) == interval


@pytest.mark.parametrize("usec", ["30s", "-5", "0"])
def test_a_bad_watchdog_usec_is_said_and_no_pings_are_sent(usec, caplog):
    with caplog.at_level(logging.WARNING):
        assert watchdog_interval({"WATCHDOG_USEC": usec}) is None
    assert f"WATCHDOG_USEC={usec!r} is not a positive number of microseconds" in caplog.text


def test_a_socket_nobody_listens_on_is_said_once_and_never_raises(tmp_path, caplog):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    with caplog.at_level(logging.WARNING):
        notifier.ready()
        notifier.reloading()
        notifier.stopping()
    warnings = [r.getMessage() for r in caplog.records if "cannot notify systemd" in r.getMessage()]
    assert len(warnings) == 1 and str(tmp_path / "gone") in warnings[0]
