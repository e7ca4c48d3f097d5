#!/usr/bin/env python3
"""Generate fsrouter's prompts from sounds/prompts.yaml.

Requirements (this script installs nothing):

    apt-get install espeak-ng sox
    python3 tools/make_sounds.py            # from the repository root

For every prompt id "<dir>/<name>" in the manifest, every language (or those
its ``only:`` lists: a grammatical form one language alone says) and every
rate it writes ``sounds/<lang>/<dir>/<rate>/<name>.wav``: 16-bit signed PCM,
mono, at the rate of its directory.  That is the layout FreeSWITCH's
mod_sndfile expects: asked to play ``<root>/en/menu/main.wav`` on an 8 kHz
channel it first opens ``<root>/en/menu/8000/main.wav``.

Speech comes from espeak-ng (its native 22050 Hz output), music from sox's
``synth``; sox then trims leading and trailing silence, pads a little,
normalises the level and resamples.  The output is deterministic: espeak-ng
is, sox runs with ``-R`` (repeatable: fixed seeds, no time stamps) and ``-D``
(no dither), and WAV headers carry no dates.  Rerunning gives the same bytes,
so regenerated files only show up in ``git status`` when the manifest or the
tools changed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = ROOT / "sounds" / "prompts.yaml"
DEFAULT_OUT = ROOT / "sounds"

# sox global options: repeatable (fixed PRNG seeds), no dither, only errors.
SOX = ["sox", "-R", "-D", "-V1"]
# Output format options shared by every file.
WAV_OUT = ["-t", "wav", "-e", "signed-integer", "-b", "16", "-c", "1"]

# Speech post-processing: trim silence at both ends (espeak leaves ~0.1-0.3 s),
# pad with a short, fixed silence so prompts chained by the engine do not run
# into each other, and normalise the peak level.  A gentle high-pass removes
# rumble that only costs codec bits on a phone line.
SPEECH_EFFECTS = [
    "highpass", "80",
    "silence", "1", "0.02", "0.3%",
    "reverse", "silence", "1", "0.02", "0.3%", "reverse",
    "pad", "0.05", "0.15",
    "norm", "-3",
]

# Hold music: a I-vi-IV-V progression in C (C, Am, F, G), each chord two
# seconds of plucked-guitar arpeggio (eighth notes at 120 bpm), softened with
# a low-pass filter and a little reverb.  8 s in all; it ends on the dominant
# so that the loop back to C resolves.  Note names are sox's (scientific
# pitch notation).
HOLD_CHORDS = [
    ["C3", "G3", "C4", "E4", "G4", "E4", "C4", "G3"],
    ["A2", "E3", "A3", "C4", "E4", "C4", "A3", "E3"],
    ["F2", "C3", "F3", "A3", "C4", "A3", "F3", "C3"],
    ["G2", "D3", "G3", "B3", "D4", "B3", "G3", "D3"],
]
HOLD_CHORD_SECONDS = 2.0
HOLD_NOTE_STEP = 0.25
MUSIC_RATE = 48000


@dataclass(frozen=True)
class Job:
    prompt_id: str
    lang: str
    text: str | None  # None for music
    music: str | None
    voice: str
    speed: int
    pitch: int


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"{proc.stderr.decode(errors='replace')}"
        )


def load_manifest(path: Path) -> tuple[list[int], list[Job]]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    rates = [int(r) for r in data["rates"]]
    languages = data["languages"]
    jobs: list[Job] = []
    errors: list[str] = []
    for prompt_id, entry in data["prompts"].items():
        prompt_id = str(prompt_id)
        if prompt_id.count("/") != 1 or not all(prompt_id.split("/")):
            errors.append(f"{prompt_id}: prompt ids are '<dir>/<name>'")
            continue
        if not isinstance(entry, dict):
            errors.append(f"{prompt_id}: expected a mapping")
            continue
        music = entry.get("music")
        only = entry.get("only", list(languages))
        if not (isinstance(only, list) and set(only) <= set(languages)):
            errors.append(f"{prompt_id}: only: a list of languages among {sorted(languages)}")
            continue
        for lang, conf in languages.items():
            if lang not in only:
                if lang in entry:
                    errors.append(f"{prompt_id}: text for {lang!r}, which only: leaves out")
                continue
            text = None if music else entry.get(lang)
            if not music and not (isinstance(text, str) and text.strip()):
                errors.append(f"{prompt_id}: no text for language {lang!r}")
                continue
            jobs.append(
                Job(
                    prompt_id=prompt_id,
                    lang=lang,
                    text=text,
                    music=music,
                    voice=str(conf["voice"]),
                    speed=int(conf.get("speed", 160)),
                    pitch=int(conf.get("pitch", 50)),
                )
            )
        unknown = set(entry) - set(languages) - {"music", "only"}
        if unknown:
            errors.append(f"{prompt_id}: unknown keys {sorted(unknown)}")
    if errors:
        raise SystemExit("prompts.yaml:\n  " + "\n  ".join(errors))
    return rates, jobs


def out_path(out: Path, lang: str, prompt_id: str, rate: int) -> Path:
    directory, name = prompt_id.split("/")
    return out / lang / directory / str(rate) / f"{name}.wav"


def synth_hold_music(tmp: Path) -> Path:
    """Render the hold-music loop at MUSIC_RATE into tmp; return its path."""
    parts = []
    voices = len(HOLD_CHORDS[0])
    delays = [f"{i * HOLD_NOTE_STEP:g}" for i in range(voices)]
    for i, chord in enumerate(HOLD_CHORDS):
        part = tmp / f"chord{i}.wav"
        synth = ["synth", f"{HOLD_CHORD_SECONDS:g}"]
        for note in chord:
            synth += ["pluck", note]
        _run(
            SOX
            + ["-r", str(MUSIC_RATE), "-c", str(voices), "-n"]
            + WAV_OUT
            + [str(part)]
            + synth
            + ["delay", *delays, "remix", "-"]
            + ["trim", "0", f"{HOLD_CHORD_SECONDS:g}"]
            + ["fade", "t", "0", f"{HOLD_CHORD_SECONDS:g}", "0.08"]
        )
        parts.append(str(part))
    total = HOLD_CHORD_SECONDS * len(HOLD_CHORDS)
    music = tmp / "music.wav"
    _run(
        SOX
        + parts
        + WAV_OUT
        + [str(music)]
        + ["lowpass", "2500", "reverb", "35", "50", "60", "pad", "0", "1"]
        + ["trim", "0", f"{total:g}", "norm", "-6"]
    )
    return music


def render(job: Job, rates: list[int], out: Path) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="make_sounds.") as td:
        tmp = Path(td)
        if job.music:
            if job.music != "hold":
                raise SystemExit(f"{job.prompt_id}: unknown music {job.music!r}")
            source = synth_hold_music(tmp)
            effects: list[str] = []
        else:
            source = tmp / "speech.wav"
            _run(
                [
                    "espeak-ng",
                    "-v", job.voice,
                    "-s", str(job.speed),
                    "-p", str(job.pitch),
                    "-w", str(source),
                    "--",
                    job.text or "",
                ]
            )
            effects = SPEECH_EFFECTS
        written = []
        for rate in rates:
            dest = out_path(out, job.lang, job.prompt_id, rate)
            dest.parent.mkdir(parents=True, exist_ok=True)
            partial = dest.with_name(dest.name + ".part")
            _run(
                SOX
                + [str(source)]
                + WAV_OUT
                + ["-r", str(rate), str(partial)]
                + effects
                + ["rate", "-v", str(rate)]
            )
            os.replace(partial, dest)
            written.append(dest)
        return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="sounds root (default: sounds/ in the repository)")
    parser.add_argument("--lang", action="append",
                        help="only this language (repeatable)")
    parser.add_argument("--only", action="append", metavar="PROMPT_ID",
                        help="only this prompt id (repeatable)")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--clean", action="store_true",
                        help="delete .wav files under the language directories "
                             "that the manifest no longer lists")
    args = parser.parse_args(argv)

    missing = [tool for tool in ("espeak-ng", "sox") if not shutil.which(tool)]
    if missing:
        print(f"missing {', '.join(missing)}: apt-get install espeak-ng sox",
              file=sys.stderr)
        return 1

    rates, jobs = load_manifest(args.manifest)
    if args.lang:
        jobs = [j for j in jobs if j.lang in args.lang]
    if args.only:
        jobs = [j for j in jobs if j.prompt_id in args.only]

    written: set[Path] = set()
    failures = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(render, job, rates, args.out): job for job in jobs}
        for fut in concurrent.futures.as_completed(futures):
            job = futures[fut]
            try:
                written.update(fut.result())
            except Exception as exc:  # report every failure, then fail
                failures += 1
                print(f"{job.lang}/{job.prompt_id}: {exc}", file=sys.stderr)

    if args.clean and not failures and not args.only:
        for lang in {j.lang for j in jobs}:
            for wav in sorted((args.out / lang).rglob("*.wav")):
                if wav not in written:
                    print(f"removing {wav.relative_to(args.out)}")
                    wav.unlink()

    print(f"{len(written)} files written under {args.out}"
          + (f", {failures} prompts FAILED" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
