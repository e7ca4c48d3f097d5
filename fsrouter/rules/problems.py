"""Where a rules problem is and how it is reported.

Every message about a rules file names the file, line and column it is
about, says what is wrong and what was expected, so a sysadmin can fix the
file without reading code.  The core collects `Problem`s and raises
`RulesError` with all of them at once; only the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, order=True)
class Position:
    """A place in a rules file; `line`/`column` are 1-based, 0 when unknown."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    pos: Position
    severity: Literal["error", "warning"]
    message: str
    expected: str | None = None

    def __str__(self) -> str:
        tail = f" (expected {self.expected})" if self.expected else ""
        return f"{self.pos}: {self.severity}: {self.message}{tail}"


class RulesError(Exception):
    """The rules are invalid; `problems` holds every error and warning found."""

    def __init__(self, problems: tuple[Problem, ...]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in errors))


MAX_MESSAGE = 1000
"""Longest message kept whole: messages quote what was written, and a rules
file may hold a key or a line of two megabytes."""


class Report:
    """Collects problems while the rules are loaded, checked and compiled."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, pos: Position, message: str, expected: str | None = None) -> None:
        self.problems.append(Problem(pos, "error", _bounded(message), expected))

    def warning(self, pos: Position, message: str, expected: str | None = None) -> None:
        self.problems.append(Problem(pos, "warning", _bounded(message), expected))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def sorted(self) -> tuple[Problem, ...]:
        """Problems in file order (stable for problems at the same place)."""
        return tuple(sorted(self.problems, key=lambda p: p.pos))


def _bounded(message: str) -> str:
    if len(message) <= MAX_MESSAGE:
        return message
    half = MAX_MESSAGE // 2
    return f"{message[:half]} … {message[-half:]}"
