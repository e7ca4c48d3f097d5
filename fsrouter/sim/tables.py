"""The core database tables ``show`` reads, and how it writes them out.

FreeSWITCH keeps switch-wide state in its core database (switch_core_sqldb.c):
a ``channels`` row per channel, kept up to date from the channel's events,
and a ``registrations`` row per registered phone, written by mod_sofia
(sofia_reg.c, sofia_reg_handle_register_token ->
``switch_core_add_registration``).  mod_commands' show_function
(mod_commands.c) runs ``select * from <table>`` on them and writes the rows
``as json`` (show_as_json_callback: every value a string, NULL as "";
``cJSON_PrintUnformatted``, or ``{"row_count": 0}`` and a newline when there
is no row) or, by default, as comma-delimited lines under a title line,
then ``\\n<N> total.\\n`` (show_callback).  The simulator builds the same rows
from its channels and phones when asked, in the tables' column order.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fsrouter.sim.channel import Channel
    from fsrouter.sim.sofia import Registration

#: create_registrations_sql's columns, in order.
REGISTRATION_COLUMNS = ("reg_user", "realm", "token", "url", "expires", "network_ip", "network_port",
                        "network_proto", "hostname", "metadata")

#: create_channels_sql's columns, in order.
CHANNEL_COLUMNS = (
    "uuid", "direction", "created", "created_epoch", "name", "state", "cid_name", "cid_num", "ip_addr",
    "dest", "application", "application_data", "dialplan", "context", "read_codec", "read_rate",
    "read_bit_rate", "write_codec", "write_rate", "write_bit_rate", "secure", "hostname", "presence_id",
    "presence_data", "accountcode", "callstate", "callee_name", "callee_num", "callee_direction",
    "call_uuid", "sent_callee_name", "sent_callee_num", "initial_cid_name", "initial_cid_num",
    "initial_ip_addr", "initial_dest", "initial_dialplan", "initial_context",
)

#: The columns ``show channels like <match>`` compares (show_function's SQL).
LIKE_COLUMNS = ("uuid", "name", "cid_name", "cid_num", "presence_data", "accountcode")

#: Which event header fills each channels column (the core's CHANNEL_CREATE,
#: CS_ROUTING, CHANNEL_EXECUTE, CHANNEL_ANSWER... updates in switch_core_sqldb.c).
_CHANNEL_HEADERS = {
    "uuid": "Unique-ID", "direction": "Call-Direction", "name": "Channel-Name", "state": "Channel-State",
    "cid_name": "Caller-Caller-ID-Name", "cid_num": "Caller-Caller-ID-Number",
    "ip_addr": "Caller-Network-Addr", "dest": "Caller-Destination-Number", "dialplan": "Caller-Dialplan",
    "context": "Caller-Context", "read_codec": "Channel-Read-Codec-Name", "read_rate": "Channel-Read-Codec-Rate",
    "read_bit_rate": "Channel-Read-Codec-Bit-Rate", "write_codec": "Channel-Write-Codec-Name",
    "write_rate": "Channel-Write-Codec-Rate", "write_bit_rate": "Channel-Write-Codec-Bit-Rate",
    "presence_id": "Channel-Presence-ID", "presence_data": "Channel-Presence-Data",
    "callstate": "Channel-Call-State", "callee_name": "Caller-Callee-ID-Name",
    "callee_num": "Caller-Callee-ID-Number", "call_uuid": "Channel-Call-UUID",
}


def registration_row(registration: Registration, hostname: str) -> dict[str, str]:
    """The row ``switch_core_add_registration`` wrote for a phone's REGISTER."""
    host, port = registration.network
    return {
        "reg_user": registration.user, "realm": registration.domain, "token": registration.call_id,
        # sofia_reg.c: url = "sofia/<profile>/<proto>:<contact without its scheme>"
        "url": f"sofia/{registration.profile}/sip:{registration.user}@{host}:{port}",
        "expires": str(registration.expires_at), "network_ip": host, "network_port": str(port),
        "network_proto": "udp", "hostname": hostname, "metadata": "",
    }


def channel_row(channel: Channel, hostname: str) -> dict[str, str]:
    """The channel's row as the core database holds it once its events are in."""
    headers = {name.lower(): value or "" for name, value in channel.channel_headers()}
    row = {column: headers.get(header.lower(), "") for column, header in _CHANNEL_HEADERS.items()}
    created = channel.created_epoch
    last = channel.call.apps[-1] if channel.call.apps else None
    row.update({
        "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)), "created_epoch": str(int(created)),
        "application": last.name if last else "", "application_data": (last.arg or "") if last else "",
        "hostname": hostname, "accountcode": channel.variables.get("accountcode", ""),
        "initial_cid_name": row["cid_name"], "initial_cid_num": row["cid_num"], "initial_ip_addr": row["ip_addr"],
        "initial_dest": row["dest"], "initial_dialplan": row["dialplan"], "initial_context": row["context"],
    })
    return {column: row.get(column, "") for column in CHANNEL_COLUMNS}


def like(pattern: str, row: dict[str, str]) -> bool:
    """``show channels like <match>``: a match without ``%`` is searched for
    anywhere (``like '%match%'``); SQL LIKE, ``_`` any one character, ASCII
    case folded (SQLite's LIKE)."""
    if "%" not in pattern:
        pattern = f"%{pattern}%"
    regex = re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern),
                       re.IGNORECASE | re.DOTALL)
    return any(regex.fullmatch(row.get(column, "")) for column in LIKE_COLUMNS)


def write(rows: Iterable[dict[str, str]], columns: Sequence[str], as_: str | None) -> str:
    """The rows as show_function writes them: ``as json``, else delimited (``as delim``/``csv``/none)."""
    rows = list(rows)
    if as_ is not None and as_.lower() == "json":
        if not rows:
            return '{"row_count": 0}\n'
        return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":"), ensure_ascii=False)
    lines = [",".join(columns)] if rows else []
    lines += [",".join(row[column] for column in columns) for row in rows]
    return "".join(f"{line}\n" for line in lines) + f"\n{len(rows)} total.\n"
