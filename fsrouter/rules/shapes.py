"""Typed reads of the intermediate tree that report, rather than raise.

Each helper checks one node against the shape the rules language expects
and returns the value, or None after recording an error that says where,
what was found and what was expected.  Callers carry on with the rest of
the file, so one run reports every problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from .. import fsvalues
from .durations import DURATION_HINT, DURATION_OR_ZERO_HINT
from .durations import seconds as duration_seconds
from .problems import Report
from .templates import Template, TemplateSyntaxError
from .tree import Map, Node, Scalar, Seq, describe

NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
DTMF_KEY = re.compile(r"[0-9*#]")
"""One key of a phone's keypad."""
"""Flow, step id, queue and variable names: safe in ids, graphs and paths."""

Reader = Callable[[Node], object | None]


class Shapes:
    def __init__(self, report: Report) -> None:
        self.report = report

    def bad(self, node: Node, what: str, expected: str) -> None:
        self.report.error(node.pos, f"bad value for {what}: {describe(node)}", expected)

    def fields(
        self, node: Node, what: str, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> dict[str, Node] | None:
        """The entries of a mapping, refusing keys outside `allowed`."""
        if not isinstance(node, Map):
            self.bad(node, what, "a mapping with keys " + ", ".join(allowed))
            return None
        found: dict[str, Node] = {}
        for key, value in node.entries:
            if key.text in allowed:
                found[key.text] = value
            else:
                self.report.error(
                    key.pos, f'unknown key "{key.text}" in {what}', "one of: " + ", ".join(allowed)
                )
        for name in required:
            if name not in found:
                self.report.error(node.pos, f'{what} has no "{name}"')
        return found

    def read(self, fields: Mapping[str, Node], readers: Mapping[str, tuple[str, Reader]]) -> dict | None:
        """Read each present field with its reader, renamed: `readers` maps a
        key to (name, reader).  None if any was bad; every field is read
        first, so all their errors are reported."""
        values = {name: read(fields[key]) for key, (name, read) in readers.items() if key in fields}
        return None if any(value is None for value in values.values()) else values

    def block(self, node: Node, what: str, readers: Mapping[str, tuple[str, Reader]]) -> dict | None:
        """A mapping whose allowed keys are those of `readers`, read with them."""
        fields = self.fields(node, what, tuple(readers))
        return None if fields is None else self.read(fields, readers)

    def mapping(self, node: Node, what: str, expected: str) -> Map | None:
        if isinstance(node, Map):
            return node
        self.bad(node, what, expected)
        return None

    def text(self, node: Node, what: str, expected: str = "text") -> str | None:
        if isinstance(node, Scalar) and node.value is not None and not isinstance(node.value, bool):
            return node.text
        self.bad(node, what, expected)
        return None

    def key(self, node: Node, what: str, example: str) -> str | None:
        """One DTMF key (`DTMF_KEY`), quoted in the rules: "0" is a key, 0 a number."""
        hint = f'one DTMF key, quoted: "{example}"'
        key = self.text(node, what, hint)
        if key is not None and not DTMF_KEY.fullmatch(key):
            self.bad(node, what, hint)
            return None
        return key

    def name(self, node: Node, what: str) -> str | None:
        value = self.text(node, what, "a name of letters, digits, _ and -")
        if value is not None and not NAME.fullmatch(value):
            self.bad(node, what, "a name of letters, digits, _ and -")
            return None
        return value

    def integer(self, node: Node, what: str, low: int, high: int) -> int | None:
        value = node.value if isinstance(node, Scalar) else None
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        self.bad(node, what, f"an integer from {low} to {high}")
        return None

    def duration(self, node: Node, what: str, *, zero: bool = False) -> float | None:
        """Seconds from `90`, `45s`, `3m`, `1h30m`; must be positive, or may
        also be 0 with `zero`."""
        seconds = duration_seconds(node.value, zero=zero) if isinstance(node, Scalar) else None
        if seconds is None:
            self.bad(node, what, DURATION_OR_ZERO_HINT if zero else DURATION_HINT)
        return seconds

    def template(self, node: Node, what: str, expected: str = "text") -> Template | None:
        value = self.text(node, what, expected)
        if value is None:
            return None
        try:
            return Template.parse(value)
        except TemplateSyntaxError:
            self.bad(node, what, expected + ", with {variable} placeholders")
            return None

    def dial(self, node: Node, what: str, expected: str) -> Template | None:
        """A dial string, maybe with `{variable}` placeholders, that is one
        endpoint: what `fsvalues.dial_string` lets `originate` dial at run
        time.  Each placeholder's value is made a dial-string piece first,
        which may leave nothing of it, so an empty value stands in for it
        here: a template that is nothing but placeholders is refused."""
        template = self.template(node, what, expected)
        if template is None:
            return None
        try:
            fsvalues.dial_string(template.render({}))
        except fsvalues.UnsafeValue:
            self.bad(node, what, expected + ": one endpoint, without , | ' $ {} [] <> ^ or spaces")
            return None
        return template

    def items(self, node: Node) -> tuple[Node, ...]:
        """A list's items, or a single value as a one-item list."""
        return node.items if isinstance(node, Seq) else (node,)

    def sequence(self, node: Node, what: str, expected: str) -> tuple[Node, ...] | None:
        if isinstance(node, Seq):
            return node.items
        self.bad(node, what, expected)
        return None
