"""`fsrouter run` that cannot start says why in one `error:` line (one per
rules problem) and exits 1, never with a traceback.  Run as a subprocess,
as systemd runs it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from bad_rules import E2E_RULES, bad_rules

from fsrouter.sim.harness import free_port

SOUNDS = Path(__file__).resolve().parents[1] / "sounds"


def configure(tmp_path, **changes):
    rules = tmp_path / "rules.yaml"
    if not rules.exists():
        rules.write_text(E2E_RULES.read_text())
    config = {
        "listen": {"host": "127.0.0.1", "port": free_port()},
        "rules": str(rules),
        "sounds": str(SOUNDS),
        "freeswitch": {"inbound": {"host": "127.0.0.1", "port": free_port()}},
        "api": {"host": "127.0.0.1", "port": free_port()},
        "database": {"url": f"sqlite:///{tmp_path}/fsrouter.db"},
        "simulator": {"mode": "never"},
    }
    for section, value in changes.items():
        config[section] = {**config[section], **value} if isinstance(value, dict) else value
    path = tmp_path / "fsrouter.yaml"
    path.write_text(json.dumps(config))
    return path, config


def run(config_path):
    return subprocess.run([sys.executable, "-c", "from fsrouter.cli import main; main()", "run",
                           "--config", str(config_path)], capture_output=True, text=True, timeout=60)


def error_lines(result):
    assert "Traceback" not in result.stderr + result.stdout
    return [line for line in result.stderr.splitlines() if " INFO " not in line and " WARNING " not in line]


@pytest.mark.parametrize("section", ["listen", "api"])
def test_a_port_in_use_is_one_line(tmp_path, section):
    path, config = configure(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", config[section]["port"]))
        taken.listen()
        result = run(path)
    what = "FreeSWITCH outbound sockets" if section == "listen" else "the admin API"
    assert result.returncode == 1
    assert error_lines(result) == [
        f"error: cannot listen for {what} on 127.0.0.1:{config[section]['port']}: Address already in use"]


def test_the_api_on_every_address_without_a_token_refuses_to_start(tmp_path):
    path, _ = configure(tmp_path, api={"host": "0.0.0.0", "port": 0})
    result = run(path)
    assert result.returncode == 1
    assert error_lines(result) == [
        "error: refusing to serve the admin API on 0.0.0.0 without a token: "
        "set api.token_file or api.token_env, or api.host: 127.0.0.1"]


def test_a_token_variable_named_but_not_set_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("FSROUTER_TEST_TOKEN", raising=False)
    path, _ = configure(tmp_path, api={"host": "0.0.0.0", "port": 0, "token_env": "FSROUTER_TEST_TOKEN"})
    result = run(path)
    assert result.returncode == 1
    assert error_lines(result) == [
        "error: the environment variable FSROUTER_TEST_TOKEN (api.token_env) is not set"]


def test_an_address_that_is_not_this_hosts_is_one_line(tmp_path):
    path, _ = configure(tmp_path, listen={"host": "192.0.2.1"})  # TEST-NET-1: never local
    result = run(path)
    assert result.returncode == 1
    [line] = error_lines(result)
    assert line.startswith("error: cannot listen for FreeSWITCH outbound sockets on 192.0.2.1:")
    assert line.endswith("Cannot assign requested address")


def test_a_database_that_cannot_be_opened_is_one_line(tmp_path):
    path, _ = configure(tmp_path, database={"url": f"sqlite:///{tmp_path}"})  # a directory
    result = run(path)
    assert result.returncode == 1
    [line] = error_lines(result)
    assert line.startswith(f"error: cannot open the database sqlite:///{tmp_path}: ")


def test_unreadable_rules_are_one_line(tmp_path):
    (tmp_path / "rules.yaml").write_bytes(b"flows: \xff\xfe\n")
    result = run(configure(tmp_path)[0])
    assert result.returncode == 1
    assert error_lines(result) == [f"{tmp_path / 'rules.yaml'}: error: not UTF-8 text: invalid start byte at byte 7"
                                  " (expected a file saved as UTF-8)"]


@pytest.mark.parametrize("name", ["strategy typo", "nesting 2,000 deep", "empty agent id"])
def test_rules_the_acd_or_the_loader_refuse_are_positioned_lines(tmp_path, name):
    (tmp_path / "rules.yaml").write_text(bad_rules(name))
    result = run(configure(tmp_path)[0])
    assert result.returncode == 1
    lines = error_lines(result)
    assert lines and all(line.startswith(f"{tmp_path / 'rules.yaml'}") and ": error: " in line for line in lines)


def test_an_unforeseen_failure_is_one_line_too(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from fsrouter.cli import main
    from fsrouter.runtime import service

    def fail(self, config):
        raise RuntimeError("something\nunforeseen")

    monkeypatch.setattr(service.Service, "__init__", fail)
    result = CliRunner().invoke(main, ["run", "--config", str(configure(tmp_path)[0])])
    assert (result.exit_code, result.output) == (1, "error: cannot start: RuntimeError: something unforeseen\n")


def sighup(pid: int) -> str:
    """How process `pid` takes SIGHUP now: "ignored", "caught" or "default" (Linux /proc)."""
    status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if ":\t" in line)
    bit = 1 << (signal.SIGHUP - 1)
    if int(status["SigIgn"], 16) & bit:
        return "ignored"
    return "caught" if int(status["SigCgt"], 16) & bit else "default"


def test_a_reload_asked_for_while_starting_does_not_end_the_process(tmp_path):
    # Many flows, so that compiling them at start-up takes a while.
    flows = "".join(f"  extra{n}: [{{play: greeting/acme}}, {{transfer: operator}}]\n" for n in range(3000))
    (tmp_path / "rules.yaml").write_text(E2E_RULES.read_text().replace("flows:\n", "flows:\n" + flows))
    path, config = configure(tmp_path)
    process = subprocess.Popen([sys.executable, "-c", "from fsrouter.cli import main; main()", "run",
                                "--config", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 30
        while sighup(process.pid) != "ignored":  # starting: the service has no handler yet
            assert process.poll() is None and time.monotonic() < deadline, "SIGHUP was never ignored"
            time.sleep(0.001)
        os.kill(process.pid, signal.SIGHUP)
        while sighup(process.pid) != "caught":  # started: SIGHUP reloads from now on
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGHUP)
        time.sleep(0.5)
        assert process.poll() is None, process.stderr.read()
    finally:
        process.terminate()
        process.wait(20)


class NotifySocket:
    """systemd's end of NOTIFY_SOCKET: a datagram socket in a short temp dir
    (AF_UNIX paths are limited to 108 bytes)."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(dir="/tmp", prefix="fsr-notify-")
        self.path = os.path.join(self.dir.name, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def close(self):
        self.sock.close()
        self.dir.cleanup()

    def next(self, timeout=30.0, skip_pings=True) -> str:
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            message = self.sock.recv(4096).decode()
            if not (skip_pings and message == "WATCHDOG=1"):
                return message


def test_systemd_hears_ready_watchdog_reloading_and_stopping(tmp_path):
    path, config = configure(tmp_path, log_format="json")
    notify = NotifySocket()
    env = {**os.environ, "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"}  # a ping every 0.1 s
    process = subprocess.Popen([sys.executable, "-c", "from fsrouter.cli import main; main()", "run",
                                "--config", str(path)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert notify.next() == "READY=1"
        for section in ("listen", "api"):  # bound before READY=1
            socket.create_connection(("127.0.0.1", config[section]["port"]), timeout=5).close()
        assert [notify.next(skip_pings=False) for _ in range(3)] == ["WATCHDOG=1"] * 3

        process.send_signal(signal.SIGHUP)
        reloading = notify.next().splitlines()
        assert reloading[0] == "RELOADING=1" and re.fullmatch(r"MONOTONIC_USEC=\d+", reloading[1])
        usec = int(reloading[1].split("=")[1])
        assert abs(usec - time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000) < 30_000_000
        assert notify.next() == "READY=1"

        process.send_signal(signal.SIGTERM)
        assert notify.next() == "STOPPING=1"
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        notify.close()
    stderr = process.stderr.read()
    records = [json.loads(line) for line in stderr.splitlines()]  # log_format: json, one object a line
    messages = [r["message"] for r in records]
    assert any(m.startswith("listening for FreeSWITCH outbound sockets") for m in messages)
    assert any(m.startswith("rules reloaded from") for m in messages), stderr



def test_the_api_on_loopback_without_a_token_is_a_warning(tmp_path):
    path, config = configure(tmp_path)
    warnings = [line.split(" WARNING ", 1)[1] for line in log_until(path, "inbound ESL") if " WARNING " in line]
    port = config["api"]["port"]
    assert any(w.endswith(f"admin API on 127.0.0.1:{port} without a token: any local user can change "
                          "agents and rules; set api.token_file") for w in warnings), warnings
    path, _ = configure(tmp_path, api={"token_file": str(tmp_path / "token")})
    assert not any("without a token" in line for line in log_until(path, "inbound ESL"))


def log_until(path, marker: str, *args: str) -> list[str]:
    """The lines `fsrouter run` logs up to one holding `marker`, then stopped."""
    process = subprocess.Popen([sys.executable, "-c", "from fsrouter.cli import main; main()", "run",
                                "--config", str(path), *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            if marker in line:
                break
    finally:
        process.terminate()
        lines.extend(process.communicate(timeout=20)[1].splitlines())
    return lines


def test_the_stand_in_listens_before_the_service_dials_it_and_draws_new_call_ids_each_run(tmp_path):
    scenario = Path(__file__).resolve().parents[1] / "fsrouter" / "sim" / "scenarios" / "demo.yaml"
    path, _ = configure(tmp_path, simulator={"mode": "always", "scenario": str(scenario), "time_scale": 0.05})
    runs = [log_until(path, " from +") for _ in range(2)]  # up to the first demo call
    for lines in runs:
        assert not [line for line in lines if "inbound ESL" in line and " WARNING " in line], lines
        assert any("inbound ESL connected" in line for line in lines), lines
    first_calls = [next(line.split(" call ", 1)[1].split()[0] for line in lines if " from +" in line)
                   for lines in runs]
    assert first_calls[0] != first_calls[1]
