"""The simulator standing in for FreeSWITCH inside `fsrouter run`.

When no FreeSWITCH answers on the configured inbound address, `fsrouter run`
(in `simulator: auto` mode) starts a simulated switch there and replays a
demo scenario against its own outbound listener, so a fresh machine shows
fsrouter routing calls end to end over real sockets.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable

import gevent

from fsrouter.sim.agent import AgentScript
from fsrouter.sim.inbound import InboundListener
from fsrouter.sim.scenario import load_scenario, run_scenario
from fsrouter.sim.switch import Switch

log = logging.getLogger(__name__)


def freeswitch_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections on FreeSWITCH's inbound port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class StandIn:
    """A simulated switch: inbound listener plus a demo loop of scripted calls.

    `listen` before the service starts (its inbound connection then finds
    the switch at once, with no "connection refused" on the way), `start`
    once fsrouter's outbound listener has its address.
    """

    def __init__(self, inbound: tuple[str, int], password: str,
                 scenario_path: str, *, time_scale: float, every: float, sounds_dir: str,
                 agent_dial_strings: Iterable[str] = ()):
        # A new seed each run: a seeded switch draws the same call UUIDs every
        # time, and the store keeps calls across restarts (reports, callback
        # and survey keys).  Logged, so a demo run can be replayed.
        seed = int.from_bytes(os.urandom(6), "big")
        log.info("simulator: seed %d", seed)
        self.switch = Switch(("127.0.0.1", 0), time_scale=time_scale, sounds_dir=sounds_dir, seed=seed)
        # Every agent the rules declare gets a phone that answers after a few
        # rings and talks for 20-60 s, so the demo shows calls reaching agents.
        for dial in agent_dial_strings:
            self.switch.add_agent(AgentScript(endpoint=dial, answer_after=3.0,
                                              hang_up_after=lambda rng: rng.uniform(20, 60)))
        self.listener = InboundListener(self.switch, inbound[0], inbound[1], password)
        self.spec = load_scenario(scenario_path)
        self.every = every
        self._loop: gevent.Greenlet | None = None

    def listen(self) -> None:
        self.listener.start()
        log.info("simulator: standing in for FreeSWITCH on %s:%d", *self.listener.address)

    def start(self, outbound: tuple[str, int]) -> None:
        """Place the demo calls on fsrouter's `outbound` listener, a round
        `every` seconds after the previous one ended."""
        self.switch.target = outbound
        self._loop = gevent.spawn(self._demo_loop)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill()
        self.listener.stop()
        self.switch.close()

    def _demo_loop(self) -> None:
        while True:
            report = run_scenario(self.spec, switch=self.switch)
            for line in report.format().splitlines():
                log.info("simulator: %s", line)
            gevent.sleep(self.every)
