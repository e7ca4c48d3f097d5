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
from math import prod
from pathlib import Path

from .. import speech
from .compiler import Compilation
from .plan import Plan
from .problems import Position, Report
from .route_languages import Entry, entries, prompts, queue_speech

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


def check_sounds(result: Compilation, sounds: Path, report: Report) -> None:
    if not sounds.is_dir():
        report.warning(Position(str(sounds)), "no sounds directory here; prompts not checked", "--sounds DIR")
        return
    known = dict(result.known)
    every_language = {language: () for language in sorted(known.get("language", ()))}
    ways = entries(result.plan, known) if result.plan is not None else []
    players = _players(result.plan, ways) if result.plan is not None else {}
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
        by_language = players.get(id(use.template), every_language)
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
    for queue_name, by_language in sorted(_queue_players(ways).items()):
        queue = result.plan.queues[queue_name]
        missing = {
            language: [str(path) for sound_id in sorted(queue_speech(queue, speech.grammar(language)))
                       for path in sound_paths(sounds, language, sound_id) if not listings.exists(path)]
            for language in by_language
        }
        _report_missing(report, queue.pos, f'what queue "{queue_name}" says (numbers, minutes, keys)', missing,
                        by_language)


def _report_missing(report: Report, pos: Position, what: str, missing: dict[str, list[str]],
                    by_language: dict[str, tuple[str, ...]]) -> None:
    """One error for the files missing in any language, naming who plays them in it."""
    files = [path for paths in missing.values() for path in paths]
    if not files:
        return
    shown = ", ".join(files[:_SHOWN]) + (f" and {len(files) - _SHOWN} more" if len(files) > _SHOWN else "")
    who = "; ".join(f"{' and '.join(by_language[language])} can play it in {language}"
                    for language, paths in missing.items() if paths and by_language[language])
    report.error(pos, f"missing sound files for {what}: {shown}" + (f" ({who})" if who else ""),
                 f"a WAV file at {' and '.join(map(str, RATES))} Hz for each language ({', '.join(by_language)})")


def _players(plan: Plan, ways: list[Entry]) -> dict[int, dict[str, tuple[str, ...]]]:
    """Each written prompt (by identity: the plan holds the very `Template`
    the compiler recorded) -> language -> the entries that can play it in it."""
    return _who((id(template), language, way.label) for way in ways for node_id in sorted(way.nodes)
                for template in prompts(plan.nodes[node_id]) for language in way.languages)


def _queue_players(ways: list[Entry]) -> dict[str, dict[str, tuple[str, ...]]]:
    """Queue name -> language -> the entries that can wait in it in that language."""
    return _who((queue, language, way.label) for way in ways for queue in sorted(way.queues)
                for language in way.languages)


def _who(found: Iterable[tuple[Hashable, str, str]]) -> dict:
    """(what, language, label) triples -> what -> language (sorted) -> labels in order, once each."""
    grouped: dict = {}
    for key, language, label in found:
        labels = grouped.setdefault(key, {}).setdefault(language, [])
        if label not in labels:
            labels.append(label)
    return {key: {language: tuple(by[language]) for language in sorted(by)} for key, by in grouped.items()}
