"""FreeSWITCH's little parsing rules, so the simulator reads arguments as it does.

FreeSWITCH reads numbers with C's ``atoi`` (leading digits, else 0), booleans
with ``switch_true`` and hangup causes with ``switch_channel_str2cause``; an
argument fsrouter gets subtly wrong must fail in the simulator the way it
would in FreeSWITCH, not raise a Python exception.
"""

from __future__ import annotations

import re

#: Q.850 codes of the hangup causes (switch_channel.c CAUSE_CHART, the common part).
Q850 = {
    "UNALLOCATED_NUMBER": 1, "NO_ROUTE_TRANSIT_NET": 2, "NO_ROUTE_DESTINATION": 3,
    "CHANNEL_UNACCEPTABLE": 6, "CALL_AWARDED_DELIVERED": 7, "NORMAL_CLEARING": 16, "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18, "NO_ANSWER": 19, "SUBSCRIBER_ABSENT": 20, "CALL_REJECTED": 21,
    "NUMBER_CHANGED": 22, "REDIRECTION_TO_NEW_DESTINATION": 23, "EXCHANGE_ROUTING_ERROR": 25,
    "DESTINATION_OUT_OF_ORDER": 27, "INVALID_NUMBER_FORMAT": 28, "FACILITY_REJECTED": 29,
    "RESPONSE_TO_STATUS_ENQUIRY": 30, "NORMAL_UNSPECIFIED": 31, "NORMAL_CIRCUIT_CONGESTION": 34,
    "NETWORK_OUT_OF_ORDER": 38, "NORMAL_TEMPORARY_FAILURE": 41, "SWITCH_CONGESTION": 42,
    "ACCESS_INFO_DISCARDED": 43, "REQUESTED_CHAN_UNAVAIL": 44, "FACILITY_NOT_SUBSCRIBED": 50,
    "OUTGOING_CALL_BARRED": 52, "INCOMING_CALL_BARRED": 54, "BEARERCAPABILITY_NOTAUTH": 57,
    "BEARERCAPABILITY_NOTAVAIL": 58, "SERVICE_UNAVAILABLE": 63, "BEARERCAPABILITY_NOTIMPL": 65,
    "CHAN_NOT_IMPLEMENTED": 66, "FACILITY_NOT_IMPLEMENTED": 69, "SERVICE_NOT_IMPLEMENTED": 79,
    "INVALID_CALL_REFERENCE": 81, "INCOMPATIBLE_DESTINATION": 88, "INVALID_MSG_UNSPECIFIED": 95,
    "MANDATORY_IE_MISSING": 96, "MESSAGE_TYPE_NONEXIST": 97, "WRONG_MESSAGE": 98, "IE_NONEXIST": 99,
    "INVALID_IE_CONTENTS": 100, "WRONG_CALL_STATE": 101, "RECOVERY_ON_TIMER_EXPIRE": 102,
    "MANDATORY_IE_LENGTH_ERROR": 103, "PROTOCOL_ERROR": 111, "INTERWORKING": 127,
    "ORIGINATOR_CANCEL": 487, "CRASH": 700, "SYSTEM_SHUTDOWN": 701, "LOSE_RACE": 502,
    "MANAGER_REQUEST": 503, "BLIND_TRANSFER": 600, "ATTENDED_TRANSFER": 601, "ALLOTTED_TIMEOUT": 602,
    "USER_CHALLENGE": 603, "MEDIA_TIMEOUT": 604, "PICKED_OFF": 605, "USER_NOT_REGISTERED": 606,
    "PROGRESS_TIMEOUT": 607, "GATEWAY_DOWN": 609,
}


def atoi(text: str | None) -> int:
    """C atoi: the leading (signed) integer, 0 if there is none."""
    m = re.match(r"\s*[-+]?\d+", text or "")
    return int(m.group()) if m else 0


def switch_true(text: str | None) -> bool:
    """switch_true: yes/on/true/t/enabled/active/allow, or a non-zero number."""
    value = (text or "").strip().lower()
    return value in ("yes", "on", "true", "t", "enabled", "active", "allow") or atoi(value) != 0


def hangup_cause(text: str | None) -> str:
    """switch_channel_str2cause: a cause name or its Q.850 number; NORMAL_CLEARING otherwise."""
    name = (text or "").strip().upper()
    if name.isdigit():
        return next((cause for cause, code in Q850.items() if code == int(name)), "NORMAL_CLEARING")
    return name if name in Q850 else "NORMAL_CLEARING"
