"""`{name}` placeholders in prompts and values, filled from call variables.

Deliberately not `str.format`: a placeholder is a bare variable name, with no
attribute access, indexing or format spec, so a rules file cannot reach into
Python objects.  A variable the call does not have renders as "".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import product

VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD = re.compile(r"\{(" + VARIABLE.pattern + r")\}")


class TemplateSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Template:
    """A text with `{var}` placeholders; `parts` alternate literal, name, literal…"""

    source: str
    parts: tuple[str, ...]

    @classmethod
    def parse(cls, source: str) -> Template:
        parts = _FIELD.split(source)
        if any("{" in lit or "}" in lit for lit in parts[0::2]):
            raise TemplateSyntaxError(f'bad placeholder in "{source}"')
        return cls(source, tuple(parts))

    @property
    def fields(self) -> tuple[str, ...]:
        return self.parts[1::2]

    def render(self, variables: Mapping[str, str]) -> str:
        return "".join(
            part if i % 2 == 0 else variables.get(part, "") for i, part in enumerate(self.parts)
        )

    def expand(self, values: Mapping[str, Iterable[str]]) -> Iterator[str]:
        """Every rendering over the given candidate values of each field."""
        names = sorted(set(self.fields))
        for combo in product(*(sorted(set(values[n])) for n in names)):
            yield self.render(dict(zip(names, combo)))

    def __str__(self) -> str:
        return self.source
