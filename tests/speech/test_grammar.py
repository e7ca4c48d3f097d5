"""Each language's grammar against tables written from its rules, not from the code.

The tables list, for every count of minutes 1..30 (and the noun form past
100 where the rule is about the last two digits), the prompt ids a caller
hears, so a wrong form for one number shows up as that number.
"""

from __future__ import annotations

import pytest

from fsrouter import speech
from fsrouter.speech import MAX_NUMBER


def _noun_table(text: str) -> dict[int, str]:
    """ "1-1 one, 2-4 few" -> {1: "one", 2: "few", 3: "few", 4: "few"}."""
    table = {}
    for item in text.split(","):
        span, form = item.split()
        low, _, high = span.partition("-")
        for n in range(int(low), int(high or low) + 1):
            table[n] = form
    return table


# The noun each count takes, 1..30 and 100..125.
RUSSIAN_NOUN = _noun_table(
    "1 минута, 2-4 минуты, 5-20 минут, 21 минута, 22-24 минуты, 25-30 минут, "
    "100 минут, 101 минута, 102-104 минуты, 105-120 минут, 121 минута, 122-124 минуты, 125 минут")
ARABIC_NOUN = _noun_table(
    "1 one, 2 two, 3-10 plural, 11-30 singular, 100-102 singular, 103-110 plural, 111-125 singular")
RU_UNIT = {"минута": "queue/minute", "минуты": "queue/minutes_few", "минут": "queue/minutes"}
AR_CATEGORY = {"one": "one", "two": "two", "plural": "few", "singular": ("many", "other")}


@pytest.mark.parametrize("n", sorted(RUSSIAN_NOUN))
def test_russian_noun_form_follows_the_last_two_digits(n):
    ru = speech.grammar("ru")
    assert ru.unit(ru.category(n)) == (RU_UNIT[RUSSIAN_NOUN[n]],)


@pytest.mark.parametrize("n", sorted(ARABIC_NOUN))
def test_arabic_noun_form_follows_the_last_two_digits(n):
    expected = AR_CATEGORY[ARABIC_NOUN[n]]
    assert speech.grammar("ar").category(n) in (expected if isinstance(expected, tuple) else (expected,))


RUSSIAN_MINUTES = {
    1: "1f минута", 2: "2f минуты", 3: "3 минуты", 4: "4 минуты", 5: "5 минут", 10: "10 минут",
    11: "11 минут", 12: "12 минут", 13: "13 минут", 14: "14 минут", 19: "19 минут", 20: "20 минут",
    21: "20 1f минута", 22: "20 2f минуты", 23: "23 минуты", 25: "25 минут", 30: "30 минут",
    31: "30 1f минута", 42: "40 2f минуты", 51: "50 1f минута", 60: "60 минут",
}


@pytest.mark.parametrize("n", range(1, 31))
def test_russian_minutes_one_to_thirty(n):
    """Feminine одна/две (after the tens too), never for 11 and 12."""
    said = speech.grammar("ru").minutes(n)
    *numbers, noun = said
    assert noun == RU_UNIT[RUSSIAN_NOUN[n]]
    feminine = n % 10 in (1, 2) and n not in (11, 12)
    assert numbers[-1].endswith("f") == feminine


@pytest.mark.parametrize("n, said", list(RUSSIAN_MINUTES.items()))
def test_russian_minutes_table(n, said):
    *words, word = said.split()
    assert speech.grammar("ru").minutes(n) == (*(f"numbers/{w}" for w in words), RU_UNIT[word])


ARABIC_MINUTES = {
    1: ("queue/minute",),  # دقيقة واحدة
    2: ("queue/minutes_two",),  # دقيقتان: the dual, no number
    3: ("numbers/3f", "queue/minutes"),  # ثلاث دقائق
    10: ("numbers/10f", "queue/minutes"),  # عشر دقائق
    11: ("numbers/11f", "queue/minute_counted"),  # إحدى عشرة دقيقة
    12: ("numbers/12f", "queue/minute_counted"),  # اثنتا عشرة دقيقة
    20: ("numbers/20", "queue/minute_counted"),  # عشرون دقيقة: round tens do not change
    21: ("numbers/21f", "queue/minute_counted"),  # إحدى وعشرون دقيقة
    30: ("numbers/30", "queue/minute_counted"),
}


@pytest.mark.parametrize("n", range(1, 31))
def test_arabic_minutes_one_to_thirty(n):
    said = speech.grammar("ar").minutes(n)
    if n in ARABIC_MINUTES:
        assert said == ARABIC_MINUTES[n]
    elif n <= 10:
        assert said == (f"numbers/{n}f", "queue/minutes")
    else:
        assert said == (f"numbers/{n}f", "queue/minute_counted")


@pytest.mark.parametrize("n", range(1, 31))
def test_greek_neuter_cardinals_then_lepta(n):
    assert speech.grammar("el").minutes(n) == (f"numbers/{n}", "queue/minute" if n == 1 else "queue/minutes")


@pytest.mark.parametrize("n", range(1, 31))
def test_hungarian_singular_noun_and_ket_before_it(n):
    """"két perc", "tizenkét perc", "huszonkét perc"; "egy perc", "öt perc"."""
    number = f"numbers/{n}a" if n in (2, 12, 22) else f"numbers/{n}"
    assert speech.grammar("hu").minutes(n) == (number, "queue/minute")
    assert speech.grammar("hu").number(n) == (f"numbers/{n}",)  # alone: "kettő"


@pytest.mark.parametrize("n", range(1, 31))
def test_english_minute_and_minutes(n):
    assert speech.grammar("en").minutes(n) == (f"numbers/{n}", "queue/minute" if n == 1 else "queue/minutes")


@pytest.mark.parametrize("language", ["en", "el", "hu", "ru", "ar"])
def test_positions_are_plain_cardinals(language):
    assert [speech.grammar(language).number(n) for n in (1, 2, 5, 30)] == [
        ("numbers/1",), ("numbers/2",), ("numbers/5",), ("numbers/30",)]


@pytest.mark.parametrize("language, said", [
    ("en", ("keys/press", "numbers/3")),
    ("el", ("keys/press", "numbers/3")),
    ("ru", ("keys/press", "numbers/3")),
    ("ar", ("keys/press", "numbers/3")),
    ("hu", ("keys/press", "keys/3")),  # "nyomja meg a hármas gombot"
])
def test_press_names_the_key(language, said):
    assert speech.grammar(language).press("3") == said


def test_star_and_hash_have_names_and_other_keys_are_refused():
    assert speech.grammar("ru").press("*") == ("keys/press", "keys/star")
    assert speech.grammar("hu").press("#") == ("keys/press", "keys/hash")
    with pytest.raises(ValueError, match="not a DTMF key"):
        speech.grammar("en").press("A")


def test_digits_are_read_one_by_one_and_other_characters_dropped():
    assert speech.grammar("ru").digits("+30 21") == ("numbers/3", "numbers/0", "numbers/2", "numbers/1")


def test_numbers_past_the_prompts_are_refused():
    with pytest.raises(ValueError, match="no prompts for the number 61"):
        speech.grammar("ru").minutes(MAX_NUMBER + 1)


def test_unknown_language_speaks_like_english():
    assert speech.grammar("de").minutes(2) == speech.grammar("en").minutes(2)


@pytest.mark.parametrize("language", ["en", "el", "hu", "ru", "ar"])
def test_vocabulary_holds_everything_said(language):
    grammar = speech.grammar(language)
    said = {p for n in range(1, MAX_NUMBER + 1) for p in (*grammar.minutes(n), *grammar.number(n))}
    assert said <= grammar.vocabulary()
    assert "keys/press" in grammar.vocabulary()
