"""A queue's announce, whisper and callback blocks: compiled once into typed
settings, every mistake reported at its exact line and column."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from fsrouter.callback_numbers import NumberPolicy
from fsrouter.acd.from_plan import from_plan
from fsrouter.rules import analyse_source, compile_rules, compile_source
from fsrouter.rules.plan import AnnounceSettings, CallbackSettings
from fsrouter.rules.problems import Position
from fsrouter.rules.templates import Template

ROOT = Path(__file__).parents[2]

BASE = """\
lines: {"1": {flow: main}}
flows:
  main:
    - queue: q
queues:
  q:
    announce: {position: {first: 15s}}
    max_wait: {after: 10m, then: {hangup: }}
"""
"""Line 9 onwards is the test's own (`    callback: ` puts its value at column 15)."""


def problems(extra: str, base: str = BASE) -> list[str]:
    return [str(p) for p in analyse_source(base + extra).problems]


def test_the_example_queue_is_compiled_typed():
    billing = compile_rules(ROOT / "config").queues["billing"]
    assert billing.announce == AnnounceSettings(first=15, every=45, up_to=20, wait_every=90)
    assert billing.whisper == Template.parse("{brand}, {queue}, {topic}, waited {waited}")
    assert billing.callback == CallbackSettings(
        NumberPolicy("GR", regions=frozenset({"GR", "GB"})), key="1", offer_wait_over=180)


def test_every_callback_setting_and_its_default():
    plan = compile_source(BASE + """\
    callback:
      key: "*"
      offer_when: {wait_over: 3m, position_over: 5}
      region: GR
      allow: {regions: [GR, CY], types: [mobile]}
      deny: ["+30690*"]
      allow_patterns: ["+30800*"]
      retry: {attempts: 5, every: 10m}
      dial_after: 30s
      dial: "sofia/gateway/trunk/{number}"
      caller_id: "+302101234567"
      whisper: "Callback, {queue}"
      intro: callback/booked
""")
    assert plan.queues["q"].callback == CallbackSettings(
        NumberPolicy("GR", frozenset({"GR", "CY"}), frozenset({"mobile"}), ("+30690*",), ("+30800*",)),
        key="*", offer_wait_over=180, offer_position_over=5, attempts=5, retry_every=600, dial_after=30,
        dial=Template.parse("sofia/gateway/trunk/{number}"), caller_id=Template.parse("+302101234567"),
        whisper=Template.parse("Callback, {queue}"), intro=Template.parse("callback/booked"),
    )
    short = compile_source(BASE + "    callback: {offer_when: {position_over: 0}, region: GR}\n").queues["q"]
    assert short.callback == CallbackSettings(NumberPolicy("GR"), offer_position_over=0)
    assert (short.callback.attempts, short.callback.retry_every, short.callback.dial_after) == (3, 300, 15)
    assert short.callback.dial == Template.parse("sofia/gateway/default/{number}")
    assert short.callback.caller_id == Template.parse("{destination_number}")
    assert short.callback.whisper == Template.parse("Callback for {number}, waited {waited}")


@pytest.mark.parametrize("written, seconds", [("0", 0.0), ("0s", 0.0), ("0.5s", 0.5), ("1m", 60.0)])
def test_a_callback_may_be_dialled_at_once_after_booking(written, seconds):
    plan = compile_source(BASE + f"    callback: {{offer_when: {{position_over: 5}}, region: GR, dial_after: {written}}}\n")
    assert plan.queues["q"].callback.dial_after == seconds


def test_a_callback_window_is_a_test_like_a_routes_match():
    plan = compile_source(BASE + '    callback: {offer_when: {position_over: 5}, region: GR, '
                          'window: {days: mon-fri, hours: "08:00-20:00"}}\n')
    window = plan.queues["q"].callback.window
    monday_9am, monday_9pm = (datetime(2026, 1, 5, hour, tzinfo=timezone.utc).timestamp() for hour in (9, 21))
    assert window.test(plan.context({}, monday_9am)) and not window.test(plan.context({}, monday_9pm))
    assert compile_source(BASE + "    callback: {offer_when: {position_over: 5}, region: GR}\n") \
        .queues["q"].callback.window is None
    assert problems('    callback: {offer_when: {position_over: 5}, region: GR, window: {hours: "25:00-26:00"}}\n') == [
        '<rules>:9:76: error: bad time range "25:00-26:00" (expected HH:MM-HH:MM with the start before the end, '
        'e.g. "08:00-18:00"; split ranges over midnight)']


def test_the_intro_prompt_is_checked_like_any_prompt():
    written = analyse_source(BASE + "    callback: {offer_when: {position_over: 5}, region: GR, intro: cb/hi}\n")
    default = analyse_source(BASE + "    callback: {offer_when: {position_over: 5}, region: GR}\n")
    def intro(analysis):
        return [(u.template.source, u.pos) for u in analysis.prompts if "intro" in u.template.source
                or u.template.source.startswith("cb/")]

    assert intro(written) == [("cb/hi", Position("<rules>", 9, 67))]
    assert intro(default) == [("callback/intro", Position("<rules>", 9, 15))]


def test_the_prompts_the_machine_plays_itself_are_checked_at_their_block():
    analysis = analyse_source(BASE + "    callback: {offer_when: {position_over: 5}, region: GR}\n")
    used = {u.template.source: u.pos for u in analysis.prompts}
    assert "queue/hold_music" not in used  # the default music is FreeSWITCH's stream, not a file
    assert used["queue/you_are_caller"].line == 7  # its announce block
    assert used["callback/confirm_keys"] == used["callback/keep_place"] == Position("<rules>", 9, 15)
    assert "numbers/0" not in used  # numbers are per language: rules.sounds checks them per queue


def test_the_acd_mapping_still_reads_the_options():
    plan = compile_source(BASE + "    require: {x: 1}\n    callback: {offer_when: {wait_over: 1m}, region: GR}\n"
                          "agents: {a: {dial: user/a, skills: {x: 1}}}\n")
    assert from_plan(plan).queues[0].require == {"x": 1}


@pytest.mark.parametrize("extra, expected", [
    ('    callback: {offer_when: {wait_over: 3m}, region: GR, colour: red}\n',
     ['<rules>:9:57: error: unknown key "colour" in callback (expected one of: key, offer_when, region, '
      'allow, deny, allow_patterns, retry, dial_after, dial, caller_id, whisper, intro, window)']),
    ('    callback: [1]\n',
     ['<rules>:9:15: error: bad value for callback: a list (expected a mapping with keys key, offer_when, '
      'region, allow, deny, allow_patterns, retry, dial_after, dial, caller_id, whisper, intro, window)']),
    ('    callback: {region: GR}\n',
     ['<rules>:9:15: error: callback has no "offer_when"']),
    ('    callback: {offer_when: {}, region: GR}\n',
     ['<rules>:9:28: error: offer_when has neither "wait_over" nor "position_over" '
      '(expected offer_when: {wait_over: 3m} and/or {position_over: 5})']),
    ('    callback: {offer_when: {wait_over: soon, position_over: -1}, key: "12", region: GR}\n', [
        '<rules>:9:40: error: bad value for offer_when wait_over: "soon" '
        '(expected seconds or a duration like 45s, 3m, 1h30m)',
        '<rules>:9:61: error: bad value for offer_when position_over: -1 (expected an integer from 0 to 1000)',
        '<rules>:9:71: error: bad value for callback key: "12" (expected one DTMF key, quoted: "1")',
    ]),
    ('    callback: {offer_when: {position_over: 5}, region: GR, retry: {attempts: 0, every: 5m, after: 1}}\n', [
        '<rules>:9:78: error: bad value for callback retry attempts: 0 (expected an integer from 1 to 20)',
        '<rules>:9:92: error: unknown key "after" in callback retry (expected one of: attempts, every)',
    ]),
    ('    callback: {offer_when: {position_over: 5}, region: GR, dial: "sofia/{number", intro: "x.wav"}\n', [
        '<rules>:9:66: error: bad value for callback dial: "sofia/{number" (expected a dial string like '
        'sofia/gateway/NAME/{number}, with {variable} placeholders)',
        '<rules>:9:90: error: bad prompt id "x.wav" (expected a sound id like menu/main (letters, digits, _ '
        'and -, separated by /; no language, rate or .wav))',
    ]),
    ('    callback: {offer_when: {position_over: 5}, region: GR, dial_after: -1}\n',
     ['<rules>:9:72: error: bad value for callback dial_after: -1 '
      '(expected seconds (0 allowed) or a duration like 45s, 3m, 1h30m)']),
    ('    callback: {offer_when: {position_over: 5}, region: GR, dial_after: soon}\n',
     ['<rules>:9:72: error: bad value for callback dial_after: "soon" '
      '(expected seconds (0 allowed) or a duration like 45s, 3m, 1h30m)']),
    ('    whisper: [a]\n', ['<rules>:9:14: error: bad value for whisper: a list (expected text)']),
])
def test_bad_shapes_point_at_the_line(extra, expected):
    assert problems(extra) == expected


@pytest.mark.parametrize("extra, expected", [
    ('    callback: {offer_when: {position_over: 5}, allow: {regions: [GR, XX]}}\n',
     "<rules>:9:70: error: bad callback number policy: unknown region 'XX': expected an ISO 3166 alpha-2 "
     "code such as GR or GB"),
    ('    callback:\n      offer_when: {position_over: 5}\n      allow:\n        regions: [GR]\n'
     '        types: [mobile, premium]\n',
     "<rules>:13:25: error: bad callback number policy: unknown number type 'premium': expected one of: "
     "fixed_line, mobile, fixed_line_or_mobile, voip, toll_free, personal_number, pager, uan, voicemail, "
     "premium_rate, shared_cost; did you mean 'premium_rate'?"),
    ('    callback: {offer_when: {position_over: 5}, region: GR, deny: [+30690]}\n',
     "<rules>:9:67: error: bad callback number policy: expected a quoted E.164 glob such as '+30690*', got "
     "integer 30690 (YAML reads an unquoted +number as an integer and drops the '+': quote it)"),
    ('    callback: {offer_when: {position_over: 5}, region: GR, allow: {region: [GR]}}\n',
     '<rules>:9:68: error: unknown key "region" in callback allow (expected one of: regions, types)'),
    ('    callback: {offer_when: {position_over: 5}, region: XX}\n',
     "<rules>:9:56: error: bad callback number policy: home region: unknown region 'XX': expected an ISO "
     "3166 alpha-2 code such as GR or GB"),
    ('    callback: {offer_when: {position_over: 5}}\n',
     '<rules>:9:15: error: callback has no "region" and the lines are not all in one country (expected '
     'region: GR (the country whose national numbers callers key), or allow: {regions: [GR]})'),
])
def test_a_bad_number_policy_points_at_the_offending_node(extra, expected):
    assert problems(extra) == [expected]


def test_the_region_defaults_to_allow_regions_then_to_the_lines_country():
    greek = BASE.replace('"1": {flow: main}', '"+302101234567": {flow: main}, "5000": {flow: main}')
    plan = compile_source(greek + "    callback: {offer_when: {position_over: 5}}\n")
    assert plan.queues["q"].callback.policy == NumberPolicy("GR")
    plan = compile_source(greek + "    callback: {offer_when: {position_over: 5}, allow: {regions: [CY, GR]}}\n")
    assert plan.queues["q"].callback.policy.home_region == "CY"
    mixed = greek.replace('"5000"', '"+441234567890"')
    assert problems("    callback: {offer_when: {position_over: 5}}\n", mixed)[0].startswith(
        '<rules>:9:15: error: callback has no "region" and the lines are not all in one country')


def test_announce_shapes_and_a_callback_never_offered():
    bad_announce = BASE.replace("{position: {first: 15s}}",
                                "{position: {first: 15s, up_to: 61, every: 0}, wait: {evry: 1m}}")
    assert problems("", bad_announce) == [
        "<rules>:7:46: error: bad value for announce position up_to: 61 (expected an integer from 1 to 60)",
        "<rules>:7:57: error: bad value for announce position every: 0 "
        "(expected seconds or a duration like 45s, 3m, 1h30m)",
        '<rules>:7:68: error: unknown key "evry" in announce wait (expected one of: every)',
    ]
    assert problems("", BASE.replace("{position: {first: 15s}}", "{wait: {every: 1m}}")) == [
        '<rules>:7:15: error: announce has no "position"']
    no_announce = BASE.replace("    announce: {position: {first: 15s}}\n",
                               "    callback: {offer_when: {position_over: 5}, region: GR}\n")
    assert problems("", no_announce) == [
        "<rules>:7:15: warning: the callback is never offered: the offer is made in the announcements "
        "(expected announce: {position: {first: 15s, every: 45s}})"]


def test_announce_defaults():
    assert compile_source(BASE).queues["q"].announce == AnnounceSettings(first=15, every=45, up_to=20)
    waits = compile_source(BASE.replace("{first: 15s}}", "{first: 5s}, wait: {}}")).queues["q"].announce
    assert waits == AnnounceSettings(first=5, wait_every=90)


def test_every_bad_policy_item_is_reported_at_its_own_line():
    """One run lists them all (the old check stopped at the first)."""
    assert problems("""\
    callback:
      offer_when: {position_over: 5}
      region: EL
      allow: {regions: [GR, UK, NO, [GR]], types: [mobile, landline]}   # NO is Norway: no YAML 1.1 booleans
      deny: [+30690, "30690*", "+30 690*"]
      allow_patterns: ["+*", "+30800*"]
""") == [
        "<rules>:11:15: error: bad callback number policy: home region: unknown region 'EL': expected an ISO "
        "3166 alpha-2 code such as GR or GB; did you mean 'GR'?",
        "<rules>:12:29: error: bad callback number policy: unknown region 'UK': expected an ISO 3166 alpha-2 "
        "code such as GR or GB; did you mean 'GB'?",
        "<rules>:12:37: error: bad callback number policy: expected a single value, got a list",
        "<rules>:12:60: error: bad callback number policy: unknown number type 'landline': expected one of: "
        "fixed_line, mobile, fixed_line_or_mobile, voip, toll_free, personal_number, pager, uan, voicemail, "
        "premium_rate, shared_cost",
        "<rules>:13:14: error: bad callback number policy: expected a quoted E.164 glob such as '+30690*', got "
        "integer 30690 (YAML reads an unquoted +number as an integer and drops the '+': quote it)",
        "<rules>:13:22: error: bad callback number policy: bad number pattern '30690*': expected an E.164 glob: "
        "'+' then digits, with '*', '?' or digit classes like [0-5] as wildcards, no spaces (e.g. '+30690*')",
        "<rules>:13:32: error: bad callback number policy: bad number pattern '+30 690*': expected an E.164 "
        "glob: '+' then digits, with '*', '?' or digit classes like [0-5] as wildcards, no spaces (e.g. '+30690*')",
        "<rules>:14:24: error: bad callback number policy: allow pattern '+*' is too broad: it must start with "
        "'+' and at least the first digit of a country code (e.g. '+30800*')",
    ]


@pytest.mark.parametrize("block, expected", [
    ("allow: [GR]", "<rules>:9:67: error: bad value for callback allow: a list (expected a mapping with keys "
                    "regions, types)"),
    ("allow: {regions: GR}", '<rules>:9:77: error: bad value for callback allow regions: "GR" (expected a list of '
                             "region codes such as [GR])"),
    ("deny: '+30690*'", "<rules>:9:66: error: bad value for callback deny: \"+30690*\" (expected a list of "
                        "quoted E.164 globs such as ['+30690*'])"),
    ("allow: {regions: }", "<rules>:9:76: error: bad value for callback allow regions: nothing (expected a list of "
                           "region codes such as [GR])"),
])
def test_policy_lists_must_be_lists(block, expected):
    assert problems(f"    callback: {{offer_when: {{position_over: 5}}, region: GR, {block}}}\n") == [expected]


def test_explicit_empty_lists_mean_none_and_lines_give_the_home_region():
    greek = BASE.replace('"1": {flow: main}', '"+302101234567": {flow: main}')
    policy = compile_source(greek + "    callback: {offer_when: {position_over: 5}, allow: {regions: [], types: []},"
                                    " allow_patterns: ['+30800*']}\n").queues["q"].callback.policy
    assert policy == NumberPolicy("GR", frozenset(), frozenset(), (), ("+30800*",))


def test_a_non_geographic_line_names_no_country():
    """+800 numbers belong to libphonenumber's entity "001", which is no region."""
    freephone = BASE.replace('"1": {flow: main}', '"+80012345678": {flow: main}')
    assert problems("    callback: {offer_when: {position_over: 5}}\n", freephone)[0].startswith(
        '<rules>:9:15: error: callback has no "region" and the lines are not all in one country')


def test_the_service_level_target_is_a_duration_of_the_queue_20s_by_default():
    assert compile_source(BASE).queues["q"].service_level == 20
    assert compile_source(BASE + "    service_level: 45s\n").queues["q"].service_level == 45
    assert problems("    service_level: soon\n") == [
        '<rules>:9:20: error: bad value for service_level: "soon" (expected seconds or a duration like 45s, 3m, 1h30m)']
