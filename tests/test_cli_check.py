"""`fsrouter check` and `fsrouter graph` through click's CliRunner: one bad
file per class of problem, each with the exact lines a sysadmin would see."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fsrouter.cli import main

HERE = Path(__file__).parent
BAD = HERE / "rules" / "bad"
E2E = HERE / "rules" / "good" / "e2e.yaml"
CONFIG = HERE.parent / "config"

MANIFEST = yaml.safe_load((HERE.parent / "sounds" / "prompts.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sounds(tmp_path_factory) -> Path:
    """A sounds tree of empty files: every prompt the project provides, in its languages."""
    root = tmp_path_factory.mktemp("sounds")
    for prompt, entry in MANIFEST["prompts"].items():
        for language in entry.get("only", MANIFEST["languages"]):
            folder, name = prompt.split("/")
            for rate in ("8000", "16000"):
                path = root / language / folder / rate / f"{name}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"")
    return root


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def check(path: Path, sounds: Path):
    result = run("check", path, "--sounds", sounds)
    return result.exit_code, result.output.splitlines()


CASES = {
    "unknown_key.yaml": (1, [
        '6:9: error: unknown key "promt" in menu (expected one of: prompt, options, on_invalid, '
        "on_timeout, timeout, digits, default)",
        '6:9: error: menu has no "prompt"',
    ]),
    "unknown_step.yaml": (1, [
        '5:7: error: unknown step "plya" (expected one of: play, menu, set, goto, condition, if, '
        "transfer, hangup, notice, queue, agent)",
    ]),
    "wrong_type.yaml": (1, [
        '9:11: error: bad menu key "on" (expected DTMF keys: digits 0-9, "*" and "#", quoted)',
        '10:31: error: bad value for on_invalid retries: "two" (expected an integer from 0 to 9)',
        '11:18: error: bad value for timeout: "soon" (expected seconds or a duration like 45s, 3m, 1h30m)',
    ]),
    "undefined.yaml": (1, [
        '2:17: error: undefined flow "mian" (expected one of: main)',
        '10:24: error: undefined queue "biling" (expected one of: billing)',
        '11:23: error: undefined goto target "tehc" (expected a flow or step id: main)',
    ]),
    "dead_end.yaml": (1, [
        "6:7: error: dead end: the call has nowhere to go after too many timeouts "
        "(expected on_timeout: {then: ...} or default: ...)",
        "9:17: error: dead end: the call has nowhere to go after this step "
        "(expected hangup, transfer, queue or goto at the end of the path)",
    ]),
    "unreachable.yaml": (1, [
        '7:7: error: unreachable step "main.3": no path leads here',
        '9:3: warning: flow "spare" is never used (expected a line, route or goto that leads to it)',
    ]),
    "loop.yaml": (1, [
        "6:7: error: loop with no exit: top -> top/1 -> top/0 -> top/default -> tech.1 -> tech.1/* "
        "-> tech.1/default never reaches hangup, transfer or queue "
        "(expected an option, then or else that leads out of the loop)",
        "6:7: warning: menu has no option that leads to a person (queue or transfer) "
        '(expected an option such as "0": {transfer: operator})',
        "13:7: warning: menu has no option that leads to a person (queue or transfer) "
        '(expected an option such as "0": {transfer: operator})',
    ]),
    "spin.yaml": (1, [
        "6:7: error: loop without a pause: again -> main.2 -> main.3 would repeat forever without "
        "playing or asking (expected a play or menu inside the loop)",
    ]),
    "no_human.yaml": (0, [
        "5:7: warning: menu has no option that leads to a person (queue or transfer) "
        '(expected an option such as "0": {transfer: operator})',
    ]),
    "deep_menu.yaml": (0, [
        "20:7: warning: menu nested 4 levels deep: one.1 > two.1 > three.1 > four.1 "
        "(expected at most 3 levels of menus)",
    ]),
    "bad_time.yaml": (1, [
        '2:13: error: unknown time zone "Europe/Atlantis" (expected a time zone name like Europe/Athens)',
        '3:14: error: bad holiday date "2026-02-30" (expected a date YYYY-MM-DD)',
        '3:26: error: bad holiday date "christmas" (expected a date YYYY-MM-DD)',
        '7:20: error: bad time range "18:00-08:00" (expected HH:MM-HH:MM with the start before the end, '
        'e.g. "08:00-18:00"; split ranges over midnight)',
        '9:36: error: bad time range "25:00-26:00" (expected HH:MM-HH:MM with the start before the end, '
        'e.g. "08:00-18:00"; split ranges over midnight)',
        '9:58: error: bad day or day range "fri-mon" (expected day names mon..sun or a range like mon-fri)',
    ]),
    "syntax_error.yaml": (1, [
        "3:6: error: invalid YAML: while parsing a flow mapping, expected ',' or '}', but got ':'",
    ]),
    "duplicate_key.yaml": (1, [
        '6:3: error: duplicate key "main" (first defined at {path}:4:3)',
    ]),
    "bad_cause.yaml": (1, [
        '5:15: error: unknown hangup cause "NORMAL_CLEAR" (expected a Q.850 cause name such as NORMAL_CLEARING)',
    ]),
    "prompts.yaml": (1, [
        '5:34: warning: cannot check prompt "ivr/{mood}": the values of {mood} are not known '
        "(expected mood set to literal values under lines, routes or set steps)",
        '6:13: error: missing sound files for prompt "menu/mian": {sounds}/en/menu/8000/mian.wav, '
        '{sounds}/en/menu/16000/mian.wav (line "100" can play it in en) '
        "(expected a WAV file at 8000 and 16000 Hz for each language (en))",
    ]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_problem_class_is_one_exact_line(name, sounds):
    status, lines = CASES[name]
    path = BAD / name
    expected = [
        f"{path}:" + line.replace("{path}", str(path)).replace("{sounds}", str(sounds)) for line in lines
    ]
    assert check(path, sounds) == (status, expected)


GREEK_ROUTE = """
lines:
  "100": {language: en, flow: main}
routes:
  - name: greek
    match: {destination: "200"}
    set: {language: el}
    flow: greek
  - flow: main
flows:
  main:
    - menu:
        prompt: menu/main
        options: {"9": {set: {language: ru}, goto: special}, "0": {transfer: operator}}
        default: {transfer: operator}
    - id: special
      play: menu/special
    - hangup: NORMAL_CLEARING
  greek:
    - play: menu/special
    - hangup: NORMAL_CLEARING
"""


def test_check_names_the_route_that_lacks_a_greek_prompt(tmp_path):
    """menu/special exists in English and Russian (the menu's "9" switches to
    it), not in Greek: the route that plays it in Greek is named, at the step."""
    rules = tmp_path / "r.yaml"
    rules.write_text(GREEK_ROUTE)
    for language, prompt in [(l, p) for l in ("en", "el", "ru") for p in ("menu/main", "menu/special")]:
        if (language, prompt) != ("el", "menu/special"):
            for rate in ("8000", "16000"):
                path = tmp_path / "sounds" / language / prompt.replace("/", f"/{rate}/")
                path.with_suffix(".wav").parent.mkdir(parents=True, exist_ok=True)
                path.with_suffix(".wav").write_bytes(b"")
    sounds = tmp_path / "sounds"
    assert check(rules, sounds) == (1, [
        f'{rules}:20:13: error: missing sound files for prompt "menu/special": {sounds}/el/menu/8000/special.wav, '
        f'{sounds}/el/menu/16000/special.wav (route "greek" can play it in el) '
        "(expected a WAV file at 8000 and 16000 Hz for each language (el))",
    ])


def test_many_lines_that_need_a_prompt_are_counted_not_all_listed(tmp_path):
    rules = tmp_path / "r.yaml"
    lines = "".join(f'  "{n}": {{language: el, flow: main}}\n' for n in range(1, 7))
    rules.write_text(f"lines:\n{lines}flows:\n  main:\n    - play: menu/special\n    - hangup: NORMAL_CLEARING\n")
    (tmp_path / "sounds").mkdir()
    status, [problem] = check(rules, tmp_path / "sounds")
    assert problem.endswith('(line "1", line "2", line "3", line "4" and 2 more can play it in el) '
                            "(expected a WAV file at 8000 and 16000 Hz for each language (el))"), problem


RUSSIAN_QUEUE = """
lines:
  "100": {language: ru, flow: wait}
  "101": {language: en, flow: wait}
flows:
  wait:
    - queue: q
queues:
  q:
    announce: {position: {first: 15s, every: 45s, up_to: 5}, wait: {every: 90s}}
    max_wait: {after: 10m, then: {hangup: NORMAL_CLEARING}}
"""


def test_a_queue_missing_a_grammatical_form_is_named_with_who_hears_it(tmp_path, sounds):
    """Russian counts two minutes with "две" (numbers/2f): without it the
    queue is reported, for the Russian line only."""
    rules = tmp_path / "r.yaml"
    rules.write_text(RUSSIAN_QUEUE)
    assert check(rules, sounds) == (0, [])
    bare = tmp_path / "bare"
    shutil.copytree(sounds, bare)
    for path in bare.glob("ru/numbers/*/2f.wav"):
        path.unlink()
    assert check(rules, bare) == (1, [
        f'{rules}:9:3: error: missing sound files for what queue "q" says (numbers, minutes, keys): '
        f'{bare}/ru/numbers/8000/2f.wav, {bare}/ru/numbers/16000/2f.wav (line "100" can play it in ru) '
        "(expected a WAV file at 8000 and 16000 Hz for each language (en, ru))",
    ])


def test_a_name_defined_in_two_files_cites_both(sounds):
    folder = BAD / "split"
    assert check(folder, sounds) == (1, [
        f'{folder}/b.yaml:2:3: error: duplicate flow "main" (first defined at {folder}/a.yaml:4:3)',
    ])


def test_placeholders_in_a_flow_list_need_quotes(tmp_path, sounds):
    rules = tmp_path / "r.yaml"
    rules.write_text("flows:\n  main:\n    - play: [greeting/{brand}]\n")
    assert check(rules, sounds) == (1, [
        f"{rules}:3:23: error: invalid YAML: while parsing a flow sequence, expected ',' or ']', "
        "but got '{' (expected quotes around a value with {placeholders} inside [...] or {...}, "
        'e.g. ["greeting/{brand}"])',
    ])


def test_example_rules_check_clean(sounds):
    assert check(CONFIG, sounds) == (0, [])
    assert check(E2E, sounds) == (0, [])


def test_directory_uses_rules_subdirectory_and_skips_service_config(tmp_path, sounds):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "main.yaml").write_text(E2E.read_text())
    (tmp_path / "rules" / "fsrouter.yaml").write_text("listen: {port: 8084}\n")
    (tmp_path / "fsrouter.yaml").write_text("listen: {port: 8084}\n")
    assert check(tmp_path, sounds) == (0, [])


def test_missing_default_sounds_directory_is_a_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "main.yaml").write_text(E2E.read_text())
    result = run("check", "rules")
    assert (result.exit_code, result.output) == (
        0, "sounds: warning: no sounds directory here; prompts not checked (expected --sounds DIR)\n"
    )


def test_empty_directory_is_an_error(tmp_path):
    result = run("check", tmp_path, "--sounds", tmp_path)
    assert (result.exit_code, result.output) == (
        1, f"{tmp_path}: error: no rules files here (expected *.yaml or *.yml files)\n"
    )


def test_usage_errors_exit_2(tmp_path):
    assert run("check", tmp_path / "nope.yaml").exit_code == 2
    assert run("check").exit_code == 2
    assert run("graph", "main", "--rules", E2E, "--format", "png").exit_code == 2


def test_graph_dot_snapshot():
    result = run("graph", "main", "--rules", E2E)
    assert result.exit_code == 0
    assert result.output == (HERE / "rules" / "good" / "e2e_main.dot").read_text()


def test_graph_mermaid_snapshot():
    result = run("graph", "main", "--rules", E2E, "--format", "mermaid")
    assert result.exit_code == 0
    assert result.output == (HERE / "rules" / "good" / "e2e_main.mmd").read_text()


def test_graph_of_unknown_flow_is_a_usage_error():
    result = run("graph", "nope", "--rules", E2E)
    assert result.exit_code == 2
    assert 'no flow "nope" (expected one of: main, support, sales, greek_billing, relaxed, ' in result.output
    assert "queue:support, " in result.output


def test_graph_of_bad_rules_prints_the_errors(sounds):
    result = run("graph", "main", "--rules", BAD / "unknown_step.yaml")
    assert result.exit_code == 1
    assert 'unknown step "plya"' in result.output


# Hostile and pathological files: each is refused with a positioned error and
# exit 1; nothing raises (CliRunner would hold the exception) or prints a traceback.

SMALL = 'lines: {"5000": {flow: main}}\nflows:\n  main:\n'


def nested_ifs(depth: int) -> str:
    """A flow of `if`/`then` nested `depth` deep, on one line."""
    steps = "".join(f'{{if: {{caller_id: "{level}"}}, else: [{{hangup: USER_BUSY}}], then: [' for level in range(depth))
    return SMALL.replace("main:\n", "main: [") + steps + "{hangup: NORMAL_CLEARING}" + "]}" * depth + "]\n"


HOSTILE = {
    "nested_2000.yaml": (nested_ifs(2000), "3:1805: error: nested more than 64 levels deep"
                         " (expected at most 64 levels of nested mappings and lists)"),
    "huge_int.yaml": (SMALL + "    - menu: {prompt: menu/main, options: {'1': {hangup: USER_BUSY}}, digits: "
                      + "9" * 5000 + "}\n",
                      "4:78: error: number too long: 5,000 digits (expected at most 1,000 digits, or quotes if it is text)",
                      '4:78: error: bad value for digits: "' + "9" * 40 + "…" + "9" * 20 + '" (5,000 characters)'
                      " (expected an integer from 1 to 20)"),
    "nul.yaml": (SMALL + "    - play: menu/m\0ain\n",
                 "4:19: error: invalid YAML: character U+0000 is not allowed"
                 " (expected printable Unicode text (no NUL or other control characters))"),
    "long_prompt.yaml": (SMALL + "    - play: " + "p" * 300 + "\n    - hangup: USER_BUSY\n",
                         "4:13: error: prompt id too long: 300 characters (expected at most 100 characters)"),
    "regex.yaml": ('lines: {"5000": {flow: main}}\nroutes:\n  - match: {caller_id: {regex: "^(\\\\d+)+$"}}\n'
                   "    flow: main\nflows:\n  main: [{hangup: USER_BUSY}]\n",
                   '3:32: error: regular expression "^(\\d+)+$" could take exponential time: a repeated part'
                   " has a variable length, so it can split the text in many ways (expected a pattern without"
                   ' repeats inside repeats or overlapping repeats, e.g. "^\\+30\\d+$")'),
}


def assert_refused(result, expected: list[str]) -> None:
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.exception
    assert "Traceback" not in result.output
    assert result.output.splitlines() == expected


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_rules_are_refused_with_a_position(name, tmp_path, sounds):
    text, *lines = HOSTILE[name]
    path = tmp_path / name
    path.write_text(text)
    assert_refused(run("check", path, "--sounds", sounds), [f"{path}:{line}" for line in lines])


def test_an_oversized_rules_file_is_refused_at_once(tmp_path, sounds):
    path = tmp_path / "big.yaml"
    with path.open("wb") as f:
        f.truncate(23_000_000)
    assert_refused(run("check", path, "--sounds", sounds),
                   [f"{path}: error: file too large: 23,000,000 bytes (expected at most 2,097,152 bytes)"])


def test_a_file_that_is_not_utf8_is_refused(tmp_path, sounds):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"flows: {main: [{play: caf\xe9}]}\n")
    assert_refused(run("check", path, "--sounds", sounds),
                   [f"{path}: error: not UTF-8 text: invalid continuation byte at byte 25 (expected a file saved as UTF-8)"])


def test_a_service_configuration_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "fsrouter.yaml"
    path.write_bytes(b"log_level: d\xe9bug\n")
    assert_refused(run("check", path),
                   [f"{path}: error: not UTF-8 text: invalid continuation byte at byte 12 (expected a file saved as UTF-8)"])


def test_a_placeholder_value_too_long_for_a_file_name_is_reported(tmp_path, sounds):
    path = tmp_path / "brand.yaml"
    path.write_text(f'lines: {{"5000": {{brand: {"b" * 300}, flow: main}}}}\n'
                    'flows:\n  main:\n    - play: "greeting/{brand}"\n    - hangup: USER_BUSY\n')
    assert_refused(run("check", path, "--sounds", sounds), [
        f'{path}:4:13: error: cannot check prompt "greeting/{{brand}}": File name too long'
        " (expected prompt ids and the values of their placeholders that make usable file names)"
    ])


def test_deep_nesting_is_refused_by_the_real_command_without_a_traceback(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "deep.yaml"
    path.write_text(nested_ifs(2000))
    command = Path(sys.executable).parent / "fsrouter"
    done = subprocess.run([command, "check", path, "--sounds", tmp_path],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout
    assert f"{path}:3:1805: error: nested more than 64 levels deep" in done.stdout


def _config_with_token_file(tmp_path: Path, token_file: str) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "main.yaml").write_text(E2E.read_text())
    config = tmp_path / "fsrouter.yaml"
    config.write_text(f"api: {{token_file: {token_file}}}\n")
    return config


def test_a_token_file_the_service_cannot_create_is_an_error(tmp_path, sounds):
    # As /etc/fsrouter under ProtectSystem=strict: no writable directory to make it in
    # (a regular file stands in the path, which even root cannot write through).
    (tmp_path / "readonly").write_text("")
    config = _config_with_token_file(tmp_path, "readonly/var/api-token")
    code, lines = check(config, sounds)
    assert code == 1
    assert lines == [
        f"{config}: error: the API token file {tmp_path}/readonly/var/api-token (api.token_file) does not "
        f"exist and cannot be created: {tmp_path}/readonly is not a writable directory; `run` would fail "
        "(expected a token_file under a directory the service can write, e.g. /var/lib/fsrouter/api-token)"
    ]


def test_a_token_file_that_cannot_be_read_is_an_error(tmp_path, sounds):
    (tmp_path / "token").mkdir()
    code, lines = check(_config_with_token_file(tmp_path, "token"), sounds)
    assert code == 1
    assert "(api.token_file) cannot be read; `run` would fail" in lines[0]


def test_a_token_file_to_be_created_in_a_writable_directory_is_fine(tmp_path, sounds):
    assert check(_config_with_token_file(tmp_path, "var/api-token"), sounds) == (0, [])
