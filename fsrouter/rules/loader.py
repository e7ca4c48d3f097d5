"""Read rules files into the intermediate tree, safely and with positions.

YAML is only *composed* (parsed into nodes), never *constructed*: no tag can
build a Python object, and there is no `eval`.  Scalars are resolved here
with a deliberately small schema:

* mapping keys are always the text as written, so DTMF keys `0`, `1`, `*`,
  `#`, zero-prefixed numbers and YAML 1.1 booleans (`on`, `off`, `yes`,
  `no`) stay strings;
* plain values are `true`/`false`, `null`/`~`/empty, decimal integers
  without leading zeros, decimals, and otherwise text (so `yes`, `0123`,
  `08:00` and `2025-12-25` stay text).

Duplicate keys are errors naming both lines.  Problems are collected into a
`Report`; a file that is not valid YAML yields no tree.

Rules files come from people and tools that make mistakes, so reading them is
bounded before any parsing cost is paid: a file's size, the number of files in
a directory, how deep mappings and lists nest (checked while composing, since
PyYAML's composer and every later stage recurse once per level), how far
aliases expand and how many digits a number has.  Whatever is refused is
reported with its place, never raised.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

import yaml
from yaml.composer import Composer
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from .problems import Position, Report
from .tree import Map, Node, Scalar, ScalarValue, Seq

SERVICE_CONFIG = "fsrouter.yaml"
"""The service configuration file, validated elsewhere and never read as rules."""

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Largest rules file read; checked before reading (real files are a few KiB)."""

MAX_FILES = 1000
"""Most rules files in one directory tree."""

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists, aliases expanded (real rules nest
about 12 deep).  Keeps every recursive stage far from Python's recursion limit."""

MAX_DIGITS = 1000
"""Longest integer; Python refuses to convert more than 4300 digits."""

_MAX_EXPANDED = 100_000
"""Most nodes built again through aliases (alias bombs); the nodes written
out are bounded by the file size."""

_DEPTH_HINT = f"at most {MAX_DEPTH} levels of nested mappings and lists"

_PLACEHOLDER_HINT = 'quotes around a value with {placeholders} inside [...] or {...}, e.g. ["greeting/{brand}"]'
_PLAIN = "!fsrouter/plain"
_TAG = "tag:yaml.org,2002:"
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_NULL = {"", "~", "null", "Null", "NULL"}


class _Resolver(BaseResolver):
    """Marks untagged plain scalars so that this module resolves them itself."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)


class _TooDeep(yaml.MarkedYAMLError):
    """Nesting passed `MAX_DEPTH` at `problem_mark`."""


class _Composer(Reader, Scanner, Parser, Composer, _Resolver):
    """PyYAML's composer, refusing to nest deeper than `MAX_DEPTH`.

    The composer recurses twice per level and fails near 500 levels with
    RecursionError, so the depth is checked before it descends.
    """

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Resolver.__init__(self)
        self.depth = 0

    def compose_node(self, parent, index):
        if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            return super().compose_node(parent, index)
        if self.depth >= MAX_DEPTH:
            raise _TooDeep(problem=f"nested more than {MAX_DEPTH} levels deep",
                           problem_mark=self.peek_event().start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load_text(text: str, filename: str, report: Report) -> Node | None:
    """Parse one YAML document; None if it is not valid YAML (and reported)."""
    composer = None
    try:
        composer = _Composer(text)  # the reader refuses unprintable characters here already
        root = composer.get_single_node()
    except _TooDeep as exc:
        report.error(_mark_position(filename, exc.problem_mark), str(exc.problem), _DEPTH_HINT)
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = f"{exc.context}, {exc.problem}" if exc.context else str(exc.problem)
        hint = _PLACEHOLDER_HINT if "'{'" in detail else None
        report.error(_mark_position(filename, mark), f"invalid YAML: {detail}", hint)
        return None
    except yaml.reader.ReaderError as exc:
        report.error(_offset_position(filename, text, exc.position),
                     f"invalid YAML: character U+{exc.character:04X} is not allowed",
                     "printable Unicode text (no NUL or other control characters)")
        return None
    except yaml.YAMLError as exc:
        report.error(Position(filename), f"invalid YAML: {exc}")
        return None
    finally:
        if composer is not None:
            composer.dispose()
    if root is None:
        return Map((), Position(filename, 1, 1))
    return _Converter(filename, report).node(root)


def _mark_position(filename: str, mark) -> Position:
    return Position(filename, mark.line + 1, mark.column + 1) if mark else Position(filename)


def _offset_position(filename: str, text: str, offset: int) -> Position:
    """The line and column of character `offset` of `text`."""
    line_start = text.rfind("\n", 0, offset) + 1
    return Position(filename, text.count("\n", 0, offset) + 1, offset - line_start + 1)


def read_text(path: Path, report: Report, name: str | None = None) -> str | None:
    """The UTF-8 text of a rules (or configuration) file, or None after
    reporting why not: not a regular file, larger than `MAX_FILE_BYTES`
    (checked before reading), unreadable, or not UTF-8."""
    pos = Position(name or str(path))
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            report.error(pos, "not a regular file", "a rules file (*.yaml) or a directory of them")
            return None
        if info.st_size > MAX_FILE_BYTES:
            report.error(pos, f"file too large: {info.st_size:,} bytes", f"at most {MAX_FILE_BYTES:,} bytes")
            return None
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # the file may have grown since
    except OSError as exc:
        report.error(pos, f"cannot read: {exc.strerror or exc}")
        return None
    if len(data) > MAX_FILE_BYTES:
        report.error(pos, f"file too large: over {MAX_FILE_BYTES:,} bytes", f"at most {MAX_FILE_BYTES:,} bytes")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.error(pos, f"not UTF-8 text: {exc.reason} at byte {exc.start}", "a file saved as UTF-8")
        return None


def load_file(path: Path, report: Report, display: str | None = None) -> Node | None:
    """Read and parse one rules file (UTF-8); IO problems become errors."""
    name = display or str(path)
    text = read_text(path, report, name)
    return None if text is None else load_text(text, name, report)


def rules_files(path: Path, report: Report) -> list[Path]:
    """The rules files named by PATH, in a stable order.

    A file is itself; a directory means every `*.yaml`/`*.yml` below it
    except the service config, or below its `rules/` subdirectory if it has
    one (so `fsrouter check config/` works).  Symbolic links to directories
    are not followed (no loops); anything named like a rules file that is not
    a directory is returned, so that reading it reports what is wrong with it.
    More than `MAX_FILES` files is an error and none is returned.
    """
    if not path.is_dir():
        return [path]
    if (path / "rules").is_dir():
        path = path / "rules"
    found: list[Path] = []
    folders = [path]
    while folders and len(found) <= MAX_FILES:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
                    elif entry.name.endswith((".yaml", ".yml")) and entry.name != SERVICE_CONFIG \
                            and not _is_dir(entry):
                        found.append(Path(entry.path))
        except OSError as exc:
            report.error(Position(str(folder)), f"cannot read directory: {exc.strerror or exc}")
    if len(found) > MAX_FILES:
        report.error(Position(str(path)), f"too many rules files: more than {MAX_FILES:,}",
                     f"at most {MAX_FILES:,} *.yaml files")
        return []
    return sorted(found)


def _is_dir(entry: os.DirEntry) -> bool:
    """A link to a directory is skipped like the directory it names."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def load_paths(paths: Iterable[Path], report: Report) -> list[Node] | None:
    """Load several files; None if any of them could not be parsed."""
    trees = [load_file(p, report) for p in paths]
    return None if None in trees else trees


class _Converter:
    """Turns composed YAML nodes into the intermediate tree."""

    def __init__(self, filename: str, report: Report) -> None:
        self.filename = filename
        self.report = report
        self.expanded = 0
        self.built: set[int] = set()
        self.open: set[int] = set()
        self.too_deep: set[Position] = set()

    def pos(self, node: yaml.Node) -> Position:
        mark = node.start_mark
        return Position(self.filename, mark.line + 1, mark.column + 1)

    def node(self, node: yaml.Node, depth: int = 0) -> Node:
        """`depth`: collections around `node`; aliases can nest deeper than
        the composer saw, so it is checked again here."""
        pos = self.pos(node)
        if id(node) in self.built:
            self.expanded += 1
            if self.expanded > _MAX_EXPANDED:
                if self.expanded == _MAX_EXPANDED + 1:
                    self.report.error(pos, "document too large (aliases expand too far)")
                return Scalar(None, "", pos)
        self.built.add(id(node))
        if id(node) in self.open:
            self.report.error(pos, "an alias refers to the node that contains it")
            return Scalar(None, "", pos)
        if isinstance(node, yaml.ScalarNode):
            return Scalar(self.scalar(node, pos), node.value, pos)
        if depth >= MAX_DEPTH:
            if pos not in self.too_deep:  # an anchored node may be expanded many times
                self.too_deep.add(pos)
                self.report.error(pos, f"nested more than {MAX_DEPTH} levels deep (aliases expanded)", _DEPTH_HINT)
            return Scalar(None, "", pos)
        self.check_tag(node, pos)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return Seq(tuple(self.node(item, depth + 1) for item in node.value), pos)
            return self.mapping(node, pos, depth + 1)
        finally:
            self.open.discard(id(node))

    def check_tag(self, node: yaml.Node, pos: Position) -> None:
        if node.tag not in (_TAG + "seq", _TAG + "map"):
            self.report.error(pos, f"unsupported tag {node.tag}", "plain YAML without tags")

    def mapping(self, node: yaml.MappingNode, pos: Position, depth: int) -> Map:
        entries: list[tuple[Scalar, Node]] = []
        seen: dict[str, Scalar] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.report.error(self.pos(key_node), "a mapping key must be text")
                continue
            key = Scalar(key_node.value, key_node.value, self.pos(key_node))
            if key.text in seen:
                self.report.error(
                    key.pos, f'duplicate key "{key.text}" (first defined at {seen[key.text].pos})'
                )
                continue
            seen[key.text] = key
            entries.append((key, self.node(value_node, depth)))
        return Map(tuple(entries), pos)

    def scalar(self, node: yaml.ScalarNode, pos: Position) -> ScalarValue:
        text = node.value
        tag = node.tag
        if tag in (_PLAIN, _TAG + "int") and _INT.fullmatch(text) and len(text.lstrip("+-")) > MAX_DIGITS:
            self.report.error(pos, f"number too long: {len(text.lstrip('+-')):,} digits",
                              f"at most {MAX_DIGITS:,} digits, or quotes if it is text")
            return text
        if tag == _PLAIN:
            return _plain(text)
        if tag == _TAG + "str":
            return text
        resolved = _plain(text)
        kinds = {"int": int, "float": float, "bool": bool, "null": type(None)}
        kind = kinds.get(tag.removeprefix(_TAG)) if tag.startswith(_TAG) else None
        if kind is None:
            self.report.error(pos, f"unsupported tag {tag}", "plain YAML without tags")
            return text
        if kind is float and isinstance(resolved, int) and not isinstance(resolved, bool):
            return float(resolved)
        if type(resolved) is not kind:
            self.report.error(pos, f'"{text}" is not a valid {tag}')
            return text
        return resolved


def _plain(text: str) -> ScalarValue:
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text
