"""The CLI's service commands in-process: configuration errors are reported
with file:line:col and an exit status, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fsrouter.cli import main
from fsrouter.config import load_config
from fsrouter.rules.problems import RulesError

REPO = Path(__file__).resolve().parents[1]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_check_accepts_the_service_configuration_and_checks_its_rules():
    for target in (REPO / "config", REPO / "config" / "fsrouter.yaml"):
        result = invoke("check", str(target))
        assert (result.exit_code, result.output) == (0, "")


def test_check_reports_every_service_configuration_error(tmp_path):
    config = tmp_path / "fsrouter.yaml"
    config.write_text("listen: {port: 99999}\nrulez: x\nsimulator: {mode: sometimes}\nlog_format: xml\n"
                      "log_level: verbose\n")
    result = invoke("check", str(config))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f'{config}:2:1: error: unknown key "rulez" in the service configuration (expected one of: '
        "listen, max_sessions, rules, sounds, freeswitch, api, database, simulator, log_level, "
        "log_format)",
        f"{config}:1:16: error: bad value for listen.port: 99999 (expected an integer from 0 to 65535)",
        f'{config}:3:19: error: bad value for simulator.mode: "sometimes" (expected auto or always or never)',
        f'{config}:5:12: error: bad value for log_level: "verbose" '
        "(expected debug or info or warning or error or critical)",
        f'{config}:4:13: error: bad value for log_format: "xml" (expected text or json)',
    ]


def test_log_level_and_format_are_read_in_any_case(tmp_path):
    config = tmp_path / "fsrouter.yaml"
    config.write_text("log_level: WARNING\nlog_format: JSON\n")
    loaded = load_config(config)
    assert (loaded.log_level, loaded.log_format) == ("warning", "json")


def test_check_follows_the_configuration_to_broken_rules(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "main.yaml").write_text("flowz: {}\n")
    (tmp_path / "fsrouter.yaml").write_text("rules: rules\nsounds: " + str(REPO / "sounds") + "\n")
    result = invoke("check", str(tmp_path))
    assert result.exit_code == 1
    assert f"{tmp_path / 'rules' / 'main.yaml'}:1:1: error: unknown key \"flowz\"" in result.output


def test_run_refuses_a_broken_configuration_without_starting(tmp_path):
    config = tmp_path / "fsrouter.yaml"
    config.write_text("listen: [1, 2]\n")
    result = invoke("run", "--config", str(config))
    assert result.exit_code == 1
    assert f"{config}:1:9: error: bad value for listen" in result.output
    assert "Traceback" not in result.output


def test_simulate_rejects_a_bad_target():
    scenario = REPO / "fsrouter" / "sim" / "scenarios" / "demo.yaml"
    result = invoke("simulate", str(scenario), "--target", "nowhere")
    assert result.exit_code == 2
    assert "expected HOST:PORT" in result.output


def test_tts_takes_one_voice_or_one_per_language_with_a_default(tmp_path):
    config = tmp_path / "fsrouter.yaml"
    config.write_text("freeswitch: {tts: {default: flite|kal, ru: tts_commandline|ru}}\n")
    assert dict(load_config(config).tts) == {"default": "flite|kal", "ru": "tts_commandline|ru"}
    config.write_text("freeswitch: {tts: flite|slt}\n")
    assert load_config(config).tts == "flite|slt"


@pytest.mark.parametrize("tts, error", [
    ("{ru: tts_commandline|ru}", '1:19: error: freeswitch.tts has no default voice'),
    ("{default: flite|kal, r u: x|y}", '1:40: error: bad value for freeswitch.tts language: "r u"'),
    ("{default: [flite]}", "1:29: error: bad value for freeswitch.tts: a list"),
    ('"flite|kal,x"', '1:19: error: bad value for freeswitch.tts: "flite|kal,x"'),
    ('"tts commandline"', '1:19: error: bad value for freeswitch.tts: "tts commandline"'),
    ("{default: flite|kal, ru: tts_commandline|ru|x}", '1:44: error: bad value for freeswitch.tts: '
     '"tts_commandline|ru|x" (expected engine|voice, each of letters, digits, _, . and -, e.g. flite|kal)'),
    ("{default: flite}", '1:29: error: bad value for freeswitch.tts: "flite"'),
])
def test_a_bad_tts_voice_is_reported_at_its_place(tmp_path, tts, error):
    config = tmp_path / "fsrouter.yaml"
    config.write_text(f"freeswitch: {{tts: {tts}}}\n")
    with pytest.raises(RulesError) as caught:
        load_config(config)
    assert f"{config}:{error}" in str(caught.value)
