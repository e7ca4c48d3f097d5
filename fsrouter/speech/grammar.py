"""The shape every language's grammar has, and English's, which is the default.

A grammar turns a figure into prompt ids: `number(n)` a number as a label
("caller number 5"), `minutes(n)` a count of minutes with the noun in the
form the number asks for, `digits("2101234")` a phone number digit by
digit, `press("1")` "press one".  Subclasses override only what their
language does differently: which form of the number counts a noun
(`counting`), which noun form follows (`unit`), how a key is named.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_NUMBER = 60
"""The highest number there are prompts for (numbers/0..60): positions and
minutes beyond it are said as "more than 60" by the flow."""
DIGITS = "0123456789"
KEYS = DIGITS + "*#"
_KEY_NAMES = {"*": "keys/star", "#": "keys/hash"}


class Grammar:
    """English: "5", "1 minute", "2 minutes", "press 1"."""

    code = "en"

    # -- plural categories (CLDR's names: one, two, few, many, other) --------

    def category(self, n: int) -> str:
        """Which noun form a count of `n` takes (any n >= 0)."""
        return "one" if n == 1 else "other"

    # -- what the flow asks for ---------------------------------------------

    def number(self, n: int) -> tuple[str, ...]:
        """`n` as a label: "caller number five", in the plain cardinal."""
        return (f"numbers/{_spoken(n)}",)

    def minutes(self, n: int) -> tuple[str, ...]:
        """`n` minutes: the number in the form that counts the noun, then the noun."""
        return (*self.counting(_spoken(n)), *self.unit(self.category(n)))

    def digits(self, digits: Iterable[str]) -> tuple[str, ...]:
        """A phone number read back one digit at a time."""
        return tuple(f"numbers/{d}" for d in digits if d in DIGITS)

    def key(self, key: str) -> tuple[str, ...]:
        """The name of a DTMF key ("one", "star")."""
        if key not in KEYS:
            raise ValueError(f"not a DTMF key: {key!r}")
        return (_KEY_NAMES[key],) if key in _KEY_NAMES else (self.digit_key(key),)

    def press(self, key: str) -> tuple[str, ...]:
        """ "press one": the verb, then the key's name."""
        return ("keys/press", *self.key(key))

    # -- what a language changes --------------------------------------------

    def counting(self, n: int) -> tuple[str, ...]:
        """The number that counts minutes (Russian: feminine; Hungarian: "két")."""
        return self.number(n)

    def unit(self, category: str) -> tuple[str, ...]:
        return ("queue/minute",) if category == "one" else ("queue/minutes",)

    def digit_key(self, digit: str) -> str:
        """A digit key's name: the digit itself ("press one"), unless the
        language names keys otherwise (Hungarian: "az egyes gombot")."""
        return f"numbers/{digit}"

    # -- every prompt this grammar may produce -------------------------------

    def vocabulary(self) -> frozenset[str]:
        """Every prompt id the methods above can return, for the sound check
        and `tools/make_sounds.py`."""
        said: set[str] = set()
        for n in range(MAX_NUMBER + 1):
            said.update(self.number(n))
        for n in range(1, MAX_NUMBER + 1):
            said.update(self.minutes(n))
        for key in KEYS:
            said.update(self.press(key))
        said.update(self.digits(DIGITS))
        return frozenset(said)


def _spoken(n: int) -> int:
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"no prompts for the number {n} (0..{MAX_NUMBER})")
    return n
