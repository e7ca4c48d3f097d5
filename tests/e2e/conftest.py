"""`fsrouter run` in a subprocess against the simulator, over real sockets.

The simulator (switch + inbound listener) lives in the test process on
gevent; fsrouter is a real separate process started through its CLI, so
these tests see exactly what FreeSWITCH would: sockets, bytes and timing.
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
from pathlib import Path

import gevent
import gevent.socket
import pytest

from fsrouter.sim import InboundListener, Switch

REPO = Path(__file__).resolve().parents[2]
E2E_RULES = REPO / "tests" / "rules" / "good" / "e2e.yaml"
TIME_SCALE = 0.05  # prompts of 2-6 s play in 0.1-0.3 s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fsrouter:
    """A running `fsrouter run` process and the simulated switch it serves."""

    def __init__(self, workdir: Path, rules: Path = E2E_RULES, time_scale: float = TIME_SCALE):
        self.workdir = workdir
        self.time_scale = time_scale
        self.rules = workdir / "rules.yaml"
        shutil.copy(rules, self.rules)
        self.port = free_port()
        self.api_port = free_port()
        self.switch = Switch(("127.0.0.1", self.port), time_scale=self.time_scale,
                             sounds_dir=str(REPO / "sounds"))
        self.inbound = InboundListener(self.switch, "127.0.0.1", 0).start()
        self.log = workdir / "fsrouter.log"
        self.config = config = workdir / "fsrouter.yaml"
        config.write_text(json.dumps({  # JSON is YAML
            "listen": {"host": "127.0.0.1", "port": self.port},
            "rules": str(self.rules),
            "sounds": str(REPO / "sounds"),
            "freeswitch": {"inbound": {"host": "127.0.0.1", "port": self.inbound.address[1],
                                       "password": "ClueCon"}},
            "api": {"host": "127.0.0.1", "port": self.api_port},
            "database": {"url": f"sqlite:///{workdir}/fsrouter.db"},
            "simulator": {"mode": "never"},
            "log_level": "info",
        }))
        self.start()

    def start(self) -> None:
        """Start the process (again, after `kill`: same config, database and
        log, which it appends to)."""
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from fsrouter.cli import main; main()", "run",
             "--config", str(self.config)],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, cwd=self.workdir)
        self.wait_until(lambda: self.status()["freeswitch_inbound_connected"], 15,
                        "fsrouter did not start and connect to the simulator")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a crash."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def status(self) -> dict:
        """GET /status with a gevent socket, so the simulator keeps running."""
        try:
            conn = gevent.socket.create_connection(("127.0.0.1", self.api_port), timeout=2)
        except OSError:
            return {"freeswitch_inbound_connected": False}
        with conn:
            conn.sendall(b"GET /status HTTP/1.0\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
        return json.loads(data.partition(b"\r\n\r\n")[2])

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def wait_until(self, predicate, timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.proc.poll() is not None:
                pytest.fail(f"fsrouter exited ({self.proc.returncode}):\n{self.log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{message}\n--- fsrouter log ---\n{self.log.read_text()}")
            gevent.sleep(0.05)

    def log_text(self) -> str:
        return self.log.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.inbound.stop()
        self.switch.close()
        return self.proc.returncode


@pytest.fixture
def fsrouter(tmp_path):
    running = Fsrouter(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def start_fsrouter(tmp_path):
    """`start_fsrouter(rules=..., time_scale=...)` for tests needing their own."""
    started = []

    def start(**options) -> Fsrouter:
        started.append(Fsrouter(tmp_path, **options))
        return started[-1]

    yield start
    for running in started:
        running.stop()
