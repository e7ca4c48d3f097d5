"""API commands of the simulated switch: what ``api`` and ``bgapi`` run.

Each command returns the body FreeSWITCH's mod_commands writes, byte for
byte where fsrouter could depend on it -- including the surprising ones:
``uuid_break`` writes nothing, so ``api uuid_break`` is answered ``-ERR no
reply`` even when it worked.  `run` fires the ``API`` event every command
produces (its sequence number taken before the command runs, the event fired
after, which is why it reaches a socket after the ``api/response``).

Adding a command is one decorated function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fsrouter.sim import tables
from fsrouter.sim.fsutil import hangup_cause

if TYPE_CHECKING:
    from fsrouter.sim.switch import Switch

ApiCommand = Callable[["Switch", str], str]
COMMANDS: dict[str, ApiCommand] = {}


def command(name: str) -> Callable[[ApiCommand], ApiCommand]:
    def register(function: ApiCommand) -> ApiCommand:
        COMMANDS[name] = function
        return function
    return register


def run(switch: Switch, name: str, arg: str) -> str | None:
    """The command's output, or None when the switch has no such command."""
    function = COMMANDS.get(name)
    if function is None:
        return None
    event = switch.events.create("API", [("API-Command", name), ("API-Command-Argument", arg or None)])
    output = function(switch, arg)
    switch.fire(event)
    return output


def run_background(switch: Switch, job_uuid: str, name: str, arg: str) -> None:
    """A ``bgapi`` job: the command runs, then BACKGROUND_JOB carries its output as body."""
    output = run(switch, name, arg)
    if output is None:
        output = f"-ERR {name} Command not found!\n"
    event = switch.events.create(
        "BACKGROUND_JOB", [("Job-UUID", job_uuid), ("Job-Command", name), ("Job-Command-Arg", arg or None)],
        output.encode("utf-8"))
    switch.fire(event)


@command("status")
def status(switch: Switch, arg: str) -> str:
    up = int(switch.clock.now() * 1_000_000)
    seconds, micro = divmod(up, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return (
        f"UP 0 years, {days} days, {hours} hours, {minutes} minutes, {seconds} seconds, "
        f"{micro // 1000} milliseconds, {micro % 1000} microseconds\n"
        "FreeSWITCH (Version 1.10.12 -release 64bit) is ready\n"
        f"{switch.sessions_since_startup} session(s) since startup\n"
        f"{len(switch.channels)} session(s) - peak {switch.peak_sessions}, last 5min {switch.peak_sessions} \n"
        "0 session(s) per Sec out of max 30, peak 1, last 5min 1 \n"
        "1000 session(s) max\n"
        "min idle cpu 0.00/100.00\n"
        "Current Stack Size/Max 240K/8192K\n"
    )


@command("show")
def show(switch: Switch, arg: str) -> str:
    """show_function (mod_commands.c) for the tables the simulator keeps:
    ``calls|channels|registrations count``, ``registrations [as json]``,
    ``channels [like <match>] [as json]``.  Arguments are split on single
    spaces into at most six, as switch_separate_string does."""
    if not switch.sql:
        return "-ERR SQL disabled, no data available!\n"
    argv = (arg.split(" ", 5) + [""] * 6)[:6]
    command, as_ = argv[0].lower(), argv[2] if argv[1].lower() == "as" and argv[2] else None
    hostname = switch.identity.hostname
    if command in ("calls", "channels", "registrations") and argv[1].lower() == "count":
        count = len(switch.registrations()) if command == "registrations" else len(switch.channels)
        return f"\n{count} total.\n"
    if command == "registrations":
        rows = [tables.registration_row(r, hostname) for r in switch.registrations()]
        return tables.write(rows, tables.REGISTRATION_COLUMNS, as_)
    if command == "channels":
        rows = [tables.channel_row(c, hostname) for c in sorted(switch.channels.values(), key=_created)]
        if argv[1].lower() == "like" and argv[2]:
            # The match may not hold ' or ; (replaced by spaces before the SQL is built).
            match = argv[2].replace("'", " ").replace(";", " ")
            rows = [row for row in rows if tables.like(match, row)]
            as_ = argv[4] if argv[3].lower() == "as" and argv[4] else None
        return tables.write(rows, tables.CHANNEL_COLUMNS, as_)
    return "-ERR the simulator only shows channels, registrations and counts of calls\n"


def _created(channel) -> float:
    return channel.created_epoch


@command("uuid_exists")
def uuid_exists(switch: Switch, arg: str) -> str:
    return "true" if switch.channel(arg.strip()) is not None else "false"


@command("uuid_break")
def uuid_break(switch: Switch, arg: str) -> str:
    uuid, _, flag = arg.partition(" ")
    if not uuid:
        return "-USAGE: <uuid> [all]\n"
    channel = switch.channel(uuid)
    if channel is None:
        return "-ERR No Such Channel!\n"
    channel.break_media(flush="all" in flag)
    return ""


@command("uuid_kill")
def uuid_kill(switch: Switch, arg: str) -> str:
    uuid, _, cause = arg.partition(" ")
    channel = switch.channel(uuid)
    if channel is None:
        return "-ERR No such channel!\n"
    channel.hangup(hangup_cause(cause or "NORMAL_CLEARING"), by="fsrouter")
    return "+OK\n"


@command("uuid_getvar")
def uuid_getvar(switch: Switch, arg: str) -> str:
    argv = arg.split()
    if len(argv) < 2:
        return "-USAGE: <uuid> <var>\n"
    channel = switch.channel(argv[0])
    if channel is None:
        return "-ERR No Such Channel!\n"
    return channel.variables.get(argv[1], "_undef_")


@command("uuid_setvar")
def uuid_setvar(switch: Switch, arg: str) -> str:
    argv = arg.split(" ", 2)
    if len(argv) < 2 or not argv[0]:
        return "-USAGE: <uuid> <var> [value]\n"
    channel = switch.channel(argv[0])
    if channel is None:
        return "-ERR No Such Channel!\n"
    channel.set_variable(argv[1], argv[2] if len(argv) > 2 else None)
    return "+OK\n"


@command("originate")
def originate(switch: Switch, arg: str) -> str:
    return switch.originate(arg)


@command("uuid_bridge")
def uuid_bridge(switch: Switch, arg: str) -> str:
    argv = arg.split()
    if len(argv) != 2:
        return "-USAGE: <uuid> <other_uuid>\n"
    a, b = switch.channel(argv[0]), switch.channel(argv[1])
    if a is None or b is None or a is b or not (a.ready and b.ready) \
            or not (a.answered.is_set() and b.answered.is_set()):
        return "-ERR Invalid uuid\n"
    a.request_bridge(b, True)
    b.request_bridge(a, False)
    return f"+OK {b.uuid}\n"


@command("uuid_broadcast")
def uuid_broadcast(switch: Switch, arg: str) -> str:
    argv = arg.split()
    if len(argv) < 2:
        return "-USAGE: <uuid> <path> [aleg|bleg|both]\n"
    channel = switch.channel(argv[0])
    if channel is None or not channel.ready:
        return "-ERR Operation Failed\n"
    leg = argv[2].lower() if len(argv) > 2 else "aleg"
    targets = [channel] if leg != "bleg" else []
    if leg in ("bleg", "both") and channel.bridged_with is not None:
        targets.append(channel.bridged_with)
    for target in targets:
        target.broadcast(argv[1])
    return "+OK Message sent\n"


@command("uuid_send_dtmf")
def uuid_send_dtmf(switch: Switch, arg: str) -> str:
    """Digits sent *to* the endpoint: no DTMF event on the channel (README fact 9)."""
    argv = arg.split()
    if len(argv) < 2:
        return "-USAGE: <uuid> <dtmf_data>\n"
    channel = switch.channel(argv[0])
    if channel is None:
        return "-ERR no such channel\n"
    channel.call.sent_dtmf.append(argv[1])
    return f"+OK {channel.uuid} sent DTMF {argv[1]}.\n"
