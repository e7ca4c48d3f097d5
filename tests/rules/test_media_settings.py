"""A queue's music, exit keys and recording (and a line's or route's
recording): compiled into the plan, every mistake at its line and column."""

from __future__ import annotations

import pytest

from fsrouter.rules import analyse_source, compile_source
from fsrouter.rules.media_settings import record_path
from fsrouter.rules.plan import DEFAULT_MUSIC, RecordSettings
from fsrouter.rules.templates import Template

BASE = """\
lines: {"1": {flow: main}}
flows:
  main:
    - queue: q
  operator:
    - transfer: operator
queues:
  q:
    max_wait: {after: 10m, then: {hangup: }}
"""
"""Line 10 onwards is the test's own, inside queue q (`    exit: ` puts its value at column 11)."""

PATH = '"/var/lib/fsrouter/recordings/{date}/{queue}/{uuid}.wav"'


def problems(extra: str, base: str = BASE) -> list[str]:
    return [str(p) for p in analyse_source(base + extra).problems if p.severity == "error"]


def test_the_default_music_is_freeswitchs_shared_stream():
    assert compile_source(BASE).queues["q"].music == DEFAULT_MUSIC == "local_stream://moh"


def test_music_is_a_local_stream_or_a_prompt_checked_like_any_other():
    assert compile_source(BASE + "    music: local_stream://jazz/8000\n").queues["q"].music == "local_stream://jazz/8000"
    assert compile_source(BASE + "    music: queue/hold_music\n").queues["q"].music == "queue/hold_music"
    assert compile_source(BASE + "    music: /usr/share/moh/jazz.wav\n").queues["q"].music == "/usr/share/moh/jazz.wav"
    used = {u.template.source: u.pos for u in analyse_source(BASE + "    music: queue/hold_music\n").prompts}
    assert (used["queue/hold_music"].line, used["queue/hold_music"].column) == (10, 12)


@pytest.mark.parametrize("music", [
    "http://example.com/a.mp3", "local_stream://", "local_stream://moh jazz", '"local_stream://${system(id)}"',
    "'queue/../../etc/passwd'", "[a, b]", "/usr/share/../moh.wav", "/moh", "/my music/a.wav", "/a/b.wav!c.wav",
])
def test_bad_music_is_refused_at_its_place(music):
    assert [p.split(": error: ")[0] for p in problems(f"    music: {music}\n")] == ["<rules>:10:12"]


def test_exit_keys_lead_to_their_own_destinations():
    plan = compile_source(BASE + '    exit: {"0": {goto: operator}, "9": {transfer: voicemail}, "#": {hangup: }}\n')
    exits = plan.queues["q"].exits
    assert set(exits) == {"0", "9", "#"}
    assert plan.nodes[plan.nodes[exits["0"]].edges["next"]].step.extension == "operator"  # goto, then the flow
    assert plan.nodes[exits["9"]].step.extension == "voicemail"


@pytest.mark.parametrize("exit_, where, message", [
    ('{"12": {transfer: x}}', "10:12", 'bad exit key "12"'),
    ('{"a": {transfer: x}}', "10:12", 'bad exit key "a"'),
    ("{}", "10:11", "bad value for exit"),
    ('{"0": {goto: nowhere}}', "10:24", 'undefined goto target "nowhere"'),
    ('{"0": 5}', "10:17", "bad value for exit"),
    ("[0]", "10:11", "bad value for exit"),
])
def test_bad_exit_keys_are_refused_at_their_place(exit_, where, message):
    found = problems(f"    exit: {exit_}\n")
    assert any(p.startswith(f"<rules>:{where}: error: {message}") for p in found), found


def test_an_exit_key_may_not_also_be_the_callback_key_or_the_opt_out_key():
    found = problems('    exit: {"1": {transfer: x}, "9": {transfer: y}}\n'
                     "    announce: {position: {first: 15s}}\n"
                     "    callback: {offer_when: {position_over: 5}, region: GR}\n"  # key "1" by default
                     f'    record: {{path: {PATH}, opt_out_key: "9"}}\n')
    assert [p.split(" (at")[0] for p in found] == [
        '<rules>:10:12: error: exit key "1" is also the callback key',
        '<rules>:10:32: error: exit key "9" is also the record opt_out_key',
    ]
    assert "(at <rules>:12:15)" in found[0] and "(at <rules>:13:91)" in found[1]


def test_the_opt_out_key_may_not_be_the_callback_key():
    found = problems("    announce: {position: {first: 15s}}\n"
                     '    callback: {offer_when: {position_over: 5}, region: GR, key: "7"}\n'
                     f'    record: {{path: {PATH}, opt_out_key: "7"}}\n')
    assert [p.split(": error: ")[0] for p in found] == ["<rules>:12:91"]
    assert 'record opt_out_key "7" is also the callback key' in found[0]


def test_recording_on_a_queue_a_route_and_a_line():
    plan = compile_source(f"""\
lines: {{"1": {{flow: main, record: {{path: "/r/line/{{uuid}}.wav"}}}}}}
routes:
  - {{match: {{caller_id: {{prefix: "+44"}}}}, flow: main, record: {{path: "/r/route/{{uuid}}.wav", announce: rec/notice}}}}
flows:
  main:
    - queue: q
queues:
  q:
    max_wait: {{after: 10m, then: {{hangup: }}}}
    record: {{path: {PATH}, announce: recording/notice, opt_out_key: "9"}}
""")
    assert plan.queues["q"].record == RecordSettings(
        Template.parse(PATH.strip('"')), Template.parse("recording/notice"), "9")
    assert plan.lines["1"].record.path.source == "/r/line/{uuid}.wav"
    assert plan.route({"destination_number": "1"}, 0).record.path.source == "/r/line/{uuid}.wav"
    route = plan.route({"destination_number": "1", "caller_id_number": "+441234"}, 0).record
    assert route.path.source == "/r/route/{uuid}.wav" and route.announce.source == "rec/notice"


@pytest.mark.parametrize("path", [
    '"recordings/{uuid}.wav"',        # relative
    '"/var/rec/../../etc/{uuid}.wav"',  # climbs out
    '"/var/rec/my calls/{uuid}.wav"',  # record_session splits on spaces
    '"/var/rec/{uuid}"',              # not an audio file
    '"/var/rec/$${base_dir}/{uuid}.wav"',  # FreeSWITCH expansion
    '"/var/rec/{uuid.wav"',            # bad placeholder
    '"/var/rec//{uuid}.wav"',
])
def test_bad_recording_paths_are_refused_at_their_place(path):
    found = problems(f"    record: {{path: {path}}}\n")
    assert [p.split(": error: ")[0] for p in found] == ["<rules>:10:20"], found


def test_bad_recording_blocks_are_refused_at_their_place():
    assert problems(f'    record: {{path: {PATH}, opt_out_key: "99"}}\n')[0].startswith(
        "<rules>:10:91: error: bad value for queue record opt_out_key")
    assert problems(f"    record: {{path: {PATH}, format: mp3}}\n")[0].startswith(
        '<rules>:10:78: error: unknown key "format" in queue record')
    assert problems("    record: {announce: recording/notice}\n")[0].startswith(
        '<rules>:10:13: error: queue record has no "path"')
    assert problems('lines: {"2": {flow: main, record: {path: x.wav}}}\n', BASE.replace('lines: {"1": {flow: main}}\n', ""))[
        0].startswith("<rules>:9:42: error: bad value for record path")


def test_a_recording_path_takes_each_value_as_one_safe_segment():
    template = Template.parse("/r/{date}/{queue}/{caller_id_number}-{uuid}.wav")
    assert record_path(template, {"date": "2026-12-07", "queue": "billing", "caller_id_number": "+301",
                                  "uuid": "abc"}) == "/r/2026-12-07/billing/_301-abc.wav"
    hostile = record_path(template, {"date": "..", "queue": "a/../../etc", "caller_id_number": "${system(rm)} x",
                                     "uuid": ""})
    assert hostile == "/r/__/a_______etc/__system_rm___x-_.wav"
    assert ".." not in hostile.split("/") and " " not in hostile and "$" not in hostile


def test_the_exit_keys_may_be_named_in_the_announcements():
    plan = compile_source(BASE + '    exit: {"0": {goto: operator}}\n'
                                 "    announce: {position: {first: 15s}, exit: queue/exit_keys}\n")
    assert plan.queues["q"].announce.exit == Template.parse("queue/exit_keys")
    used = {u.template.source: u.pos for u in analyse_source(
        BASE + '    exit: {"0": {goto: operator}}\n    announce: {position: {first: 15s}, exit: queue/exit_keys}\n').prompts}
    assert (used["queue/exit_keys"].line, used["queue/exit_keys"].column) == (11, 46)  # its sound file is checked


def test_announcing_exit_keys_a_queue_does_not_have_is_refused():
    found = problems("    announce: {position: {first: 15s}, exit: queue/exit_keys}\n")
    assert found == ['<rules>:10:15: error: announce exit names exit keys the queue does not have '
                     '(expected exit: {"0": {goto: operator}})']
    assert problems("    announce: {position: {first: 15s}, exit: 'bad prompt'}\n")[0].startswith("<rules>:10:46: error: bad prompt id")


def test_the_opt_out_prompt_is_checked_where_the_key_is_given(tmp_path):
    """The notice names its opt-out key (recording/opt_out + "press 9"):
    `check` wants that prompt's files too, and says so at the key."""
    import shutil
    from pathlib import Path

    from fsrouter.rules import check

    rules = tmp_path / "rules.yaml"
    rules.write_text('lines: {"1": {flow: main, language: en,\n'
                     '  record: {path: "/rec/{uuid}.wav", announce: recording/notice, opt_out_key: "9"}}}\n'
                     "flows: {main: [{queue: q}]}\n"
                     "queues: {q: {music: local_stream://moh, max_wait: {after: 1m, then: {hangup: }}}}\n")
    sounds = tmp_path / "sounds"
    shutil.copytree(Path(__file__).parents[2] / "sounds" / "en", sounds / "en")
    assert [p for p in check(rules, sounds) if p.severity == "error"] == []
    shutil.rmtree(sounds / "en" / "recording" / "8000")
    shutil.rmtree(sounds / "en" / "recording" / "16000")
    errors = [str(p) for p in check(rules, sounds) if p.severity == "error"]
    assert any(':2:' in e and 'prompt "recording/opt_out"' in e for e in errors), errors
    assert any('prompt "recording/notice"' in e for e in errors), errors
