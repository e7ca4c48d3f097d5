"""Queued callers, set-up rate, memory and wire cost of one `fsrouter run` under the lean load generator.

    .venv/bin/python bench/capacity.py [--callers 5100] [--rate 300] [--hold 65] [--profile DIR] [--gc-probe FILE]

`fsrouter run` as a subprocess (fsrouter.sim.harness) against
`bench/loadgen.py`'s `LeanSwitch` over loopback, with the rules of
bench/capacity/rules.yaml (one queue, a position announcement every 30 s,
hold music, 10 agents answering after 1 s, talking 20 s).  One run:

1. `--callers` calls are placed at `--rate` a second.  Set-up latency: from
   the TCP connect (FreeSWITCH's ``socket`` application) to fsrouter's
   first command after the ``connect`` handshake; p50/p99.
2. Once they have all joined the queue, the process's RSS growth since
   before the first call, per queued caller (memory).
3. `--hold` seconds of holding (two announcement rounds): each
   announcement's lateness against its schedule (join + 30 s x k), fsrouter's
   CPU and the load generator's own, the events and bytes FreeSWITCH sent per
   queued caller-minute (and what bare ``myevents`` would have sent), the
   commands and bytes fsrouter sent.
4. No call lost: every call connected, none ended by fsrouter, every caller
   still queued heard each announcement due.

`--gc-probe FILE` runs fsrouter with bench/gc_probe/sitecustomize.py: its
full collections (duration, objects tracked) and what each call keeps
tracked, in the output's "gc".
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import gevent

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from loadgen import LeanSwitch  # noqa: E402

from fsrouter.sim.harness import FsrouterFailed, FsrouterProcess, free_port  # noqa: E402

RULES = REPO / "bench" / "capacity" / "rules.yaml"
SOUNDS = REPO / "sounds"
AGENTS = [str(n) for n in range(2000, 2010)]
FIRST, EVERY = 30.0, 30.0  # the rules' announcement schedule


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def profile(pid: int, seconds: float, output: Path) -> subprocess.Popen:
    """py-spy sampling fsrouter for `seconds` (collapsed stacks: one line per
    stack with its sample count); `.bench` extra."""
    return subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid),
                             "--duration", str(int(seconds)), "--rate", "200", "--format", "raw",
                             "--nonblocking", "--output", str(output)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def top_frames(collapsed: Path, count: int = 15) -> list[tuple[str, float]]:
    """The functions the samples were in (self time), as shares of all samples."""
    own: Counter = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack:
            continue
        total += int(samples)
        own[stack.split(";")[-1]] += int(samples)
    return [(frame, round(n / total, 3)) for frame, n in own.most_common(count)]


def run(callers: int = 5100, rate: float = 300.0, hold: float = 65.0, profile_dir: Path | None = None,
        gc_probe: Path | None = None) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="fsrouter-capacity-"))
    port = free_port()
    lean = LeanSwitch(("127.0.0.1", port), sounds_dir=str(SOUNDS), agents=AGENTS).start()
    fsrouter = FsrouterProcess(workdir, rules=RULES, sounds=SOUNDS, inbound_address=lean.inbound_address,
                               outbound_port=port)
    config = json.loads(fsrouter.config.read_text())
    config["max_sessions"] = callers + 100
    config["log_level"] = "warning"  # a line per call and announcement would be the bench's own cost
    fsrouter.config.write_text(json.dumps(config))
    if gc_probe is not None:
        gc_probe.unlink(missing_ok=True)
        os.environ.update(PYTHONPATH=str(REPO / "bench" / "gc_probe"), FSROUTER_GC_PROBE=str(gc_probe))
    fsrouter.start()
    if gc_probe is not None:  # fsrouter only: nothing else started from here is probed
        del os.environ["PYTHONPATH"], os.environ["FSROUTER_GC_PROBE"]
    # The load generator's own objects (a record, a greenlet and a parser per
    # call) hold no cycles worth collecting for two minutes: full collections
    # of them would stall it and show as fsrouter's latency.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        fsrouter.wait_connected()
        gevent.sleep(2.0)
        pid = fsrouter.proc.pid
        rss_before = rss_kib(pid)

        spies = []
        if profile_dir is not None:
            profile_dir.mkdir(parents=True, exist_ok=True)
            spies.append(profile(pid, callers / rate + 3, profile_dir / "setup.txt"))
        # 1. set-up
        cpu_fs, cpu_gen, started = fsrouter.cpu_seconds(), own_cpu(), time.monotonic()
        for n in range(callers):
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            lean.place_call("5000")
        placing = time.monotonic() - started
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(r.joined is None and r.end is None for r in lean.records):
            gevent.sleep(0.2)
        setup_cpu_fs, setup_cpu_gen = fsrouter.cpu_seconds() - cpu_fs, own_cpu() - cpu_gen
        setups = [r.first_command - r.connected for r in lean.records if r.first_command and r.connected]
        first_setups = setups[:1000]

        # 2. memory, all callers queued
        gevent.sleep(1.0)
        queued_now = sum(1 for r in lean.records if r.joined is not None and r.end is None and r.bridged is None)
        rss_queued = rss_kib(pid)

        # 3. holding
        wire0 = _wire_snapshot(lean)
        cpu_fs, cpu_gen, window_start = fsrouter.cpu_seconds(), own_cpu(), time.monotonic()
        if profile_dir is not None:
            spies.append(profile(pid, hold, profile_dir / "holding.txt"))
        queued_samples = []
        while time.monotonic() < window_start + hold:
            gevent.sleep(1.0)
            queued_samples.append(sum(1 for r in lean.records
                                      if r.joined is not None and r.end is None and r.bridged is None))
        window = time.monotonic() - window_start
        hold_cpu_fs, hold_cpu_gen = fsrouter.cpu_seconds() - cpu_fs, own_cpu() - cpu_gen
        wire1 = _wire_snapshot(lean)
        window_end = time.monotonic()

        # 4. lateness and losses
        lateness, silent = [], 0
        for r in lean.records:
            if r.joined is None:
                continue
            for k, at in enumerate(r.announcements, start=1):
                lateness.append(at - (r.joined + FIRST + (k - 1) * EVERY))
            up_until = r.bridged or r.ended or window_end
            due = int((up_until - r.joined - FIRST) // EVERY) + 1 if up_until - r.joined > FIRST + 1 else 0
            if len(r.announcements) < due:
                silent += 1
        lost = sum(1 for r in lean.records if r.end in ("fsrouter", "refused") and r.bridged is None)
        errors = fsrouter.error_lines()
        for spy in spies:
            spy.wait(30)
    except FsrouterFailed as failure:
        raise SystemExit(str(failure)) from None
    finally:
        lean.hang_up_all()
        gevent.sleep(1.0)
        fsrouter.stop()
        lean.close()
        gc.enable()
        gc.unfreeze()
        shutil.rmtree(workdir, ignore_errors=True)

    queued = sum(queued_samples) / len(queued_samples)
    caller_minutes = queued * window / 60
    sent = wire1["events_sent"] - wire0["events_sent"]
    figures = {
        "callers": callers,
        "rate_offered": rate,
        "setup": {
            "achieved_per_s": round(callers / placing, 1),
            "p50_ms": round(percentile(setups, 0.5) * 1000, 2),
            "p99_ms": round(percentile(setups, 0.99) * 1000, 2),
            "max_ms": round(max(setups) * 1000, 2),
            "first_1000_p50_ms": round(percentile(first_setups, 0.5) * 1000, 2),
            "first_1000_p99_ms": round(percentile(first_setups, 0.99) * 1000, 2),
            "fsrouter_cpu_s": round(setup_cpu_fs, 2),
            "loadgen_cpu_s": round(setup_cpu_gen, 2),
            "fsrouter_cpu_ms_per_call": round(setup_cpu_fs / callers * 1000, 3),
        },
        "memory": {
            "rss_before_kib": rss_before,
            "rss_queued_kib": rss_queued,
            "queued": queued_now,
            "kib_per_caller": round((rss_queued - rss_before) / max(queued_now, 1), 1),
        },
        "holding": {
            "seconds": round(window, 1),
            "queued_mean": round(queued),
            "queued_min": min(queued_samples),
            "answered": sum(1 for r in lean.records if r.bridged is not None),
            "fsrouter_cpu_share": round(hold_cpu_fs / window, 3),
            "loadgen_cpu_share": round(hold_cpu_gen / window, 3),
            "fsrouter_cpu_ms_per_caller_s": round(hold_cpu_fs / (queued * window) * 1000, 4),
            "announcements": len(lateness),
            "lateness_p50_ms": round((percentile(lateness, 0.5) or 0) * 1000, 1),
            "lateness_p99_ms": round((percentile(lateness, 0.99) or 0) * 1000, 1),
            "lateness_max_ms": round(max(lateness or [0]) * 1000, 1),
            "callers_missing_an_announcement": silent,
            "calls_lost": lost,
            "fsrouter_error_lines": len(errors),
            "first_errors": errors[:5],
        },
        "wire_per_caller_minute": {
            "events_from_freeswitch": round(sent / caller_minutes, 2),
            "bytes_from_freeswitch": round((wire1["bytes_sent"] - wire0["bytes_sent"]) / caller_minutes),
            "events_bare_myevents": round((wire1["bare_events"] - wire0["bare_events"]) / caller_minutes, 2),
            "bytes_bare_myevents": round((wire1["bare_bytes"] - wire0["bare_bytes"]) / caller_minutes),
            "commands_from_fsrouter": round((wire1["commands"] - wire0["commands"]) / caller_minutes, 2),
            "bytes_from_fsrouter": round((wire1["bytes_received"] - wire0["bytes_received"]) / caller_minutes),
            "events_by_name": {name: round(n / caller_minutes, 2) for name, n in
                               (wire1["by_name"] - wire0["by_name"]).items()},
            "commands_by_word": {word: round(n / caller_minutes, 2) for word, n in
                                 (wire1["by_word"] - wire0["by_word"]).items()},
        },
    }
    if gc_probe is not None:
        figures["gc"] = gc_figures(gc_probe)
    return figures


def gc_figures(path: Path) -> dict:
    """The probe's lines: every full collection, and the tracked objects per call
    (per live `Connection`, one a call) at the first big one."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    counted = next((line["by_type"] for line in lines if "by_type" in line), {})
    calls = counted.get("fsrouter.esl.connection.Connection", 0)
    return {"full_collections": [{"ms": line["full_ms"], "tracked": line["tracked"]} for line in lines],
            "calls_when_counted": calls,
            "tracked_per_call_by_type": {name: round(n / calls, 2) for name, n in counted.items()
                                         if calls and n >= calls / 2}}


def _wire_snapshot(lean: LeanSwitch) -> dict:
    wire = lean.wire
    return {"events_sent": sum(wire.events_sent.values()), "bytes_sent": wire.bytes_sent,
            "bare_events": wire.events_bare_myevents, "bare_bytes": wire.bytes_bare_myevents,
            "commands": sum(wire.commands.values()), "bytes_received": wire.bytes_received,
            "by_name": wire.events_sent.copy(), "by_word": wire.commands.copy()}


def load_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that size a run (bench/all.py takes them too)."""
    parser.add_argument("--callers", type=int, default=5100,
                        help="calls placed (agents answer some: 5,100 keeps 5,000 queued)")
    parser.add_argument("--rate", type=float, default=300.0, help="calls placed a second")
    parser.add_argument("--hold", type=float, default=65.0, help="seconds of holding measured")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    load_arguments(parser)
    parser.add_argument("--profile", type=Path, help="py-spy fsrouter into this directory (setup.txt, holding.txt)")
    parser.add_argument("--gc-probe", type=Path, help="log fsrouter's full collections to this file")
    args = parser.parse_args()
    print(json.dumps(run(args.callers, args.rate, args.hold, args.profile, args.gc_probe), indent=2))
    if args.profile:
        for name in ("setup.txt", "holding.txt"):
            if (args.profile / name).exists():
                print(f"fsrouter's own time, {name}:")
                for frame, share in top_frames(args.profile / name):
                    print(f"  {share:6.1%}  {frame}")


if __name__ == "__main__":
    main()
