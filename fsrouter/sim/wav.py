"""How long a WAV file plays, read from its header.

A prompt's length decides how long `playback` keeps the channel busy, so the
simulator reads it from the file FreeSWITCH would open rather than guessing.
Only the RIFF chunk headers are read, never the samples.
"""

from __future__ import annotations

import os
import struct


class WavError(ValueError):
    """The file is not a WAV file the simulator can time."""


def wav_duration(path: str | os.PathLike) -> float:
    """Seconds of audio in the WAV file at `path` (data bytes / byte rate)."""
    size_on_disk = os.path.getsize(path)
    with open(path, "rb") as f:
        riff = f.read(12)
        if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            raise WavError(f"{os.fspath(path)}: not a RIFF/WAVE file")
        byte_rate = 0
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise WavError(f"{os.fspath(path)}: no data chunk")
            chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"fmt ":
                fmt = f.read(size + (size & 1))
                if size < 16:
                    raise WavError(f"{os.fspath(path)}: fmt chunk too short")
                byte_rate = struct.unpack("<I", fmt[8:12])[0]
            elif chunk_id == b"data":
                if not byte_rate:
                    raise WavError(f"{os.fspath(path)}: data chunk before a usable fmt chunk")
                # Streamed WAVs leave the size at 0 or 0xFFFFFFFF: use what is on disk.
                available = size_on_disk - f.tell()
                if size == 0 or size > available:
                    size = available
                return size / byte_rate
            else:
                f.seek(size + (size & 1), os.SEEK_CUR)
