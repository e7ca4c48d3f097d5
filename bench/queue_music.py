"""What a queued caller costs on the wire: a looped music file against FreeSWITCH's shared stream.

    .venv/bin/python bench/queue_music.py [--callers 40] [--minutes 2] [--time-scale 0.05]

Runs `fsrouter run` against the simulator (fsrouter.sim.harness) twice with
the same queue, once with `music: queue/hold_music` (an 8 s file every
caller plays for themselves, started again each time it ends: what every
queue did before `music:` existed) and once with the default
`local_stream://moh` (one playback per waiting period, broken into by the
announcements).  Nobody answers: each caller waits `--minutes` sim minutes
with a position announcement after 15 s and every 45 s (every position
up to 60 is spoken, so each caller hears them all), then hangs up.
Prints, per queued caller-minute, the commands fsrouter sent on the
outbound socket (sendmsg, api; 5 of them per call are its set-up: linger,
myevents, nixevent, answer, set), the events the switch sent back, the
playbacks started and fsrouter's own CPU time; the switch's own work per playback (opening a file,
decoding it) is what the issue measured on FreeSWITCH, and it follows the
playbacks.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import gevent

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fsrouter.sim import CallerScript, HangUp, InboundListener, Switch  # noqa: E402
from fsrouter.sim.harness import FsrouterProcess, free_port  # noqa: E402

SOUNDS = REPO / "sounds"
RULES = """\
settings: {{timezone: UTC, language: en, agent_login: auto}}
lines: {{"7000": {{flow: wait}}}}
flows: {{wait: [{{queue: q}}]}}
queues:
  q:
    require: {{music: 1}}
    {music}
    announce: {{position: {{first: {first}s, every: {every}s, up_to: 60}}}}
    max_wait: {{after: 1h, then: {{hangup: NORMAL_CLEARING}}}}
agents: {{"1001": {{dial: user/1001, skills: {{music: 1}}}}}}
"""
VARIANTS = {
    "file (queue/hold_music, looped)": "music: queue/hold_music",
    "stream (local_stream://moh)": "",
}


def measure(music: str, callers: int, minutes: float, scale: float) -> dict[str, float]:
    """Run one variant; the figures per queued caller-minute."""
    workdir = Path(tempfile.mkdtemp(prefix="fsrouter-music-"))
    rules = workdir / "source.yaml"
    rules.write_text(RULES.format(music=music, first=15 * scale, every=45 * scale))
    port = free_port()
    switch = Switch(("127.0.0.1", port), time_scale=scale, sounds_dir=str(SOUNDS), seed=1)
    inbound = InboundListener(switch, "127.0.0.1", 0).start()
    fsrouter = FsrouterProcess(workdir, rules=rules, sounds=SOUNDS, inbound_address=inbound.address,
                               outbound_port=port)
    fsrouter.start()
    try:
        fsrouter.wait_connected()
        cpu = fsrouter.cpu_seconds()
        calls = []
        for _ in range(callers):
            calls.append(switch.place_call(CallerScript(destination="7000", actions=[HangUp(at=minutes * 60)])))
            gevent.sleep(0.02)
        for call in calls:
            if not call.wait(minutes * 60 * scale + 30):
                raise SystemExit(f"a call did not end\n{fsrouter.log_text()}")
        cpu = fsrouter.cpu_seconds() - cpu
        caller_minutes = sum(c.ended_at - c.answered_at for c in calls) / 60
        commands = sum(len(c.received_frames()) for c in calls)
        events = sum(sum(f.content_type.startswith("text/event") for f in c.sent_frames()) for c in calls)
        playbacks = sum(sum(r.name == "playback" for r in c.esl_apps) for c in calls)
        errors = fsrouter.error_lines()
        if errors:
            raise SystemExit("fsrouter logged errors:\n" + "\n".join(errors[:10]))
        return {"commands": commands / caller_minutes, "events": events / caller_minutes,
                "playbacks": playbacks / caller_minutes, "cpu_ms": 1000 * cpu / caller_minutes}
    finally:
        fsrouter.stop()
        inbound.stop()
        switch.close()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=40)
    parser.add_argument("--minutes", type=float, default=2.0, help="sim minutes each caller waits")
    parser.add_argument("--time-scale", type=float, default=0.05)
    args = parser.parse_args()
    print(f"{args.callers} callers waiting {args.minutes:g} sim minutes each, announcements at 15 s then every 45 s")
    print("| music | commands / caller-min | events / caller-min | playbacks / caller-min | fsrouter CPU ms / caller-min |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, music in VARIANTS.items():
        figures = measure(music, args.callers, args.minutes, args.time_scale)
        print(f"| {name} | {figures['commands']:.1f} | {figures['events']:.1f} | {figures['playbacks']:.1f} | {figures['cpu_ms']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
