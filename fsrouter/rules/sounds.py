"""Check that every prompt the rules can play exists as a sound file.

A prompt id `menu/main` in language `en` is played as `en/menu/main.wav`;
FreeSWITCH inserts the sample-rate directory, so on disk it must exist as
`<sounds>/en/menu/8000/main.wav` and `<sounds>/en/menu/16000/main.wav`.
A prompt with `{variables}` is checked for every value those variables are
known to take (from lines and `set`).  Each prompt is checked in the
languages of the lines and routes that can reach it (`route_languages`),
and a missing file names them: "route "greek" plays it in el".  What a
queue says through a language's grammar (numbers, minutes, keys) is checked
per queue and language the same way.  Without a plan (rules with errors)
every prompt is checked in every language the rules name.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from math import prod
from pathlib import Path

from .. import speech
from .compiler import Compilation
from .plan import Plan
from .problems import Position, Report
from .route_languages import Entry, prompts, queue_speech

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
        return path.name in self.names(path.parent)

    def names(self, folder: Path) -> frozenset[str]:
        """The files in `folder` (none when it is missing), listed once."""
        names = self._folders.get(folder)
        if names is None:
            try:
                names = frozenset(entry.name for entry in os.scandir(folder) if entry.is_file())
            except (FileNotFoundError, NotADirectoryError):
                names = frozenset()
            self._folders[folder] = names
        return names


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
    listings = _Listings()
    names: set[str] | None = None
    for language in languages:
        for rate in RATES:
            found = {name[:-4] for name in listings.names(sounds / language / folder / str(rate))
                     if name.endswith(".wav")}
            names = found if names is None else names & found
    return sorted(f"{folder}/{name}" for name in names or ())


def check_sounds(result: Compilation, sounds: Path, report: Report) -> None:
    if not sounds.is_dir():
        report.warning(Position(str(sounds)), "no sounds directory here; prompts not checked", "--sounds DIR")
        return
    known = dict(result.known)
    every_language = {language: _Players() for language in sorted(known.get("language", ()))}
    who = _Who(result.plan, result.ways) if result.plan is not None else None
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
        by_language = (who.of(id(use.template)) if who else None) or every_language
        budget -= renderings * len(by_language) * len(RATES)
        if budget < 0:
            report.warning(use.pos, f'prompt "{use.template}" and the prompts after it not checked: '
                           f"more than {MAX_LOOKUPS:,} sound files to look for", "fewer templated prompts")
            return
        try:
            missing = {
                language: [str(path) for sound_id in use.template.expand(known)
                           for path in sound_paths(sounds, language, sound_id) if not listings.exists(path)]
                for language in by_language
            }
        except OSError as exc:  # e.g. a file name too long, from a long value of a placeholder
            report.error(use.pos, f'cannot check prompt "{use.template}": {exc.strerror or exc}',
                         "prompt ids and the values of their placeholders that make usable file names")
            continue
        _report_missing(report, use.pos, f'prompt "{use.template}"', missing, by_language)
    for queue_name in who.queues if who else ():
        queue, by_language = result.plan.queues[queue_name], who.of(("queue", queue_name))
        missing = {
            language: [str(path) for sound_id in sorted(queue_speech(queue, speech.grammar(language)))
                       for path in sound_paths(sounds, language, sound_id) if not listings.exists(path)]
            for language in by_language
        }
        _report_missing(report, queue.pos, f'what queue "{queue_name}" says (numbers, minutes, keys)', missing,
                        by_language)


def _report_missing(report: Report, pos: Position, what: str, missing: dict[str, list[str]],
                    by_language: dict[str, _Players]) -> None:
    """One error for the files missing in any language, naming who plays them in it."""
    files = [path for paths in missing.values() for path in paths]
    if not files:
        return
    shown = ", ".join(files[:_SHOWN]) + (f" and {len(files) - _SHOWN} more" if len(files) > _SHOWN else "")
    who = "; ".join(f"{by_language[language]} can play it in {language}"
                    for language, paths in missing.items() if paths and by_language[language].count)
    report.error(pos, f"missing sound files for {what}: {shown}" + (f" ({who})" if who else ""),
                 f"a WAV file at {' and '.join(map(str, RATES))} Hz for each language ({', '.join(by_language)})")


@dataclass
class _Players:
    """The lines and routes that can play something in one language: the
    first few by name, and how many in all."""

    labels: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, labels: list[str], count: int) -> None:
        self.labels += labels[:_SHOWN - len(self.labels)]
        self.count += count

    def __str__(self) -> str:
        more = self.count - len(self.labels)
        return ", ".join(self.labels) + (f" and {more} more" if more else "")


class _Who:
    """Who can play each written prompt (by identity: the plan holds the very
    `Template` the compiler recorded) and who can wait in each queue, in
    which language.  Worked out per flow, so that a thousand lines into one
    flow cost one walk of it, not a thousand."""

    def __init__(self, plan: Plan, ways: Iterable[Entry]) -> None:
        self._by_flow: dict[str, dict[str, _Players]] = {}
        reaches = {}
        for way in ways:
            reaches[way.flow] = way.reach
            for language in way.languages:
                self._by_flow.setdefault(way.flow, {}).setdefault(language, _Players()).add([way.label], 1)
        self._flows_of: dict[Hashable, set[str]] = {}
        for flow, reach in reaches.items():
            for node_id in reach.nodes:
                for template in prompts(plan.nodes[node_id]):
                    self._flows_of.setdefault(id(template), set()).add(flow)
            for queue in reach.queues:
                self._flows_of.setdefault(("queue", queue), set()).add(flow)
        self.queues = sorted(key[1] for key in self._flows_of if isinstance(key, tuple))
        """The queues some line or route can reach."""

    def of(self, key: Hashable) -> dict[str, _Players] | None:
        """Language (sorted) -> who plays `key` in it; None if nothing reaches it."""
        if key not in self._flows_of:
            return None
        merged: dict[str, _Players] = {}
        for flow in sorted(self._flows_of[key]):
            for language, players in self._by_flow.get(flow, {}).items():
                merged.setdefault(language, _Players()).add(players.labels, players.count)
        return {language: merged[language] for language in sorted(merged)}
