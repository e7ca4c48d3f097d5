"""systemd's notify protocol: ready, reloading, stopping, and the watchdog.

Under ``Type=notify`` systemd sets ``NOTIFY_SOCKET`` and waits for ``READY=1``
before it calls the service started (so units ordered after fsrouter start
once its ports are bound, not merely once the process forked).  With
``WatchdogSec=`` it also sets ``WATCHDOG_USEC`` and restarts the service when
no ``WATCHDOG=1`` arrives within that time.  The pings come from a greenlet,
so a hub stuck in a blocking call or a busy loop stops them: that is what the
watchdog is for.

The protocol is one datagram per message, ``KEY=value`` lines, to the
AF_UNIX socket named in ``NOTIFY_SOCKET`` (a path, or an abstract socket when
it starts with ``@``); see sd_notify(3) and
https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html.
It is small enough to speak here rather than depend on a package (the
``systemd`` bindings need libsystemd to build; ``sdnotify`` has no watchdog
helper and is unmaintained).  Without ``NOTIFY_SOCKET`` nothing is sent.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping

import gevent
from gevent import socket

log = logging.getLogger(__name__)

SEND_TIMEOUT = 2.0
"""Seconds a message may wait for room in systemd's socket queue."""


def socket_address(value: str) -> str | bytes:
    """``NOTIFY_SOCKET`` as an address: ``@name`` is the abstract ``\\0name``."""
    return b"\0" + value[1:].encode() if value.startswith("@") else value


def watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """Seconds between pings (half ``WATCHDOG_USEC``), or None when systemd
    asks for none, or asks another process (``WATCHDOG_PID``)."""
    usec, pid = environ.get("WATCHDOG_USEC"), environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        interval = int(usec) / 2e6
    except ValueError:
        interval = 0
    if interval <= 0:
        log.warning("WATCHDOG_USEC=%r is not a positive number of microseconds: no watchdog pings", usec)
        return None
    return interval


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, which ``RELOADING=1`` carries
    (``Type=notify-reload`` in systemd 253 and later requires it)."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


class Notifier:
    """Tells systemd how the service is doing; does nothing when not under
    ``Type=notify``.  Failures to send are logged once, never raised: the
    service works without its supervisor hearing of it."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        target = environ.get("NOTIFY_SOCKET") or None
        self._target = target
        self._address = socket_address(target) if target else None
        self._interval = watchdog_interval(environ) if target else None
        self._pinger: gevent.Greenlet | None = None
        self._failed = False

    def ready(self) -> None:
        """Started (listeners bound), or done reloading; starts the watchdog pings."""
        self._send("READY=1")
        if self._interval is not None and self._pinger is None:
            self._pinger = gevent.spawn(self._ping_forever, self._interval)

    def reloading(self) -> None:
        self._send(f"RELOADING=1\nMONOTONIC_USEC={monotonic_usec()}")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def close(self) -> None:
        """Stop the watchdog pings (the process is about to exit)."""
        if self._pinger is not None:
            self._pinger.kill()
            self._pinger = None

    def _ping_forever(self, interval: float) -> None:
        while True:
            self._send("WATCHDOG=1")
            gevent.sleep(interval)

    def _send(self, message: str) -> None:
        if self._address is None:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.settimeout(SEND_TIMEOUT)
                sock.sendto(message.encode(), self._address)
        except OSError as exc:
            if not self._failed:
                self._failed = True
                log.warning("cannot notify systemd at %s: %s", self._target, exc)
