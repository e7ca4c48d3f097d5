"""Refuse route regexes that could backtrack catastrophically.

Python's `re` backtracks.  A repeat whose body can match the same text in
more than one way, like `^(\\d+)+$`, takes time exponential in the length of
a value that almost matches (0.58 s for a 25-character caller id, three times
longer for every two more characters), and a call's routing would stall the
service.  From the parsed pattern (`re._parser`, what `re.compile` itself
uses) `check` refuses:

* a repeated group whose body has a variable length: `(\\d+)+`, `(a?b)*`,
  `(\\d|\\d\\d)+`, `(-\\d+){2,}`;
* a repeated group whose alternatives can begin with the same character,
  or more than one of which can be empty: `(ab|a.)+`, `(a|a)+`;
* three or more repeats of variable length in a row that can take the same
  characters, like `.*.*.*x` (polynomial, n³ per starting point) or
  `\\d{0,30}\\d{0,30}\\d{0,30}x` and `\\d?\\d?\\d?…x` (exponential in the
  number of repeats).

It is conservative: a few patterns that are in fact safe are refused too
(`([a-z]+\\.)+`), while the ordinary ones, `^\\+30\\d{9}$`, `^(21|22)\\d+$`,
`^\\+?\\d+$`, `^.*foo.*$`, pass.  At run time values are also bounded:
`predicates.MAX_MATCHED` (what is left is at worst quadratic).
"""

from __future__ import annotations

from re import _constants as C
from re import _parser

MAX_PATTERN = 256
"""Longest pattern accepted, in characters (the parser recurses per group)."""

_BASE = frozenset(map(chr, [*range(0x180), 0x3A9, 0x3C9, 0x660, 0x2003, 0x4E00, 0x1F600]))
"""Characters standing for every character when comparing character classes:
all of Latin-1 and Latin Extended-A plus a few others (Greek, Arabic-Indic
digits, a Unicode space, CJK, an emoji), enough to tell `\\d`, `\\w`, `\\s`
and negations apart.  Each pattern's own literals and range ends are added,
so two of its classes that share a character share one of these."""

_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT)
_CATEGORIES = {
    C.CATEGORY_DIGIT: str.isdecimal,
    C.CATEGORY_SPACE: str.isspace,
    C.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
}
_CATEGORIES |= {
    C.CATEGORY_NOT_DIGIT: lambda c: not c.isdecimal(),
    C.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
    C.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
}


def backtracking_risk(pattern: str) -> str | None:
    """Why `pattern` could backtrack catastrophically, or None if it cannot.
    `pattern` must compile and be at most `MAX_PATTERN` characters."""
    parsed = _parser.parse(pattern)
    return _Analysis(_BASE | _own_characters(parsed)).risk(parsed)


def _own_characters(seq) -> frozenset[str]:
    found: set[str] = set()
    for op, av in seq:
        if op in (C.LITERAL, C.NOT_LITERAL):
            found.add(chr(av))
        elif op == C.IN:
            for kind, value in av:
                if kind == C.LITERAL:
                    found.add(chr(value))
                elif kind == C.RANGE:
                    found.update(map(chr, value))
        for inner in _subpatterns(op, av):
            found |= _own_characters(inner)
    return frozenset(found)


def _subpatterns(op, av) -> list:
    if op in _REPEATS or op == C.POSSESSIVE_REPEAT:
        return [av[2]]
    if op == C.SUBPATTERN:
        return [av[3]]
    if op == C.BRANCH:
        return list(av[1])
    if op in (C.ASSERT, C.ASSERT_NOT):
        return [av[1]]
    if op == C.ATOMIC_GROUP:
        return [av]
    if op == C.GROUPREF_EXISTS:
        return [p for p in av[1:] if p is not None]
    return []


def _width(op, av) -> tuple[int, int]:
    return _parser.SubPattern(_parser.State(), [(op, av)]).getwidth()


class _Analysis:
    """Character classes are compared as sets of `probe` characters."""

    def __init__(self, probe: frozenset[str]) -> None:
        self.probe = probe

    def risk(self, seq) -> str | None:
        if self.chain_of_repeats(seq):
            return "three or more repeats of variable length in a row can take the same characters"
        for op, av in seq:
            if op in _REPEATS and av[1] > 1:
                low, high = av[2].getwidth()
                if low != high:
                    return "a repeated part has a variable length, so it can split the text in many ways"
                if self.overlapping_branch(av[2]):
                    return "a repeated part has alternatives that begin with the same character"
            for inner in _subpatterns(op, av):
                found = self.risk(inner)
                if found:
                    return found
        return None

    def overlapping_branch(self, seq) -> bool:
        for op, av in seq:
            if op == C.BRANCH:
                firsts = [self.first(alt) for alt in av[1]]
                empty = [alt.getwidth()[0] == 0 for alt in av[1]]
                if sum(empty) > 1 or any(a & b for i, a in enumerate(firsts) for b in firsts[i + 1:]):
                    return True
            if op != C.POSSESSIVE_REPEAT and any(self.overlapping_branch(p) for p in _subpatterns(op, av)):
                return True
        return False

    def chain_of_repeats(self, seq) -> bool:
        """Three repeats of variable length (bounded or not: `\\d{0,30}` and
        `\\d?` split text as many ways as `\\d*`) that can share characters,
        with nothing between them that the earlier ones could not also take."""
        taken: frozenset[str] = frozenset()
        count = 0
        for op, av in seq:
            low, high = _width(op, av)
            if high > low and op != C.POSSESSIVE_REPEAT:
                chars = self.chars([(op, av)])
                count, taken = (count + 1, taken | chars) if taken & chars else (1, chars)
                if count >= 3:
                    return True
            elif low > 0 and not (self.first([(op, av)]) & taken):
                count, taken = 0, frozenset()
        return False

    def first(self, seq) -> frozenset[str]:
        """Characters a match of `seq` can begin with."""
        found: frozenset[str] = frozenset()
        for op, av in seq:
            if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
                return found | self.char_class(op, av)
            if op == C.GROUPREF:
                return self.probe
            for inner in _subpatterns(op, av):
                found |= self.first(inner)
            if _width(op, av)[0] > 0:
                return found
        return found

    def chars(self, seq) -> frozenset[str]:
        """Every character a match of `seq` can contain."""
        found: frozenset[str] = frozenset()
        for op, av in seq:
            if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
                found |= self.char_class(op, av)
            elif op == C.GROUPREF:
                return self.probe
            elif op not in (C.ASSERT, C.ASSERT_NOT):
                for inner in _subpatterns(op, av):
                    found |= self.chars(inner)
        return found

    def char_class(self, op, av) -> frozenset[str]:
        if op == C.LITERAL:
            return frozenset(chr(av))
        if op == C.NOT_LITERAL:
            return self.probe - {chr(av)}
        if op == C.ANY:
            return self.probe
        chars: set[str] = set()
        negate = False
        for kind, value in av:
            if kind == C.NEGATE:
                negate = True
            elif kind == C.LITERAL:
                chars.add(chr(value))
            elif kind == C.RANGE:
                chars |= {c for c in self.probe if value[0] <= ord(c) <= value[1]}
            elif kind == C.CATEGORY and value in _CATEGORIES:
                chars |= set(filter(_CATEGORIES[value], self.probe))
            else:  # anything else: assume it could be any character
                chars |= self.probe
        return self.probe - chars if negate else frozenset(chars)
