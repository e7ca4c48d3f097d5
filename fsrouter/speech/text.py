"""Figures as words for a TTS engine, with the same grammar as the prompts.

Whispers are spoken to the agent by a TTS engine in the agent's language
(FreeSWITCH `speak`), not from recorded prompts: they carry free text
(brand, queue title, topic, a transfer note) that no prompt set can hold.
The engine reads a figure well but cannot agree the noun with it, nor
know that a phone number is to be read digit by digit; these helpers do
both: "waited две минуты", "+ 3 0 6 9 7 1".
"""

from __future__ import annotations

from .grammar import DIGITS
from .languages import grammar

MINUTE_WORDS = {
    "en": {"one": "minute", "other": "minutes"},
    "el": {"one": "λεπτό", "other": "λεπτά"},
    "hu": {"other": "perc"},
    "ru": {"one": "минута", "few": "минуты", "many": "минут"},
    "ar": {"one": "دقيقة واحدة", "two": "دقيقتان", "few": "دقائق", "many": "دقيقة", "other": "دقيقة"},
}
"""The noun after a count of minutes, by the count's category (`Grammar.category`)."""
UNDER_A_MINUTE = {
    "el": "λιγότερο από ένα λεπτό",
    "hu": "kevesebb, mint egy perc",
    "ru": "меньше минуты",
    "ar": "أقل من دقيقة",
}
"""What a wait under a minute is called (English says its seconds)."""
TRANSFERRED_BY = {
    "en": "transfer from",
    "el": "μεταφορά από",
    "hu": "átkapcsolás, küldte:",
    "ru": "перевод от",
    "ar": "تحويل من",
}
"""How a whisper says who sent the caller on (a warm transfer), before their name."""
RUSSIAN_FEMININE = {1: "одна", 2: "две"}
"""A TTS engine reads "21" as "двадцать один"; a minute needs "двадцать одна"."""


def spoken_wait(seconds: float, language: str = "en") -> str:
    """A wait as a whisper says it: "40 seconds", "1 minute", "2 минуты", "دقيقتان"."""
    if seconds < 60:
        return UNDER_A_MINUTE.get(language) or f"{max(0, round(seconds))} seconds"
    minutes = round(seconds / 60)
    words = MINUTE_WORDS.get(language, MINUTE_WORDS["en"])
    category = grammar(language).category(minutes)
    noun = words[category]  # each table has every category its grammar gives (tests/speech/test_text.py)
    if language == "ar" and category in ("one", "two"):
        return noun  # "دقيقة واحدة", the dual "دقيقتان": no figure before
    return f"{_figure(minutes, language)} {noun}"


def _figure(n: int, language: str) -> str:
    units = n % 10
    if language == "ru" and units in RUSSIAN_FEMININE and n % 100 not in (11, 12):
        return " ".join([*([str(n - units)] if n > units else []), RUSSIAN_FEMININE[units]])
    return str(n)


def transfer_preamble(sender: str, note: str, language: str = "en") -> str:
    """What a whisper says first after a warm transfer: "transfer from Becky:
    billing dispute." in the agent's language (English where it has no words)."""
    said = TRANSFERRED_BY.get(language, TRANSFERRED_BY["en"])
    return f"{said} {sender}: {note}." if note else f"{said} {sender}."


def spoken_digits(number: str) -> str:
    """A phone number to be read one digit at a time: "+306971" -> "+ 3 0 6 9 7 1"."""
    return " ".join(ch for ch in number if ch in DIGITS or ch == "+")
