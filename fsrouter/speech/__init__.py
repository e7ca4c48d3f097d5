"""Numbers, minutes, digits and keys as prompt ids, with each language's grammar.

A caller hears "you are caller number 5, your estimated wait is 2 minutes"
as a chain of recorded prompts.  Which prompts, and in which order, depends
on the language: Russian says "две минуты" (feminine two, genitive singular
noun) but "пять минут"; Arabic has a dual ("دقيقتان") and counts 3-10 with a
plural noun but 11-99 with a singular one; Greek counts neuter minutes
("λεπτά"); Hungarian keeps the noun singular after a numeral ("két perc")
and names a key by an adjective ("az egyes gombot").  Each language is one
`Grammar` (a small module here); everything is pure and table-driven:
`speech.grammar("ru").minutes(2)` -> ``("numbers/2f", "queue/minutes_few")``.

A grammar also lists its `vocabulary()`: every prompt id it may produce,
so `fsrouter check` and `tools/make_sounds.py` know which files each
language needs.  Languages without a grammar of their own (any code the
rules name, e.g. "de") speak with the English one's shape: a number, then
"minute"/"minutes".

Whispers, spoken by a TTS engine in the agent's language, get their
figures from `text`: "2 минуты", a phone number digit by digit.

This is a leaf module: `rules`, `flow` and the runtime import it; it
imports nothing of fsrouter's.
"""

from __future__ import annotations

from .grammar import DIGITS, KEYS, MAX_NUMBER, Grammar
from .languages import GRAMMARS, grammar
from .text import spoken_digits, spoken_wait, transfer_preamble

__all__ = ["DIGITS", "GRAMMARS", "KEYS", "MAX_NUMBER", "Grammar", "grammar", "spoken_digits", "spoken_wait",
           "transfer_preamble"]
