"""What a playback argument plays, and for how long.

Mirrors how FreeSWITCH opens a file for `playback`:

* ``<dir>/<name>.wav`` on an 8 kHz channel: mod_sndfile first tries the rate
  directory ``<dir>/8000/<name>.wav``, then the literal path.  A relative
  path is taken under the switch's sounds directory (FreeSWITCH's
  ``sound_prefix``).  Anything that cannot be opened is "not found".
* ``file_string://a!b!c`` plays each part in turn and silently skips the parts
  it cannot open; only when none opens is the whole thing "not found".
* ``tone_stream://%(on,off,freq...);loops=N`` lasts (on+off) ms per segment,
  times N loops (``loops=-1`` forever); ``silence_stream://N`` lasts N ms
  (N <= 0 forever).
* ``local_stream://NAME`` is a mod_local_stream source, shared by every
  channel that plays it: it never ends by itself (``local_stream_file_read``
  hands out silence when its buffer is empty and never reports the end of
  the file), so the playback lasts until a break or the hangup.  The source
  is looked up as ``NAME/<rate>`` first, then ``NAME``, then ``default``;
  with none of them the open fails and ``playback`` answers ``FILE NOT
  FOUND`` (src/mod/formats/mod_local_stream/mod_local_stream.c,
  ``local_stream_file_open`` and ``local_stream_file_read``, cc93a68).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from fsrouter.sim.fsutil import atoi
from fsrouter.sim.wav import WavError, wav_duration

#: Seconds of speech per character for the simulated TTS engine (espeak-ng at
#: ~165 words a minute), plus a short lead-in.
TTS_SECONDS_PER_CHAR = 0.065
TTS_LEAD_IN = 0.3


@dataclass(frozen=True)
class Sound:
    """One thing a playback plays."""

    spec: str  #: as it was asked for
    path: str | None  #: the file actually opened; None for generated streams
    seconds: float  #: length in sim seconds; math.inf for an endless stream


class SoundNotFound(LookupError):
    """FreeSWITCH could not open it (`playback` answers ``FILE NOT FOUND``)."""


LOCAL_STREAMS = frozenset({"default", "moh/8000", "moh/16000", "moh/32000", "moh/48000"})
"""The sources of FreeSWITCH's vanilla local_stream.conf.xml (its
``hold_music`` variable is ``local_stream://moh``)."""


def open_sounds(arg: str, *, rate: int = 8000, sounds_dir: str | None = None,
                streams: frozenset[str] = LOCAL_STREAMS) -> list[Sound]:
    """The sounds a playback argument expands to, in playing order;
    `streams` are the switch's local_stream sources."""
    if arg.startswith("file_string://"):
        sounds = []
        for part in arg[len("file_string://"):].split("!"):
            try:
                sounds.append(open_sound(part, rate=rate, sounds_dir=sounds_dir, streams=streams))
            except SoundNotFound:
                continue
        if not sounds:
            raise SoundNotFound(arg)
        return sounds
    return [open_sound(arg, rate=rate, sounds_dir=sounds_dir, streams=streams)]


def open_sound(spec: str, *, rate: int = 8000, sounds_dir: str | None = None,
               streams: frozenset[str] = LOCAL_STREAMS) -> Sound:
    if spec.startswith("tone_stream://"):
        return Sound(spec, None, tone_seconds(spec[len("tone_stream://"):]))
    if spec.startswith("silence_stream://"):
        ms = atoi(spec[len("silence_stream://"):])
        return Sound(spec, None, ms / 1000 if ms > 0 else math.inf)
    if spec.startswith("local_stream://"):
        name = spec[len("local_stream://"):]
        if not ({f"{name}/{rate}", name, "default"} & streams):
            raise SoundNotFound(spec)
        return Sound(spec, None, math.inf)
    if "://" in spec or not spec:
        raise SoundNotFound(spec)  # no such format module in the simulated switch
    path = spec if os.path.isabs(spec) or not sounds_dir else os.path.join(sounds_dir, spec)
    head, name = os.path.split(path)
    for candidate in (os.path.join(head, str(rate), name), path):
        if os.path.isfile(candidate):
            try:
                return Sound(spec, candidate, wav_duration(candidate))
            except (WavError, OSError) as exc:
                raise SoundNotFound(spec) from exc
    raise SoundNotFound(spec)


_SEGMENT = re.compile(r"%\((\d+),(\d+)")
_LOOPS = re.compile(r"^(?:loops|L)=(-?\d+)$")


def tone_seconds(script: str) -> float:
    """Length of a teletone script: the sum of its %(on,off,...) segments, times its loops."""
    segment_ms = 0
    loops = 1
    for token in script.split(";"):
        token = token.strip()
        if (m := _SEGMENT.match(token)) is not None:
            segment_ms += int(m.group(1)) + int(m.group(2))
        elif (m := _LOOPS.match(token)) is not None:
            loops = int(m.group(1))
    if loops < 0:
        return math.inf
    return segment_ms * loops / 1000


def speech_seconds(text: str) -> float:
    """How long the simulated TTS engine takes to say `text`."""
    return TTS_LEAD_IN + TTS_SECONDS_PER_CHAR * len(text)

