"""How long a rules reload stalls the gevent hub, compiling on it or off it.

    .venv/bin/python bench/reload_stall.py [--lines 5000 20000] [--runs 3]

For each size a rules file is generated: the end-to-end rules plus, per
unit, a line, a flow with a greeting and a two-option menu (10 lines), and
50 queues and 200 agents in all, a shape like a large IVR.  Then the
service's own reload (`PlanHolder.reload`, whose `apply` reconfigures a
`QueueRuntime` and its ACD, as `fsrouter run` does) runs while a ticker
greenlet sleeps 5 ms at a time and records how late it wakes: the worst
lateness is the longest the hub was stalled, i.e. the longest every call's
prompts, timers and ESL replies would have frozen.

* before: compile on the hub and swap the plan, as reloads did before;
* after: `PlanHolder.reload` as it is: compile, map and check on the hub's
  thread pool with the cyclic collector held off (`prepare_uncollected`),
  then reconfigure the ACD and swap the plan on the hub.

Printed: per size and way, the longest stall and the reload's duration
(the worst of `--runs` runs).

Then, for big centres (`--centres`, agents x queues, built as
bench/acd_select.py builds them: 50 skills, every agent has all of them),
what the ACD's side of a reload costs: `compile_layout` (stages and who
each queue admits, on the reload's thread) and `InMemoryAcd.reconfigure`
with it (on the hub), every agent logged in.
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
from pathlib import Path

import gevent

import acd_select  # bench/, beside this script
from fsrouter import rules
from fsrouter.acd import AgentState, InMemoryAcd
from fsrouter.acd.memory import compile_layout
from fsrouter.runtime.queue_runtime import QueueRuntime
from fsrouter.runtime.reload import PlanHolder, off_hub

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "tests" / "rules" / "good" / "e2e.yaml"
SOUNDS = ROOT / "sounds"
TICK = 0.005
QUEUES, AGENTS = 50, 200


def generate(lines: int) -> str:
    """The e2e rules grown to about `lines` lines."""
    text = BASE.read_text()
    units = max(1, (lines - len(text.splitlines()) - 3 * QUEUES - AGENTS) // 10)
    add_lines = "".join(f'  "6{i:06d}": {{brand: acme, language: en, flow: f{i}}}\n' for i in range(units))
    add_flows = "".join(
        f"  f{i}:\n"
        "    - play: greeting/acme\n"
        "    - menu:\n"
        "        prompt: menu/main\n"
        "        options:\n"
        f'          "1": {{queue: q{i % QUEUES}}}\n'
        '          "2": {transfer: operator}\n'
        "        on_invalid: {retries: 1, prompt: ivr/invalid, then: {transfer: operator}}\n"
        "        on_timeout: {retries: 1, then: {transfer: operator}}\n"
        for i in range(units))
    add_queues = "".join(f"  q{n}:\n    require: {{skill{n}: 3}}\n"
                         "    max_wait: {after: 5m, then: {transfer: operator}}\n" for n in range(QUEUES))
    add_agents = "".join(f'  "7{n:04d}": {{name: A{n}, dial: user/7{n:04d}, '
                         f"skills: {{skill{n % QUEUES}: 5, skill{(n * 7 + 1) % QUEUES}: 4}}}}\n" for n in range(AGENTS))
    return (text.replace("lines:\n", "lines:\n" + add_lines, 1)
                .replace("flows:\n", "flows:\n" + add_flows, 1)
                .replace("queues:\n", "queues:\n" + add_queues, 1)
                .replace("agents:\n", "agents:\n" + add_agents, 1))


class _Disconnected:
    """An inbound connection that is down: the runtime offers nobody."""

    connected = False


def inline(function, *args):
    return function(*args)


def measure(path: Path, way: str) -> tuple[float, float]:
    """(longest hub stall, reload duration) of one reload, in seconds."""
    plans = PlanHolder(str(path), str(SOUNDS), prepare_in=inline)
    runtime = QueueRuntime(plans.current, _Disconnected())
    for agent in plans.current.agents:  # what the agent desk does for `agent_login: auto`
        runtime.set_agent_state(agent, AgentState.AVAILABLE)
    plans.apply = lambda prepared: runtime.reconfigure(prepared.plan, prepared.layout, prepared.compiled)
    if way == "before":  # what PlanHolder.reload did: compile on the hub, swap the plan
        reload = lambda: setattr(plans, "current", rules.load_plan(path, sounds_dir=SOUNDS))  # noqa: E731
    else:
        plans._prepare_in = off_hub
        reload = plans.reload
    worst = [0.0]

    def ticker():
        while True:
            before = time.perf_counter()
            gevent.sleep(TICK)
            worst[0] = max(worst[0], time.perf_counter() - before - TICK)

    ticking = gevent.spawn(ticker)
    gevent.sleep(0.1)
    worst[0] = 0.0
    started = time.perf_counter()
    gevent.spawn(reload).join()
    duration = time.perf_counter() - started
    gevent.sleep(0.2)  # and whatever the hub pays for it just after
    ticking.kill()
    assert "f0" in plans.current.flows, "the reload did not swap the plan"
    return worst[0], duration


def acd_side(agents: int, queues: int) -> tuple[float, float]:
    """(compile_layout seconds, reconfigure seconds) for a centre of that size."""
    specs, people = acd_select.build(argparse.Namespace(skills=50, queues=queues, agents=agents), random.Random(1))
    acd = InMemoryAcd(specs, people)
    for person in people:
        acd.set_agent_state(person.id, "available", 0.0)
    started = time.perf_counter()
    compiled = compile_layout(specs, people)
    compiling = time.perf_counter() - started
    started = time.perf_counter()
    acd.reconfigure(specs, people, 1.0, compiled=compiled)
    return compiling, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="*", default=[5000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--centres", nargs="*", default=["1000x50", "10000x200"], help="AGENTSxQUEUES")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"{'lines':>7} {'way':<28} {'longest stall ms':>17} {'reload s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for lines in args.lines:
            path = Path(tmp) / f"rules-{lines}.yaml"
            path.write_text(generate(lines))
            actual = len(path.read_text().splitlines())
            for way, label in (("before", "before: compile on the hub"), ("after", "after: compile off the hub")):
                results = [measure(path, way) for _ in range(args.runs)]
                stall = max(r[0] for r in results)
                duration = max(r[1] for r in results)
                print(f"{actual:>7} {label:<28} {stall * 1000:>17.1f} {duration:>9.2f}")
    print(f"\n{'agents':>7} {'queues':>7} {'compile_layout s (thread)':>26} {'reconfigure s (hub)':>20}")
    for centre in args.centres:
        agents, queues = (int(n) for n in centre.split("x"))
        compiling, applying = acd_side(agents, queues)
        print(f"{agents:>7} {queues:>7} {compiling:>26.2f} {applying:>20.2f}")


if __name__ == "__main__":
    main()
