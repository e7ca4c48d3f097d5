"""Compile what a caller hears and keys around a queue: `music`, `exit`
keys and `record`.

`music` is FreeSWITCH's shared stream (``local_stream://moh``, the
default) or a prompt played in a loop; `exit` maps single DTMF keys a
waiting caller may press to where they go (any action a flow step could
be); `record` (on a line, a route or a queue) records the bridged call.
Every key a waiting caller may press means one thing only: an exit key,
the callback key and the recording opt-out key may not be the same key.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .. import fsvalues
from . import plan
from .queue_settings import spoken
from .shapes import DTMF_KEY, Shapes
from .templates import Template
from .tree import Map, Node, Scalar

MUSIC_AS_IS = re.compile(r"local_stream://[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*"
                         r"|(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+\.(?:wav|mp3|ogg)")
"""A mod_local_stream source or an absolute file: played as written (no
language folder); anything else is a prompt id."""
MUSIC_HINT = ("local_stream://NAME (a FreeSWITCH stream, default local_stream://moh), "
              "an absolute .wav/.mp3/.ogg file or a prompt id")
RECORD_KEYS = ("path", "announce", "opt_out_key")
RECORD_PATH_HINT = ('an absolute file path template ending in .wav, .mp3 or .ogg, e.g. '
                    '"/var/lib/fsrouter/recordings/{date}/{queue}/{uuid}.wav"')
RECORD_FORMATS = (".wav", ".mp3", ".ogg")
OPT_OUT_PROMPT = "recording/opt_out"
"""Said after the notice, before the opt-out key's name: "If you prefer not to be recorded, press 9"."""

Action = Callable[[Node, str, str, str | None, str], str]
"""`FlowCompiler.action`: (node, base id, flow, continuation, what) -> entry id."""


@dataclass
class MediaSettings:
    shapes: Shapes
    prompt: Callable[[Node, str], Template | None]
    """Checks a prompt id and records it for the sound-file check."""

    def music(self, node: Node) -> str | None:
        text = self.shapes.text(node, "music", MUSIC_HINT)
        if text is None:
            return None
        if "://" in text or text.startswith("/"):
            if not MUSIC_AS_IS.fullmatch(text):  # no "..": a segment may not start with "."
                self.shapes.bad(node, "music", MUSIC_HINT)
                return None
            return text
        return text if self.prompt(node, "music") is not None else None

    def exits(self, node: Node, flow: str, action: Action,
              roots: list[str]) -> tuple[Mapping[str, str], dict[str, Scalar]] | None:
        """Key -> entry id of its destination, and the keys' nodes (for
        clashes).  Each destination compiled is added to `roots` (a root of
        the flow graph), even when another key is bad."""
        m = self.shapes.mapping(node, "exit", 'a mapping of DTMF keys to actions, e.g. "0": {goto: operator}')
        if m is None:
            return None
        if not m.entries:
            self.shapes.bad(m, "exit", 'at least one DTMF key, e.g. "0": {transfer: operator}')
            return None
        exits: dict[str, str] = {}
        keys: dict[str, Scalar] = {}
        ok = True
        for key, value in m.entries:
            if not DTMF_KEY.fullmatch(key.text):
                self.shapes.report.error(key.pos, f'bad exit key "{key.text}"',
                                         'one DTMF key, quoted: "0" (0-9, * or #)')
                ok = False
                continue
            exits[key.text] = action(value, f"{flow}/exit/{key.text}", flow, None, f'exit "{key.text}"')
            keys[key.text] = key
            roots.append(exits[key.text])
        return (plan.frozen_map(exits), keys) if ok else None

    def record(self, node: Node, what: str) -> plan.RecordSettings | None:
        fields = self.shapes.fields(node, what, RECORD_KEYS, required=("path",))
        if fields is None or "path" not in fields:
            return None
        values = self.shapes.read(fields, {
            "path": ("path", self.record_path),
            "announce": ("announce", lambda n: self.prompt(n, f"{what} announce")),
            "opt_out_key": ("opt_out_key", lambda n: self.shapes.key(n, f"{what} opt_out_key", "0")),
        })
        if values is None:
            return None
        if values.get("announce") is not None and values.get("opt_out_key"):
            # The machine names the key after the notice (flow/machine.py _notice): its prompt is checked too.
            spoken(self.prompt, fields["opt_out_key"], f"{what} opt_out_key", [OPT_OUT_PROMPT])
        return plan.RecordSettings(**values)

    def record_path(self, node: Node) -> Template | None:
        """Absolute, no `..`, an audio file, and nothing in its fixed text
        that FreeSWITCH would read as syntax (`record_session` splits its
        argument on spaces); the {values} are made safe when rendered."""
        template = self.shapes.template(node, "record path", RECORD_PATH_HINT)
        if template is None:
            return None
        literal = "".join(template.parts[0::2])
        if (not template.source.startswith("/") or ".." in template.source.split("/")
                or fsvalues.sound_path(literal) != literal
                or not template.source.lower().endswith(RECORD_FORMATS)
                or posixpath.normpath(template.source) != template.source.rstrip("/")):
            self.shapes.bad(node, "record path", RECORD_PATH_HINT)
            return None
        return template

    def clashes(self, exit_keys: Mapping[str, Scalar], fields: Mapping[str, Node],
                callback: plan.CallbackSettings | None, record: plan.RecordSettings | None) -> bool:
        """Report an exit key that is also the callback key or the queue's
        recording opt-out key (and those two alike); True if any clash."""
        others = []
        if callback is not None:
            others.append(("callback key", callback.key, _key_node(fields.get("callback"), "key")))
        if record is not None and record.opt_out_key is not None:
            others.append(("record opt_out_key", record.opt_out_key, _key_node(fields.get("record"), "opt_out_key")))
        clash = False
        for what, key, where in others:
            if key in exit_keys:
                self.shapes.report.error(exit_keys[key].pos, f'exit key "{key}" is also the {what} (at {where.pos})',
                                         "a key that means one thing only")
                clash = True
        if len(others) == 2 and others[0][1] == others[1][1]:
            self.shapes.report.error(others[1][2].pos, f'record opt_out_key "{others[1][1]}" is also the callback key',
                                     "a key that means one thing only")
            clash = True
        return clash


def _key_node(block: Node | None, key: str) -> Node:
    """Where a key was written (its block when it is a default)."""
    if isinstance(block, Map):
        return block.get(key) or block
    return block


def record_path(template: Template, variables: Mapping[str, str]) -> str:
    """The file a call is recorded into: each {value} one safe path
    segment (`fsvalues.path_part`: a caller's value can neither add a
    directory, climb out with `..`, nor inject FreeSWITCH syntax)."""
    safe = {name: fsvalues.path_part(variables.get(name, "")) for name in template.fields}
    return fsvalues.sound_path(template.render(safe))
