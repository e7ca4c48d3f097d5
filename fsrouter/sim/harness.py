"""`fsrouter run` as a real subprocess, configured to serve the simulated switch.

The end-to-end tests (tests/e2e/conftest.py) and the call-centre benchmark
(bench/call_centre.py) both run the simulator in their own process and
fsrouter through its CLI, so that fsrouter sees exactly what FreeSWITCH
would give it: sockets, bytes and timing.  This module is the part they
share: the config file, the process's life (start, SIGKILL, SIGTERM) and
what can be read from outside it (GET /status, its log, /proc).

The switch and the inbound listener stay with the caller, which knows how
it wants them built; only their addresses come in here.  Waiting and
status calls use gevent, so the simulator in the same process keeps
running meanwhile.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import gevent
import gevent.socket

HOST = "127.0.0.1"
INBOUND_PASSWORD = "ClueCon"  # fsrouter.sim.InboundListener's default
ERROR_MARKERS = (" ERROR ", " CRITICAL ", "Traceback")


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class FsrouterFailed(RuntimeError):
    """fsrouter exited, or did not get somewhere in time; the message ends with its log."""


class FsrouterProcess:
    """`fsrouter run` in a subprocess, with its config, database and log in `workdir`.

    Constructing one only writes the config; `start` runs the process.  It
    may be started again after `kill`, with the same config and database, to
    see what a crash loses; the log is appended to, so it tells the whole
    story.
    """

    def __init__(self, workdir: Path, *, rules: Path, sounds: Path,
                 inbound_address: tuple[str, int], outbound_port: int) -> None:
        """`rules` is copied into `workdir`, so a test may edit `self.rules`
        (and SIGHUP) without touching the original; `outbound_port` is where
        fsrouter listens for the switch's calls and `inbound_address` the
        simulator's event socket it connects to."""
        self.workdir = workdir
        self.port = outbound_port
        self.api_port = free_port()
        self.rules = workdir / "rules.yaml"
        shutil.copy(rules, self.rules)
        self.log = workdir / "fsrouter.log"
        self.token_file = workdir / "api-token"  # written by fsrouter at start
        self.config = workdir / "fsrouter.yaml"
        self.config.write_text(json.dumps({  # JSON is YAML
            "listen": {"host": HOST, "port": outbound_port},
            "rules": str(self.rules),
            "sounds": str(sounds),
            "freeswitch": {"inbound": {"host": inbound_address[0], "port": inbound_address[1],
                                       "password": INBOUND_PASSWORD}},
            "api": {"host": HOST, "port": self.api_port, "token_file": str(self.token_file)},
            "database": {"url": f"sqlite:///{workdir}/fsrouter.db"},
            "simulator": {"mode": "never"},  # the simulator is ours, not fsrouter's
            "log_level": "info",
        }))

    def start(self) -> None:
        """Run the process; it writes stdout and stderr to the end of `self.log`."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from fsrouter.cli import main; main()", "run",
                 "--config", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)

    def api(self, method: str, path: str, body: dict | None = None):
        """Ask fsrouter's admin API as the CLI would, with the token the
        service wrote; the blocking call runs on a thread, so the simulator
        on this loop goes on meanwhile.  Raises `ClientError` on an error status."""
        from fsrouter.api.client import ApiClient
        from fsrouter.config import load_config

        client = ApiClient.from_config(load_config(self.config))
        return gevent.get_hub().threadpool.apply(client.call, (method, path, body))

    def status(self) -> dict:
        """GET /status from fsrouter's API; `{}` while it does not answer."""
        try:
            conn = gevent.socket.create_connection((HOST, self.api_port), timeout=2)
        except OSError:
            return {}
        with conn:
            token = self.token_file.read_text().strip() if self.token_file.exists() else ""
            conn.sendall(f"GET /status HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
        return json.loads(data.partition(b"\r\n\r\n")[2] or b"{}")

    def connected(self) -> bool:
        """Whether fsrouter's inbound event socket connection is up."""
        return bool(self.status().get("freeswitch_inbound_connected"))

    def wait_connected(self, timeout: float = 20.0) -> None:
        """Until fsrouter has started and connected to the simulator's event socket."""
        self.wait_until(self.connected, timeout, "fsrouter did not start and connect to the simulator")

    def wait_until(self, predicate: Callable[[], object], timeout: float, message: str) -> None:
        """Poll `predicate` until it holds; `fail` with fsrouter's log if the
        process exits first or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.proc.poll() is not None:
                self.fail(f"fsrouter exited ({self.proc.returncode}):\n{self.log_text()}")
            if time.monotonic() > deadline:
                self.fail(f"{message}\n--- fsrouter log ---\n{self.log_text()}")
            gevent.sleep(0.05)

    def fail(self, message: str) -> NoReturn:
        """How a wait gives up: raise `FsrouterFailed`.  A test harness
        overrides this to fail the test instead."""
        raise FsrouterFailed(message)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a crash."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM, as systemd stops it, and SIGKILL if it takes more than
        15 s; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log_text(self) -> str:
        """Everything fsrouter has logged, over all its starts."""
        return self.log.read_text(errors="replace")

    def error_lines(self) -> list[str]:
        """The log's lines at ERROR or worse, and the tracebacks' first lines."""
        return [line for line in self.log_text().splitlines()
                if any(marker in line for marker in ERROR_MARKERS)]

    def cpu_seconds(self) -> float:
        """User + system CPU the running process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def open_fds(self) -> int:
        """How many file descriptors the running process has open (Linux /proc), to spot leaks."""
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))
