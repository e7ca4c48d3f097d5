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
"""

from __future__ import annotations

import re
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

_MAX_NODES = 100_000
"""Guards against alias bombs; real rules files are a few thousand nodes."""

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


class _Composer(Reader, Scanner, Parser, Composer, _Resolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Resolver.__init__(self)


def load_text(text: str, filename: str, report: Report) -> Node | None:
    """Parse one YAML document; None if it is not valid YAML (and reported)."""
    composer = _Composer(text)
    try:
        root = composer.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Position(filename, mark.line + 1, mark.column + 1) if mark else Position(filename)
        detail = f"{exc.context}, {exc.problem}" if exc.context else str(exc.problem)
        hint = _PLACEHOLDER_HINT if "'{'" in detail else None
        report.error(pos, f"invalid YAML: {detail}", hint)
        return None
    except yaml.YAMLError as exc:
        report.error(Position(filename), f"invalid YAML: {exc}")
        return None
    finally:
        composer.dispose()
    if root is None:
        return Map((), Position(filename, 1, 1))
    return _Converter(filename, report).node(root)


def load_file(path: Path, report: Report, display: str | None = None) -> Node | None:
    """Read and parse one rules file (UTF-8); IO problems become errors."""
    name = display or str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.error(Position(name), f"not UTF-8 text: {exc.reason} at byte {exc.start}")
        return None
    except OSError as exc:
        report.error(Position(name), f"cannot read: {exc.strerror or exc}")
        return None
    return load_text(text, name, report)


def rules_files(path: Path) -> list[Path]:
    """The rules files named by PATH, in a stable order.

    A file is itself; a directory means every `*.yaml`/`*.yml` below it
    except the service config, or below its `rules/` subdirectory if it has
    one (so `fsrouter check config/` works).
    """
    if not path.is_dir():
        return [path]
    if (path / "rules").is_dir():
        path = path / "rules"
    found = (p for pattern in ("*.yaml", "*.yml") for p in path.rglob(pattern))
    return sorted(p for p in found if p.is_file() and p.name != SERVICE_CONFIG)


def load_paths(paths: Iterable[Path], report: Report) -> list[Node] | None:
    """Load several files; None if any of them could not be parsed."""
    trees = [load_file(p, report) for p in paths]
    return None if None in trees else trees


class _Converter:
    """Turns composed YAML nodes into the intermediate tree."""

    def __init__(self, filename: str, report: Report) -> None:
        self.filename = filename
        self.report = report
        self.count = 0
        self.open: set[int] = set()

    def pos(self, node: yaml.Node) -> Position:
        mark = node.start_mark
        return Position(self.filename, mark.line + 1, mark.column + 1)

    def node(self, node: yaml.Node) -> Node:
        self.count += 1
        pos = self.pos(node)
        if self.count > _MAX_NODES:
            if self.count == _MAX_NODES + 1:
                self.report.error(pos, "document too large (aliases expand too far)")
            return Scalar(None, "", pos)
        if id(node) in self.open:
            self.report.error(pos, "an alias refers to the node that contains it")
            return Scalar(None, "", pos)
        if isinstance(node, yaml.ScalarNode):
            return Scalar(self.scalar(node, pos), node.value, pos)
        self.check_tag(node, pos)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return Seq(tuple(self.node(item) for item in node.value), pos)
            return self.mapping(node, pos)
        finally:
            self.open.discard(id(node))

    def check_tag(self, node: yaml.Node, pos: Position) -> None:
        if node.tag not in (_TAG + "seq", _TAG + "map"):
            self.report.error(pos, f"unsupported tag {node.tag}", "plain YAML without tags")

    def mapping(self, node: yaml.MappingNode, pos: Position) -> Map:
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
            entries.append((key, self.node(value_node)))
        return Map(tuple(entries), pos)

    def scalar(self, node: yaml.ScalarNode, pos: Position) -> ScalarValue:
        text = node.value
        tag = node.tag
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
