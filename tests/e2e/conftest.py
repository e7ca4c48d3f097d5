"""`fsrouter run` in a subprocess against the simulator, over real sockets.

The simulator (switch + inbound listener) lives in the test process on
gevent; fsrouter is a real separate process started through its CLI
(fsrouter.sim.harness), so these tests see exactly what FreeSWITCH would:
sockets, bytes and timing.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import pytest

from fsrouter.sim import InboundListener, Switch
from fsrouter.sim.harness import FsrouterProcess, free_port

REPO = Path(__file__).resolve().parents[2]
SOUNDS = REPO / "sounds"
E2E_RULES = REPO / "tests" / "rules" / "good" / "e2e.yaml"
TIME_SCALE = 0.05  # prompts of 2-6 s play in 0.1-0.3 s


class Fsrouter(FsrouterProcess):
    """A running `fsrouter run` process and the simulated switch it serves."""

    def __init__(self, workdir: Path, rules: Path = E2E_RULES, time_scale: float = TIME_SCALE,
                 switch_options: dict | None = None):
        """`switch_options` go to the simulated `Switch` (e.g. ``sql=False``)."""
        self.time_scale = time_scale
        port = free_port()
        self.switch = Switch(("127.0.0.1", port), time_scale=time_scale, sounds_dir=str(SOUNDS),
                             **(switch_options or {}))
        self.inbound = InboundListener(self.switch, "127.0.0.1", 0).start()
        super().__init__(workdir, rules=rules, sounds=SOUNDS, inbound_address=self.inbound.address,
                         outbound_port=port)
        self.start()

    def start(self) -> None:
        """Start the process and wait until it serves the switch; again after
        `kill`, with the same config, database and log."""
        super().start()
        self.wait_connected()

    def fail(self, message: str) -> NoReturn:
        """A wait that gives up (`wait_until`) fails the test, with fsrouter's log."""
        pytest.fail(message)

    def stop(self) -> int:
        """Stop fsrouter, then the simulator it was serving."""
        returncode = super().stop()
        self.inbound.stop()
        self.switch.close()
        return returncode


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
