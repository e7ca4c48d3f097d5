"""A busy call centre end to end: `fsrouter run` against the simulated FreeSWITCH.

    .venv/bin/python bench/call_centre.py [--scenario PATH] [--rules PATH] [--time-scale 0.02]

Starts the simulator (switch + inbound event socket) in this process and
`fsrouter run` as a subprocess (fsrouter.sim.harness, as tests/e2e do); places
the scenario's calls (by default 500 callers with Poisson arrivals and
exponential patience, against 50 agents with exponential handle times:
fsrouter/sim/scenarios/centre_50x500.yaml with bench/centre/rules.yaml) and
waits until every call has ended.  Then prints what the callers went
through and how fsrouter coped:

- answered: bridged to an agent; abandoned: hung up before that;
  timed out: reached the queue's max_wait (heard queue/max_wait);
- wait: sim seconds from fsrouter's answer to the bridge (answered calls),
  or to the end of the call (the others);
- max concurrent calls: callers on the switch at once;
- wall time, fsrouter's CPU time, and its log lines at ERROR or worse (and
  tracebacks).

fsrouter's timers run in real time while the simulator runs `time_scale`
times slower than real life would take, so the rules file must be written
at that scale (bench/centre/rules.yaml is, for 0.02).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import gevent

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fsrouter.sim import InboundListener, Switch  # noqa: E402
from fsrouter.sim.call import SimCall  # noqa: E402
from fsrouter.sim.harness import FsrouterFailed, FsrouterProcess, free_port  # noqa: E402
from fsrouter.sim.scenario import CallSummary, Report, load_scenario, run_scenario  # noqa: E402

SCENARIO = REPO / "fsrouter" / "sim" / "scenarios" / "centre_50x500.yaml"
RULES = REPO / "bench" / "centre" / "rules.yaml"
SOUNDS = REPO / "sounds"


# ------------------------------------------------------------ figures


def outcome(call: CallSummary) -> str:
    if call.bridged_at is not None:
        return "answered"
    if "queue/max_wait" in call.path:
        return "timed out"
    if call.abandoned:
        return "abandoned"
    return "other" if call.finished else "unfinished"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def max_concurrent(calls: Iterable[SimCall]) -> int:
    """The most calls up at once, from each call's placing and ending on the switch clock."""
    edges = []
    for call in calls:
        edges.append((call.placed_at, 1))
        if call.ended_at is not None:
            edges.append((call.placed_at + call.ended_at, -1))
    up = peak = 0
    for _, step in sorted(edges):
        up += step
        peak = max(peak, up)
    return peak


def wait_line(label: str, waits: list[float]) -> str:
    if not waits:
        return f"{label}: -"
    return f"{label}: mean {sum(waits) / len(waits):.1f} s, p90 {percentile(waits, 0.9):.1f} s (n={len(waits)})"


def report(result: Report, switch: Switch, wall: float, errors: list[str]) -> str:
    counts: dict[str, int] = {}
    for call in result.calls:
        counts[outcome(call)] = counts.get(outcome(call), 0) + 1
    answered = [c.wait for c in result.calls if outcome(c) == "answered" and c.wait is not None]
    everyone = [c.wait for c in result.calls if c.wait is not None]
    legs = switch.agent_calls
    lines = [
        f"calls placed: {len(result.calls)}",
        "outcomes: " + ", ".join(f"{name} {n}" for name, n in sorted(counts.items())),
        wait_line("wait until answered (sim)", answered),
        wait_line("wait, every call (sim)", everyone),
        f"max concurrent calls: {max_concurrent(switch.calls)} (channels incl. agent legs: {switch.peak_sessions})",
        f"agent legs originated: {len(legs)}, answered {sum(leg.answered_at is not None for leg in legs)}",
        f"wall time: {wall:.1f} s",
        f"fsrouter errors in its log: {len(errors)}",
        *(f"  {line}" for line in errors[:15]),
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--rules", type=Path, default=RULES)
    parser.add_argument("--time-scale", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=300.0, help="real seconds to wait for the calls")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (fsrouter's log)")
    args = parser.parse_args()

    spec = load_scenario(args.scenario)
    workdir = Path(tempfile.mkdtemp(prefix="fsrouter-centre-"))
    port = free_port()
    switch = Switch(("127.0.0.1", port), time_scale=args.time_scale, sounds_dir=str(SOUNDS),
                    seed=spec.get("seed"))
    inbound = InboundListener(switch, "127.0.0.1", 0).start()
    fsrouter = FsrouterProcess(workdir, rules=args.rules, sounds=SOUNDS, inbound_address=inbound.address,
                               outbound_port=port)
    fsrouter.start()
    try:
        fsrouter.wait_connected()
        started = time.monotonic()
        result = run_scenario(spec, switch=switch, timeout=args.timeout)
        wall = time.monotonic() - started
        gevent.sleep(0.5)  # let fsrouter log what the last hangups did
        print(report(result, switch, wall, fsrouter.error_lines()))
        print(f"fsrouter CPU: {fsrouter.cpu_seconds():.1f} s")
    except FsrouterFailed as failure:  # it did not start: its log says why, a traceback would not
        raise SystemExit(str(failure)) from None
    finally:
        fsrouter.stop()
        inbound.stop()
        switch.close()
        if args.keep:
            print(f"fsrouter's log: {fsrouter.log}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
