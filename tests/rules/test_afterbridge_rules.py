"""The `transfer` and `survey` blocks of a queue: typed settings, and every mistake at its line."""

from __future__ import annotations

import pytest

from fsrouter.rules import analyse_source, compile_source
from fsrouter.rules.plan import SurveySettings, TransferCode, TransferSettings
from fsrouter.rules.templates import Template

BASE = """\
lines: {"1": {flow: main}}
flows:
  main:
    - queue: q
queues:
  billing: {max_wait: {after: 10m, then: {hangup: }}}
  supervisor: {max_wait: {after: 10m, then: {hangup: }}}
  q:
    max_wait: {after: 10m, then: {hangup: }}
"""
"""Line 10 onwards is the test's own (`    transfer: ` puts its value at column 15)."""


def problems(extra: str) -> list[str]:
    return [str(p) for p in analyse_source(BASE + extra).problems]


def test_transfer_and_survey_compile_to_typed_settings():
    queue = compile_source(BASE + (
        '    transfer: {codes: {"1": {queue: billing, reason: billing dispute}}, max_transfers: 2,'
        ' over_cap: {queue: supervisor}, keep_arrival: true}\n'
        '    survey: {prompt: survey/rate, second: survey/resolved, keys: "123", thanks: survey/thanks}\n'
    )).queues["q"]
    assert queue.transfer == TransferSettings({"1": TransferCode("billing", "billing dispute")}, max_transfers=2,
                                              over_cap="supervisor", keep_arrival=True)
    assert queue.survey == SurveySettings(Template.parse("survey/rate"), Template.parse("survey/resolved"), "123",
                                          Template.parse("survey/thanks"))


def test_the_defaults():
    queue = compile_source(BASE + (
        '    transfer: {codes: {"0": {queue: billing, reason: x}}}\n'
        '    survey: {prompt: survey/rate}\n'
    )).queues["q"]
    assert (queue.transfer.max_transfers, queue.transfer.over_cap, queue.transfer.keep_arrival) == (3, None, False)
    assert (queue.survey.second, queue.survey.keys, queue.survey.thanks) == (None, "12345", None)
    assert compile_source(BASE).queues["q"].transfer is None


@pytest.mark.parametrize("extra, expected", [
    ('    transfer: {codes: {"12": {queue: billing, reason: x}}}\n',
     ['<rules>:10:24: error: bad transfer code "12" (expected one digit 0-9, quoted: "1" (the agent keys *1))']),
    ('    transfer: {codes: {"*": {queue: billing, reason: x}}}\n',
     ['<rules>:10:24: error: bad transfer code "*" (expected one digit 0-9, quoted: "1" (the agent keys *1))']),
    ('    transfer: {codes: {"1": {queue: nowhere, reason: x}}}\n',
     ['<rules>:10:37: error: undefined queue "nowhere" (expected one of: billing, q, supervisor)']),
    ('    transfer: {codes: {"1": {queue: billing}}}\n',
     ['<rules>:10:29: error: transfer code has no "reason"']),
    ('    transfer: {codes: {}}\n',
     ['<rules>:10:23: error: transfer codes is empty (expected one digit 0-9, quoted: "1" (the agent keys *1))']),
    ('    transfer: {max_transfers: 3}\n', ['<rules>:10:15: error: transfer has no "codes"']),
    ('    transfer: {codes: {"1": {queue: billing, reason: x}}, max_transfers: 0, over_cap: {queue: boss},'
     ' keep_arrival: maybe, attended: true}\n', [
        '<rules>:10:74: error: bad value for transfer max_transfers: 0 (expected an integer from 1 to 20)',
        '<rules>:10:95: error: undefined queue "boss" (expected one of: billing, q, supervisor)',
        '<rules>:10:116: error: bad value for transfer keep_arrival: "maybe" (expected true or false)',
        '<rules>:10:123: error: unknown key "attended" in transfer '
        '(expected one of: codes, max_transfers, over_cap, keep_arrival)',
    ]),
    ('    survey: {keys: "12345"}\n', ['<rules>:10:13: error: survey has no "prompt"']),
    ('    survey: {prompt: survey/rate, keys: "1123"}\n',
     ['<rules>:10:41: error: bad value for survey keys: "1123" '
      '(expected the keys that are scores, quoted: "12345", each digit once)']),
    ('    survey: {prompt: survey/rate, keys: "1*"}\n',
     ['<rules>:10:41: error: bad value for survey keys: "1*" '
      '(expected the keys that are scores, quoted: "12345", each digit once)']),
    ('    survey: {prompt: "survey/rate.wav"}\n',
     ['<rules>:10:22: error: bad prompt id "survey/rate.wav" (expected a sound id like menu/main (letters, '
      'digits, _ and -, separated by /; no language, rate or .wav))']),
])
def test_bad_blocks_point_at_the_line(extra, expected):
    assert problems(extra) == expected


def test_a_global_transfer_is_the_default_of_queues_without_their_own():
    rules = BASE.replace("queues:\n", 'settings:\n  transfer: {codes: {"9": {queue: supervisor, reason: help}}}\nqueues:\n')
    queues = compile_source(rules + '    transfer: {codes: {"1": {queue: billing, reason: x}}}\n').queues
    assert queues["q"].transfer.codes == {"1": TransferCode("billing", "x")}
    assert queues["billing"].transfer == TransferSettings({"9": TransferCode("supervisor", "help")})


def test_a_bad_global_transfer_points_at_its_line():
    rules = BASE.replace("queues:\n", 'settings:\n  transfer: {codes: {"9": {queue: boss, reason: help}}}\nqueues:\n')
    assert [str(p) for p in analyse_source(rules).problems] == [
        '<rules>:6:35: error: undefined queue "boss" (expected one of: billing, q, supervisor)']


def test_other_survey_keys_with_the_stock_prompt_are_warned_about():
    """The stock survey/rate says "press 1 ... up to 5": with other keys the
    caller would be told keys that are not taken."""
    assert problems('    survey: {prompt: survey/rate, keys: "123"}\n') == [
        '<rules>:10:41: warning: the stock prompt survey/rate names the keys 1 to 5, not "123" '
        '(expected a prompt of your own that names the keys)']
    assert problems('    survey: {prompt: survey/rate, keys: "12345"}\n') == []
    assert problems('    survey: {prompt: survey/custom_rate, keys: "123"}\n') == []
