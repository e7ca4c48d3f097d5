"""The dialplan applications of the simulated switch.

Each function is the mod_dptools / mod_event_socket application of the same
name, reduced to what fsrouter can observe: how long it keeps the channel
busy, which DTMF it reads, the variables it sets and its
``Application-Response``.  `APPLICATIONS` is the switch's application table;
a name missing from it is an "Invalid Application" and FreeSWITCH hangs the
channel up with ``DESTINATION_OUT_OF_ORDER``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import gevent.socket

from fsrouter.sim.channel import Channel, Outcome
from fsrouter.sim.fsutil import atoi, hangup_cause, switch_true
from fsrouter.sim.media import speech_seconds
from fsrouter.sim import meta
from fsrouter.sim.session import EslSession

log = logging.getLogger(__name__)

Application = Callable[[Channel, str], None]
APPLICATIONS: dict[str, Application] = {}

#: Applications that need media: FreeSWITCH pre-answers an inbound channel first.
MEDIA_APPLICATIONS = frozenset({"playback", "play_and_get_digits", "speak"})

#: Real FreeSWITCH applications the simulator does not have yet, and why.
UNSUPPORTED = {
    "bridge": "not simulated yet: agent legs are bridged with the originate and uuid_bridge API commands",
}

RESPONSE = "current_application_response"


def application(name: str) -> Callable[[Application], Application]:
    def register(function: Application) -> Application:
        APPLICATIONS[name] = function
        return function
    return register


@application("answer")
def answer(channel: Channel, data: str) -> None:
    channel.answer()


@application("pre_answer")
def pre_answer(channel: Channel, data: str) -> None:
    channel.pre_answer()


@application("ring_ready")
def ring_ready(channel: Channel, data: str) -> None:
    channel.ring_ready()


@application("playback")
def playback(channel: Channel, data: str) -> None:
    channel.set_variable("playback_terminator_used", None)
    outcome = channel.play(data, channel.playback_terminators)
    if outcome is None:
        channel.set_variable(RESPONSE, "FILE NOT FOUND")
    elif outcome is Outcome.HANGUP:
        channel.set_variable(RESPONSE, "PLAYBACK ERROR")
    else:
        channel.set_variable(RESPONSE, "FILE PLAYED")


@application("speak")
def speak(channel: Channel, data: str) -> None:
    """``speak [engine|][voice|]text``; without an engine and voice FreeSWITCH hangs up.

    What was said goes into the leg's sounds as ``tts:<text>``, and takes as
    long as the simulated engine needs to say it (`speech_seconds`).
    """
    parts = data.split("|", 2)
    text = parts[-1]
    voice = parts[-2] if len(parts) > 1 else channel.variables.get("tts_voice")
    engine = parts[0] if len(parts) > 2 else channel.variables.get("tts_engine")
    if not (engine and voice and text):
        channel.call.errors.append(f"speak: Invalid Params! [{engine}][{voice}][{text}]")
        channel.hangup("DESTINATION_OUT_OF_ORDER", by="switch")
        return
    channel.set_variable("playback_terminator_used", None)
    channel.call.sounds.append(f"tts:{text}")
    channel.media_wait(speech_seconds(text), channel.playback_terminators)


@application("sleep")
def sleep(channel: Channel, data: str) -> None:
    """Without ``sleep_eat_digits`` a queued digit ends the sleep early and stays queued."""
    if not data:
        return
    seconds = atoi(data) / 1000
    if switch_true(channel.variables.get("sleep_eat_digits")):
        channel.set_variable("playback_terminator_used", None)
        channel.media_wait(seconds, channel.playback_terminators)
    else:
        channel.media_wait(seconds, stop_on_dtmf=True)


@application("set")
def set_(channel: Channel, data: str) -> None:
    name, _, value = data.partition("=")
    channel.set_variable(name, value or None)


@application("export")
def export(channel: Channel, data: str) -> None:
    nolocal = data.startswith("nolocal:")
    name, _, value = data.removeprefix("nolocal:").partition("=")
    if not nolocal:
        channel.set_variable(name, value or None)
    exported = [v for v in (channel.variables.get("export_vars") or "").split(",") if v]
    if name not in exported:
        channel.set_variable("export_vars", ",".join([*exported, name]))


@application("hangup")
def hangup(channel: Channel, data: str) -> None:
    channel.hangup(hangup_cause(data or "NORMAL_CLEARING"), by="fsrouter" if channel.in_esl_command else "switch")


@application("transfer")
def transfer(channel: Channel, data: str) -> None:
    argv = data.split()
    if argv:
        channel.transfer(argv[0], argv[1] if len(argv) > 1 else "XML", argv[2] if len(argv) > 2 else "default")


@application("park")
def park(channel: Channel, data: str) -> None:
    if channel.controlled:
        log.debug("call %s: Cannot park channels that are under control already.", channel.uuid)
        return
    channel.park()


application("bind_meta_app")(meta.bind_meta_app)
application("event")(meta.event)


@application("break")
def break_(channel: Channel, data: str) -> None:
    channel.break_media(flush=data.lower() == "all")


# ------------------------------------------------------------ recording


@application("record_session")
def record_session(channel: Channel, data: str) -> None:
    """``record_session <path> [+<limit>] [{vars}]``: a media bug, so the
    application returns at once and the recording runs on (through a bridge)
    until ``stop_record_session`` or the hangup.  The arguments split on
    spaces; an empty argument does nothing (mod_dptools.c
    record_session_function).  RECORD_START fires when the bug starts
    (switch_ivr_async.c record_callback, cc93a68)."""
    path = data.split(" ")[0]
    if not path:
        return
    channel.start_recording(path)


@application("stop_record_session")
def stop_record_session(channel: Channel, data: str) -> None:
    """``stop_record_session <path|all>``: removes the bug recording that
    path (or every one), which fires RECORD_STOP (switch_ivr_async.c
    switch_ivr_stop_record_session, send_record_stop_event)."""
    channel.stop_recording(None if data.strip().lower() == "all" else data.strip())


# ------------------------------------------------------------ play_and_get_digits


@application("play_and_get_digits")
def play_and_get_digits(channel: Channel, data: str) -> None:
    """``min max tries timeout terminators file invalid_file var regexp [digit_timeout]``.

    switch_play_and_get_digits: each try is switch_ivr_read (the prompt, which
    any digit interrupts, then digit collection); digits that do not match the
    regexp are moved to ``<var>_invalid``; a failed try (no match, too few
    digits, timeout) plays `invalid_file` without reading DTMF.  A break
    (uuid_break) only cuts the prompt short: collection ignores it and runs
    to its timeout, as in FreeSWITCH.
    """
    argv = (data.split(" ") + [""] * 10)[:10]
    min_digits = max(atoi(argv[0]), 0)
    max_digits = max(atoi(argv[1]), min_digits)
    tries = atoi(argv[2])
    timeout = max(atoi(argv[3]), 1000)
    terminators = argv[4] or "#"
    prompt, invalid_file, var, regexp = argv[5:9]
    if var and regexp:
        channel.set_variable(f"{var}_invalid", None)
    while channel.ready and tries > 0:
        status, digits = _read(channel, min_digits, max_digits, prompt, var, timeout, terminators,
                               atoi(argv[9]))
        if status == "timeout" and len(digits) >= min_digits:
            status = "success"
        if min_digits == 0 and not digits and channel.variables.get("read_terminator_used"):
            return
        if status == "success" and digits:
            if not regexp or _matches(channel, regexp, digits):
                return
            channel.set_variable(var, None)
            if var:
                channel.set_variable(f"{var}_invalid", digits)
        if not channel.ready:
            break
        if invalid_file:
            channel.play(invalid_file)
        tries -= 1


def _matches(channel: Channel, regexp: str, digits: str) -> bool:
    """switch_regex_match: a pattern that does not compile matches nothing."""
    try:
        return re.search(regexp, digits) is not None
    except re.error as exc:
        channel.call.errors.append(f"play_and_get_digits: bad regexp {regexp!r}: {exc}")
        return False


def _read(channel: Channel, min_digits: int, max_digits: int, prompt: str, var: str, timeout_ms: int,
          terminators: str, digit_timeout_ms: int) -> tuple[str, str]:
    """switch_ivr_read: (read_result, digits)."""
    channel.set_variable("read_result", None)
    if var:
        channel.set_variable(var, None)
    digits: list[str] = []
    status = "success"
    if prompt and prompt != "silence":
        outcome = channel.play(prompt, lambda d: digits.append(d) or True)
        if outcome is None or outcome is Outcome.HANGUP:
            status = "failure"
    terminator = None
    if status == "success" and ((min_digits and len(digits) < min_digits) or len(digits) < max_digits):
        first = digit_timeout_ms if digits else timeout_ms
        status, terminator = _collect(channel, digits, max_digits, terminators, first, digit_timeout_ms or first)
    if terminator:
        channel.set_variable("read_terminator_used", terminator)
        if var:
            channel.set_variable(f"{var}_terminator", terminator)
    if min_digits and len(digits) < min_digits and status != "failure":
        status = "failure"  # SWITCH_STATUS_TOO_SMALL
    channel.set_variable("read_result", status)
    if var and digits:
        channel.set_variable(var, "".join(digits))
    return status, "".join(digits)


def _collect(channel: Channel, digits: list[str], max_digits: int, terminators: str,
             first_timeout_ms: int, digit_timeout_ms: int) -> tuple[str, str | None]:
    """switch_ivr_collect_digits_count: ('success' | 'timeout' | 'failure', terminator)."""
    for index, digit in enumerate(digits):
        if digit in terminators:
            del digits[index:]
            return "success", digit
    found: list[str] = []

    def reader(digit: str) -> bool:
        if digit in terminators:
            found.append(digit)
            return True
        digits.append(digit)
        return len(digits) >= max_digits

    outcome = channel.media_wait(first_timeout_ms / 1000 or float("inf"), reader, breakable=False,
                                 digit_timeout=digit_timeout_ms / 1000 or None)
    if outcome is Outcome.BREAK:
        return "success", found[0] if found else None
    return ("timeout" if outcome is Outcome.DONE else "failure"), None


# ------------------------------------------------------------ socket


@application("socket")
def socket(channel: Channel, data: str) -> None:
    """``socket host:port async full``: connect to fsrouter and park under its control.

    If the connection cannot be made the application just returns and the
    dialplan goes on (FreeSWITCH logs "Socket Error!").  Once connected,
    FreeSWITCH waits for ``connect`` without a timeout: a client that closes
    before sending it leaves the caller in silence until they hang up.
    """
    host, _, port = data.split(" ")[0].rpartition(":")
    channel.set_variable("socket_host", host)
    try:
        sock = gevent.socket.create_connection((host, int(port)), timeout=channel.switch.connect_timeout)
    except OSError as exc:
        channel.call.fallback_reason = f"socket: cannot connect to {host}:{port}: {exc}"
        return
    sock.settimeout(None)
    session = EslSession(channel.switch, sock, channel=channel)
    channel.session = session
    session.start()
    channel.wait_until(lambda: not channel.ready or session.connected or session.finished.is_set())
    if channel.ready and not session.connected:
        channel.call.errors.append("socket closed before 'connect': the channel waits for it until hangup")
        channel.wait_until(lambda: not channel.ready)
    if channel.ready:
        channel.park()
        channel.run_commands()
