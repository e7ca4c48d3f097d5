"""The neutral intermediate form of a rules file: maps, lists and scalars
that remember where they were written.

The YAML loader produces this tree and nothing else; the checker and the
compiler read only this tree.  Keeping YAML's own node types out of the
compiler means the compiler never meets a Python object built by YAML, and
every node can point at its file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from .problems import Position

ScalarValue = str | int | float | bool | None


@dataclass(frozen=True, eq=False)
class Scalar:
    """A single value; `text` is exactly what was written (keys use it)."""

    value: ScalarValue
    text: str
    pos: Position


@dataclass(frozen=True, eq=False)
class Seq:
    items: tuple[Node, ...]
    pos: Position


@dataclass(frozen=True, eq=False)
class Map:
    """A mapping with text keys, in the order written; keys are unique."""

    entries: tuple[tuple[Scalar, Node], ...]
    pos: Position

    def get(self, key: str) -> Node | None:
        for k, v in self.entries:
            if k.text == key:
                return v
        return None


Node = Scalar | Seq | Map


def describe(node: Node) -> str:
    """Name a node's kind and value for a message ("a list", '"two"', ...)."""
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    if node.value is None:
        return "nothing"
    text = node.value if isinstance(node.value, str) else node.text
    size = f" ({len(text):,} characters)" if len(text) > _SHOWN else ""
    if size:
        text = f"{text[:_SHOWN // 2]}…{text[-_SHOWN // 4:]}"
    return (f'"{text}"' if isinstance(node.value, str) else text) + size


_SHOWN = 80
"""Longest value quoted whole in a message; longer ones are shortened."""


def plain(node: Node) -> object:
    """The node as frozen plain data (for settings stored but not interpreted here)."""
    if isinstance(node, Map):
        return MappingProxyType({k.text: plain(v) for k, v in node.entries})
    if isinstance(node, Seq):
        return tuple(plain(item) for item in node.items)
    return node.value
