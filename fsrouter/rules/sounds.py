"""Check that every prompt the rules can play exists as a sound file.

A prompt id `menu/main` in language `en` is played as `en/menu/main.wav`;
FreeSWITCH inserts the sample-rate directory, so on disk it must exist as
`<sounds>/en/menu/8000/main.wav` and `<sounds>/en/menu/16000/main.wav`.
A prompt with `{variables}` is checked for every value those variables are
known to take (from lines and `set`), in every known language.
"""

from __future__ import annotations

import errno
import os
from math import prod
from pathlib import Path

from .compiler import Compilation
from .problems import Position, Report

RATES = (8000, 16000)
MAX_RENDERINGS = 1000
"""Most renderings of one templated prompt that are looked for on disk; the
known values of several placeholders multiply."""
MAX_LOOKUPS = 250_000
"""Most files looked for in one check, all prompts together: past it the
remaining prompts are reported unchecked (a warning), so a file of many
templated prompts cannot keep `check`, or a reload, busy for minutes."""
_SHOWN = 4


class _Listings:
    """Sound folders read once each: a file is looked up in its folder's
    listing rather than stat-ed (16.7 M stats took a 14 KB file 146 s)."""

    def __init__(self) -> None:
        self._folders: dict[Path, frozenset[str]] = {}

    def exists(self, path: Path) -> bool:
        if any(len(os.fsencode(part)) > 255 for part in path.parts):
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(path))
        folder = path.parent
        names = self._folders.get(folder)
        if names is None:
            try:
                names = frozenset(entry.name for entry in os.scandir(folder) if entry.is_file())
            except (FileNotFoundError, NotADirectoryError):
                names = frozenset()
            self._folders[folder] = names
        return path.name in names


def sound_paths(sounds: Path, language: str, sound_id: str) -> list[Path]:
    folder, _, name = sound_id.rpartition("/")
    return [sounds / language / folder / str(rate) / f"{name}.wav" for rate in RATES]


def missing_files(sounds: Path, sound_id: str, languages: list[str]) -> list[Path]:
    """The files prompt `sound_id` lacks for these languages (empty: it can be played to anyone)."""
    listings = _Listings()
    return [path for language in sorted(languages) for path in sound_paths(sounds, language, sound_id)
            if not listings.exists(path)]


def prompts_in(sounds: Path, folder: str, languages: list[str]) -> list[str]:
    """The prompt ids `folder/NAME` whose files exist in every one of these
    languages at every rate: what an operator may choose from (notices/)."""
    names: set[str] | None = None
    for language in languages:
        for rate in RATES:
            try:
                found = {entry.name[:-4] for entry in os.scandir(sounds / language / folder / str(rate))
                         if entry.name.endswith(".wav") and entry.is_file()}
            except (FileNotFoundError, NotADirectoryError):
                found = set()
            names = found if names is None else names & found
    return sorted(f"{folder}/{name}" for name in names or ())


def check_sounds(result: Compilation, sounds: Path, report: Report) -> None:
    if not sounds.is_dir():
        report.warning(Position(str(sounds)), "no sounds directory here; prompts not checked", "--sounds DIR")
        return
    known = dict(result.known)
    languages = sorted(known.get("language", ()))
    wanted = f"a WAV file at {' and '.join(map(str, RATES))} Hz for each language ({', '.join(languages)})"
    listings = _Listings()
    budget = MAX_LOOKUPS
    # In file order, so "the prompts after it" that a budget leaves unchecked are the later ones.
    for use in sorted(result.prompts, key=lambda u: (u.pos.file, u.pos.line, u.pos.column)):
        unknown = [f for f in use.template.fields if not known.get(f)]
        if unknown:
            report.warning(
                use.pos, f'cannot check prompt "{use.template}": the values of {{{unknown[0]}}} are not known',
                f"{unknown[0]} set to literal values under lines, routes or set steps",
            )
            continue
        renderings = prod(len(known[f]) for f in set(use.template.fields))
        if renderings > MAX_RENDERINGS:
            report.warning(
                use.pos, f'cannot check prompt "{use.template}": its placeholders take {renderings:,} combinations',
                f"at most {MAX_RENDERINGS:,}",
            )
            continue
        budget -= renderings * len(languages) * len(RATES)
        if budget < 0:
            report.warning(use.pos, f'prompt "{use.template}" and the prompts after it not checked: '
                           f"more than {MAX_LOOKUPS:,} sound files to look for", "fewer templated prompts")
            return
        try:
            missing = [
                str(path)
                for sound_id in use.template.expand(known)
                for language in languages
                for path in sound_paths(sounds, language, sound_id)
                if not listings.exists(path)
            ]
        except OSError as exc:  # e.g. a file name too long, from a long value of a placeholder
            report.error(use.pos, f'cannot check prompt "{use.template}": {exc.strerror or exc}',
                         "prompt ids and the values of their placeholders that make usable file names")
            continue
        if missing:
            shown = ", ".join(missing[:_SHOWN]) + (f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else "")
            report.error(use.pos, f'missing sound files for prompt "{use.template}": {shown}', wanted)
