"""Headless Chromium for the wallboard test, driven over the DevTools protocol.

No npm, no pip package: the protocol is JSON over one websocket, and the
little of websockets it needs (a handshake, masked text frames out,
unmasked frames in) is written here on gevent's sockets, so the simulator
on the test's event loop runs on while the browser is asked.  Debian's
`chromium` package is expected at /usr/bin/chromium (`.ci/run` installs it
when it is missing); without it the test skips, except under CI (CI=true),
where it fails.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import struct
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.socket
import gevent.subprocess
import pytest

#: Quiet, self-contained, and nothing fetched from the network but the page.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")

_LISTENING = re.compile(rb"DevTools listening on ws://([\d.]+):(\d+)/")


def chromium() -> str:
    """The browser's path; fails (CI) or skips (elsewhere) when there is none."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if found is None:
        message = "chromium is not installed (apt-get install -y chromium; .ci/run does it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


class Browser:
    """One headless Chromium with a fresh profile (the new directory
    `profile`) and one page: `open(url)`, `evaluate(js)`, `screenshot(path)`;
    `close()` ends the process."""

    def __init__(self, profile: Path, timeout: float = 20.0) -> None:
        self.timeout = timeout
        profile.mkdir()
        self._proc = gevent.subprocess.Popen(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "about:blank"], stdout=gevent.subprocess.DEVNULL, stderr=gevent.subprocess.PIPE)
        self._ids = itertools.count(1)
        try:
            with gevent.Timeout(timeout, AssertionError("chromium did not open its DevTools port")):
                host, port = self._devtools_address()
                gevent.spawn(self._proc.stderr.read)  # drained, so the browser never blocks on it
                page = next(t for t in json.loads(_http_get(host, port, "/json/list")) if t["type"] == "page")
                self._socket = _websocket(host, port, urlsplit(page["webSocketDebuggerUrl"]).path)
        except BaseException:
            self.close()
            raise

    def _devtools_address(self) -> tuple[str, int]:
        for line in self._proc.stderr:
            found = _LISTENING.search(line)
            if found:
                return found.group(1).decode(), int(found.group(2))
        raise AssertionError(f"chromium exited ({self._proc.wait()}) without a DevTools port")

    def call(self, method: str, **params: Any) -> dict:
        """Send one command and return its result (events in between are skipped)."""
        ident = next(self._ids)
        _send(self._socket, json.dumps({"id": ident, "method": method, "params": params}))
        with gevent.Timeout(self.timeout, AssertionError(f"chromium did not answer {method}")):
            while True:
                message = json.loads(_receive(self._socket))
                if message.get("id") == ident:
                    if "error" in message:
                        raise AssertionError(f"{method}: {message['error']}")
                    return message["result"]

    def open(self, url: str) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=1600, height=500, deviceScaleFactor=1, mobile=False)
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def dom(self) -> str:
        return self.evaluate("document.documentElement ? document.documentElement.outerHTML : ''")  # '' mid-load

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except gevent.subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


def _http_get(host: str, port: int, path: str) -> bytes:
    """The body of one GET (Chromium's DevTools server keeps the connection
    open: the body is read by its Content-Length)."""
    with gevent.socket.create_connection((host, port)) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        head = _until_blank_line(conn)
        size = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
        return _exactly(conn, size)


def _until_blank_line(conn) -> bytes:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += _exactly(conn, 1)
    return head


def _websocket(host: str, port: int, path: str) -> gevent.socket.socket:
    conn = gevent.socket.create_connection((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    conn.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = _until_blank_line(conn)
    assert head.startswith(b"HTTP/1.1 101"), head
    return conn


def _send(conn, text: str) -> None:
    """One text frame, masked as RFC 6455 requires of a client."""
    payload, mask = text.encode(), os.urandom(4)
    size = len(payload)
    header = bytes([0x81]) + (bytes([0x80 | size]) if size < 126 else
                              bytes([0x80 | 126]) + struct.pack("!H", size) if size < 1 << 16 else
                              bytes([0x80 | 127]) + struct.pack("!Q", size))
    conn.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def _receive(conn) -> str:
    """One message (its frames joined), from a server that does not mask."""
    message = b""
    while True:
        first, second = _exactly(conn, 2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", _exactly(conn, 2))[0]
        elif size == 127:
            size = struct.unpack("!Q", _exactly(conn, 8))[0]
        message += _exactly(conn, size)
        if first & 0x80:
            return message.decode()


def _exactly(conn, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise AssertionError("chromium closed the DevTools connection")
        data += chunk
    return data


class BoardCells(HTMLParser):
    """The wallboard's cells from its DOM: {queue: {figure: (data-value, text)}},
    and the status line's text and `at` (when the data shown was read)."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.queues: dict[str, dict[str, tuple[str, str]]] = {}
        self.status = ""
        self.at: float | None = None
        self._queue: str | None = None
        self._cell: tuple[str, str] | None = None
        self._text: list[str] = []
        self._in_status = False
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-queue" in attrs:
            self._queue = attrs["data-queue"]
            self.queues[self._queue] = {}
        elif tag == "td" and "data-figure" in attrs and self._queue is not None:
            self._cell, self._text = (attrs["data-figure"], attrs.get("data-value", "")), []
        elif attrs.get("id") == "status":
            self._in_status = True
            self.at = float(attrs["data-at"]) if attrs.get("data-at") else None

    def handle_data(self, data):
        if self._cell is not None:
            self._text.append(data)
        if self._in_status:
            self.status += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            figure, value = self._cell
            self.queues[self._queue][figure] = (value, "".join(self._text))
            self._cell = None
        elif tag == "div":
            self._in_status = False
