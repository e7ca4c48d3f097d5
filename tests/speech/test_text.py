"""Waits and numbers as a whisper's TTS engine is given them, per language."""

from __future__ import annotations

import pytest

from fsrouter.speech import spoken_digits, spoken_wait, transfer_preamble

SECONDS = (0, 42.4, 60, 89, 91, 600, 1260, 1320, 660, 720)
SAID = {
    "en": ["0 seconds", "42 seconds", "1 minute", "1 minute", "2 minutes", "10 minutes", "21 minutes",
           "22 minutes", "11 minutes", "12 minutes"],
    "el": ["λιγότερο από ένα λεπτό"] * 2 + ["1 λεπτό", "1 λεπτό", "2 λεπτά", "10 λεπτά", "21 λεπτά", "22 λεπτά",
                                           "11 λεπτά", "12 λεπτά"],
    "hu": ["kevesebb, mint egy perc"] * 2 + ["1 perc", "1 perc", "2 perc", "10 perc", "21 perc", "22 perc",
                                            "11 perc", "12 perc"],
    "ru": ["меньше минуты"] * 2 + ["одна минута", "одна минута", "две минуты", "10 минут", "20 одна минута",
                                   "20 две минуты", "11 минут", "12 минут"],
    "ar": ["أقل من دقيقة"] * 2 + ["دقيقة واحدة", "دقيقة واحدة", "دقيقتان", "10 دقائق", "21 دقيقة", "22 دقيقة",
                                  "11 دقيقة", "12 دقيقة"],
}


@pytest.mark.parametrize("language", sorted(SAID))
def test_waits_are_said_with_the_languages_noun(language):
    assert [spoken_wait(s, language) for s in SECONDS] == SAID[language]


def test_a_language_without_words_speaks_english():
    assert spoken_wait(120, "de") == "2 minutes"


def test_a_number_is_spelled_digit_by_digit():
    assert spoken_digits("+306971234567") == "+ 3 0 6 9 7 1 2 3 4 5 6 7"
    assert spoken_digits("69 71;x") == "6 9 7 1"


@pytest.mark.parametrize("language, said", [
    ("en", "transfer from Becky: billing dispute."),
    ("ru", "перевод от Becky: billing dispute."),
    ("el", "μεταφορά από Becky: billing dispute."),
    ("de", "transfer from Becky: billing dispute."),  # no words of its own: English
])
def test_a_transfer_preamble_is_said_in_the_agents_language(language, said):
    assert transfer_preamble("Becky", "billing dispute", language) == said


def test_a_transfer_without_a_note_names_the_sender_only():
    assert transfer_preamble("supervisor", "", "en") == "transfer from supervisor."


@pytest.mark.parametrize("language", ["en", "el", "hu", "ru", "ar", "de"])
def test_every_count_of_minutes_has_its_noun(language):
    for minutes in range(1, 200):
        assert spoken_wait(minutes * 60.0, language)  # a category without a noun would raise KeyError
