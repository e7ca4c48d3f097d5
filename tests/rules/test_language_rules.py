"""What the rules say about languages: a line's region, an agent's language,
a whisper per agent language; each mistake reported at its place."""

from __future__ import annotations

import pytest

from fsrouter.rules import analyse_source, compile_source

BASE = """
lines:
  "+442071838750": {flow: main}
  "5000": {flow: main, region: GR}
  "5001": {flow: main}
flows:
  main:
    - queue: q
queues:
  q:
    whisper: {en: "{queue}, waited {waited}", ru: "{queue}, ожидание {waited}"}
    max_wait: {after: 1m, then: {hangup: NORMAL_CLEARING}}
agents:
  "1": {dial: user/1, language: ru}
  "2": {dial: user/2}
"""


def test_lines_take_their_region_or_their_numbers_country():
    plan = compile_source(BASE)
    assert [plan.lines[n].region for n in ("+442071838750", "5000", "5001")] == ["GB", "GR", None]


def test_agents_have_a_language_and_queues_a_whisper_per_language():
    plan = compile_source(BASE)
    assert (plan.agents["1"].language, plan.agents["2"].language) == ("ru", None)
    queue = plan.queues["q"]
    assert queue.whisper.source == "{queue}, waited {waited}"  # the first: for agents of other languages
    assert {k: t.source for k, t in queue.whispers.items()} == {
        "en": "{queue}, waited {waited}", "ru": "{queue}, ожидание {waited}"}


def test_a_plain_whisper_has_no_languages():
    plan = compile_source(BASE.replace('{en: "{queue}, waited {waited}", ru: "{queue}, ожидание {waited}"}',
                                       '"{queue}, waited {waited}"'))
    assert plan.queues["q"].whisper.source == "{queue}, waited {waited}" and dict(plan.queues["q"].whispers) == {}


@pytest.mark.parametrize("old, new, expected", [
    ('ru: "{queue}, ожидание {waited}"', 'r u: "x"', '11:47: error: bad value for whisper language: "r u"'),
    ('ru: "{queue}, ожидание {waited}"', 'ru: "{queue"', '11:51: error: bad value for whisper: "{queue"'),
    ('{en: "{queue}, waited {waited}", ru: "{queue}, ожидание {waited}"}', "{}",
     "11:14: error: bad value for whisper: a mapping (expected a text, or a text per language"),
    ("language: ru}", "language: r/u}", '14:33: error: bad value for language: "r/u"'),
])
def test_bad_language_settings_are_reported_at_their_place(old, new, expected):
    problems = [str(p) for p in analyse_source(BASE.replace(old, new), "r.yaml").problems]
    assert any(p.startswith(f"r.yaml:{expected}") for p in problems), problems


MENU = """
settings: {language: en}
lines:
  "100": {flow: choose}
  "200": {flow: plain}
flows:
  choose:
    - menu:
        prompt: menu/main
        options: {"9": {set: {language: ru}, goto: plain}, "0": {transfer: operator}}
        default: {transfer: operator}
  plain:
    - play: ivr/goodbye
    - hangup: NORMAL_CLEARING
"""


@pytest.mark.parametrize("line, wanted, language", [
    ("100", "ru", "ru"),  # the menu can switch to Russian: the caller's Russian is taken at once
    ("200", "ru", "en"),  # nothing on this line speaks Russian (its prompts were not checked in it)
    ("100", "xx", "en"),
    ("100", "", "en"),
])
def test_a_callers_own_language_is_taken_where_the_way_in_can_speak_it(line, wanted, language):
    plan = compile_source(MENU)
    decision = plan.route({"destination_number": line, "caller_language": wanted}, 0)
    assert decision.variables["language"] == language
    assert plan.entry_languages[("line", line)] == ({"en", "ru"} if line == "100" else {"en"})
