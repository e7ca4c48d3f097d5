"""Deployable assets: prompts (sounds/), FreeSWITCH XML (dialplan/), systemd unit.

Fast and offline: nothing here needs espeak-ng, sox, FreeSWITCH or systemd.
Two checks run only where a tool is installed (and are skipped otherwise):
`systemd-analyze verify` of the unit, and the determinism of
tools/make_sounds.py.
"""

from __future__ import annotations

import array
import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
import wave
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from fsrouter import speech

ROOT = Path(__file__).resolve().parent.parent
SOUNDS = ROOT / "sounds"
MANIFEST = SOUNDS / "prompts.yaml"
DIALPLAN = ROOT / "dialplan"
SYSTEMD = ROOT / "systemd"

LANGUAGES = ("en", "el", "hu", "ru", "ar")
RATES = (8000, 16000)

# The prompts the engine and the example rules rely on.
REQUIRED_PROMPTS = (
    [
        "greeting/acme", "greeting/globex",
        "menu/main", "menu/tech",
        "ivr/invalid", "ivr/no_input", "ivr/transfer", "ivr/goodbye",
        "ivr/closed", "ivr/holiday",
        "queue/hold_music", "queue/you_are_caller", "queue/estimated_wait",
        "queue/minute", "queue/minutes", "queue/less_than_a_minute",
        "queue/more_than", "queue/thank_you", "queue/max_wait",
        "queue/no_agents",
        "callback/offer", "callback/keep_place", "callback/confirm_number", "callback/confirm_keys",
        "callback/enter_number", "callback/invalid_number", "callback/refused",
        "callback/booked", "callback/intro",
        "recording/notice",
    ]
    + [f"numbers/{n}" for n in range(1, 61)]
)

# A letter of each language's script, to tell a translation from a copy of the English.
SCRIPTS = {"el": "[\u0370-\u03ff]", "ru": "[\u0400-\u04ff]", "ar": "[\u0600-\u06ff]"}


def _languages(entry: dict) -> list[str]:
    """The languages a prompt exists in: all, or those its `only:` lists."""
    return entry.get("only", list(LANGUAGES))


def _load_make_sounds():
    spec = importlib.util.spec_from_file_location(
        "make_sounds", ROOT / "tools" / "make_sounds.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_sounds", module)
    spec.loader.exec_module(module)
    return module


def _manifest() -> dict:
    with open(MANIFEST, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _wav_path(lang: str, prompt_id: str, rate: int) -> Path:
    directory, name = prompt_id.split("/")
    return SOUNDS / lang / directory / str(rate) / f"{name}.wav"


# --- sounds ---------------------------------------------------------------------


def test_manifest_has_every_required_prompt_in_every_language():
    data = _manifest()
    assert set(data["languages"]) == set(LANGUAGES)
    assert tuple(data["rates"]) == RATES
    prompts = data["prompts"]
    missing = [p for p in REQUIRED_PROMPTS if p not in prompts]
    assert not missing, f"missing from prompts.yaml: {missing}"
    for prompt_id, entry in prompts.items():
        assert re.fullmatch(r"[a-z_]+/[a-z0-9_]+", prompt_id), prompt_id
        if "music" in entry:
            continue
        for lang in _languages(entry):
            text = entry.get(lang)
            assert isinstance(text, str) and text.strip(), (prompt_id, lang)
            if lang in SCRIPTS:
                assert re.search(SCRIPTS[lang], text), f"{prompt_id}: {lang} text not in its script"
        assert set(entry) - {"music", "only"} <= set(_languages(entry)), prompt_id


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_prompt_a_grammar_says_is_in_the_manifest(lang):
    """Russian "две", the Arabic dual, Hungarian "két": whatever
    fsrouter/speech/ composes for a language has a text in it."""
    prompts = _manifest()["prompts"]
    said = speech.grammar(lang).vocabulary()
    missing = sorted(p for p in said if p not in prompts or lang not in _languages(prompts[p]))
    assert not missing, f"{lang}: {missing}"


def test_make_sounds_reads_the_manifest():
    make_sounds = _load_make_sounds()
    rates, jobs = make_sounds.load_manifest(MANIFEST)
    assert rates == list(RATES)
    assert len(jobs) == sum(len(_languages(e)) for e in _manifest()["prompts"].values())
    assert make_sounds.out_path(SOUNDS, "en", "menu/main", 8000) == (
        SOUNDS / "en" / "menu" / "8000" / "main.wav"
    )


@pytest.mark.parametrize("entry, error", [
    ('{only: [ru], ru: "две", en: "two"}', "text for 'en', which only: leaves out"),
    ('{only: [xx], ru: "две"}', "only: a list of languages among"),
    ('{only: [ru]}', "no text for language 'ru'"),
])
def test_make_sounds_refuses_a_bad_only(tmp_path, entry, error):
    manifest = tmp_path / "prompts.yaml"
    manifest.write_text("rates: [8000]\nlanguages: {en: {voice: en}, ru: {voice: ru}}\n"
                        f"prompts:\n  numbers/2f: {entry}\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=re.escape(error)):
        _load_make_sounds().load_manifest(manifest)


def _prompt_files():
    for prompt_id, entry in _manifest()["prompts"].items():
        for lang in _languages(entry):
            for rate in RATES:
                yield prompt_id, lang, rate


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_prompt_is_a_valid_wav_at_both_rates(lang):
    problems = []
    durations: dict[str, dict[int, float]] = {}
    for prompt_id, file_lang, rate in _prompt_files():
        if file_lang != lang:
            continue
        path = _wav_path(lang, prompt_id, rate)
        rel = path.relative_to(ROOT)
        if not path.is_file():
            problems.append(f"{rel}: missing")
            continue
        try:
            with wave.open(str(path), "rb") as w:  # refuses anything but PCM
                channels, width, framerate, frames = (
                    w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
                )
                raw = w.readframes(frames)
        except (wave.Error, EOFError) as exc:
            problems.append(f"{rel}: not a PCM WAV file ({exc})")
            continue
        if (channels, width, framerate) != (1, 2, rate):
            problems.append(
                f"{rel}: {channels} ch, {8 * width} bit, {framerate} Hz; "
                f"expected mono 16-bit {rate} Hz"
            )
            continue
        duration = frames / framerate
        durations.setdefault(prompt_id, {})[rate] = duration
        if not 0.3 < duration < 30:
            problems.append(f"{rel}: {duration:.2f} s long")
        samples = array.array("h", raw)
        if sys.byteorder == "big":
            samples.byteswap()
        peak = max(max(samples), -min(samples))
        if peak < 3000:  # about -21 dBFS: silent or nearly
            problems.append(f"{rel}: peak {peak}, too quiet")
    for prompt_id, by_rate in durations.items():
        if len(by_rate) == 2:
            low, high = by_rate[8000], by_rate[16000]
            if abs(low - high) > 0.05:
                problems.append(
                    f"{lang}/{prompt_id}: 8000 ({low:.2f} s) and 16000 "
                    f"({high:.2f} s) differ: regenerate both"
                )
    assert not problems, "\n".join(problems)


def test_hold_music_is_a_loop_of_about_eight_seconds():
    for lang in LANGUAGES:
        for rate in RATES:
            with wave.open(str(_wav_path(lang, "queue/hold_music", rate)), "rb") as w:
                assert 6 <= w.getnframes() / w.getframerate() <= 12


def test_no_stray_sound_files():
    expected = {
        _wav_path(lang, prompt_id, rate) for prompt_id, lang, rate in _prompt_files()
    }
    found = set(SOUNDS.rglob("*.wav"))
    stray = sorted(str(p.relative_to(ROOT)) for p in found - expected)
    assert not stray, f"not in prompts.yaml (make_sounds.py --clean): {stray}"


@pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")),
    reason="espeak-ng and sox not installed (apt-get install espeak-ng sox)",
)
def test_make_sounds_is_deterministic(tmp_path):
    make_sounds = _load_make_sounds()
    digests = []
    for run in ("a", "b"):
        out = tmp_path / run
        args = ["--out", str(out), "--only", "ivr/goodbye", "--only",
                "queue/hold_music", "--lang", "el", "-j", "2"]
        assert make_sounds.main(args) == 0
        files = sorted(out.rglob("*.wav"))
        assert len(files) == 4
        digests.append(
            {f.relative_to(out): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
        )
    assert digests[0] == digests[1]


# --- dialplan -------------------------------------------------------------------


def _actions(condition: ET.Element) -> list[tuple[str, str]]:
    return [
        (a.get("application"), a.get("data") or "")
        for a in condition.findall("action")
    ]


def test_dialplan_xml_files_are_well_formed():
    for path in sorted(DIALPLAN.glob("*.xml")):
        ET.parse(path)  # raises ParseError with line and column


def test_dialplan_hands_calls_to_fsrouter_then_falls_back():
    root = ET.parse(DIALPLAN / "fsrouter.xml").getroot()
    assert root.tag == "include"
    extensions = {e.get("name"): e for e in root.iter("extension")}
    socket_conditions = [
        c for c in root.iter("condition")
        if any(app == "socket" for app, _ in _actions(c))
    ]
    assert len(socket_conditions) == 1
    actions = _actions(socket_conditions[0])
    apps = [app for app, _ in actions]
    at = apps.index("socket")

    assert actions[at][1] == "127.0.0.1:8084 async full"
    before, after = actions[:at], actions[at + 1:]
    # fsrouter answers; the dialplan must not.
    assert "answer" not in [app for app, _ in before]
    settings = dict(
        data.split("=", 1) for app, data in before if app == "set" and "=" in data
    )
    assert settings.get("park_after_bridge") == "true"
    assert settings.get("hangup_after_bridge") == "false"
    assert settings.get("continue_on_fail") == "true"

    # The fallback: a warning, then a transfer to the operator extension.
    after_apps = [app for app, _ in after]
    assert after_apps and after_apps[0] == "log"
    assert after[0][1].startswith("WARNING ")
    transfers = [data for app, data in after if app == "transfer"]
    assert len(transfers) == 1
    target = transfers[0].split()[0]
    operator = next(
        e for e in extensions.values()
        if re.fullmatch(e.find("condition").get("expression"), target)
    )
    op_apps = [app for app, _ in _actions(operator.find("condition"))]
    assert "bridge" in op_apps and "voicemail" in op_apps
    assert op_apps.index("bridge") < op_apps.index("voicemail")
    op_settings = dict(
        data.split("=", 1)
        for app, data in _actions(operator.find("condition"))
        if app == "set" and "=" in data
    )
    assert op_settings.get("continue_on_fail") == "true"
    assert op_settings.get("hangup_after_bridge") == "true"
    assert op_settings.get("park_after_bridge") == "false"


def test_inbound_event_socket_config():
    root = ET.parse(DIALPLAN / "event_socket.conf.xml").getroot()
    assert root.tag == "configuration"
    assert root.get("name") == "event_socket.conf"
    params = {p.get("name"): p.get("value") for p in root.iter("param")}
    assert params["listen-ip"] == "127.0.0.1"
    assert params["listen-port"] == "8021"
    assert params["password"]
    assert params["apply-inbound-acl"]


def test_dialplan_matches_the_example_service_config():
    """The shipped FreeSWITCH side and config/fsrouter.yaml agree on both sockets."""
    config_path = ROOT / "config" / "fsrouter.yaml"
    with open(config_path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh) or {}
    listen = config.get("listen") or {}
    inbound = (config.get("freeswitch") or {}).get("inbound") or {}

    root = ET.parse(DIALPLAN / "fsrouter.xml").getroot()
    (socket_data,) = [
        a.get("data") for a in root.iter("action") if a.get("application") == "socket"
    ]
    address = socket_data.split()[0]
    assert address == f"{listen.get('host', '127.0.0.1')}:{listen.get('port', 8084)}"

    params = {
        p.get("name"): p.get("value")
        for p in ET.parse(DIALPLAN / "event_socket.conf.xml").getroot().iter("param")
    }
    assert params["listen-ip"] == str(inbound.get("host", "127.0.0.1"))
    assert params["listen-port"] == str(inbound.get("port", 8021))
    assert params["password"] == str(inbound.get("password", "ClueCon"))


# --- systemd --------------------------------------------------------------------


def _parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Parse a unit file the way systemd reads it (repeated keys accumulate)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}:{number}: key outside a section"
        assert "=" in line, f"{path.name}:{number}: not key=value: {line!r}"
        key, value = (part.strip() for part in line.split("=", 1))
        current.setdefault(key, []).append(value)
    return sections


def test_unit_runs_fsrouter_as_an_unprivileged_user_and_restarts():
    unit = _parse_unit(SYSTEMD / "fsrouter.service")
    assert set(unit) == {"Unit", "Service", "Install"}
    service = {k: v[-1] for k, v in unit["Service"].items()}
    assert service["User"] not in ("", "root", "0")
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert service["Restart"] == "on-failure"
    assert "RestartSec" in service
    assert service["ExecStart"].split() == [
        "/opt/fsrouter/venv/bin/fsrouter", "run", "--config", "/etc/fsrouter/fsrouter.yaml",
    ]
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"  # works before systemd 253 too
    assert service["StateDirectory"] == "fsrouter"
    assert int(service["LimitNOFILE"]) >= 16384
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_unit_has_a_watchdog_the_service_can_keep():
    service = {k: v[-1] for k, v in _parse_unit(SYSTEMD / "fsrouter.service")["Service"].items()}
    assert service["WatchdogSec"] == "30s"
    # A stopped or failed watchdog ends in a restart, not a dead service.
    assert service["Restart"] in ("on-failure", "on-watchdog", "on-abnormal", "always")


def test_unit_is_sandboxed():
    service = _parse_unit(SYSTEMD / "fsrouter.service")["Service"]
    last = {k: v[-1] for k, v in service.items()}
    for key in (
        "NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices",
        "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
        "ProtectControlGroups", "RestrictNamespaces", "LockPersonality",
        "MemoryDenyWriteExecute", "RestrictRealtime", "RestrictSUIDSGID",
    ):
        assert last.get(key) == "yes", key
    assert last["ProtectSystem"] == "strict"
    assert last["CapabilityBoundingSet"] == ""
    assert set(last["RestrictAddressFamilies"].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert "@system-service" in service["SystemCallFilter"]


def test_sysusers_creates_the_service_user():
    user = _parse_unit(SYSTEMD / "fsrouter.service")["Service"]["User"][-1]
    lines = [
        line.split()
        for line in (SYSTEMD / "fsrouter.sysusers.conf").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert any(fields[:2] == ["u", user] for fields in lines)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_analyze_verify(tmp_path):
    # verify insists that ExecStart= exists: point it at a stub, change nothing else.
    stub = tmp_path / "fsrouter"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    text = (SYSTEMD / "fsrouter.service").read_text()
    unit = tmp_path / "fsrouter.service"
    unit.write_text(text.replace("/opt/fsrouter/venv/bin/fsrouter", str(stub)))
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True, text=True, timeout=60,
    )
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, output
    ours = [line for line in output.splitlines() if "fsrouter" in line]
    assert not ours, "\n".join(ours)
