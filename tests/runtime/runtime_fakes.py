"""Shared by the queue runtime and call runner tests: a scripted inbound connection, a settable clock, rules."""

import json

from fsrouter.esl.codec import Event
from fsrouter.esl.errors import ESLCommandError

RULES = """
settings: {timezone: UTC, language: en}
lines:
  "5000": {brand: acme, language: en, flow: main}
flows:
  main:
    - queue: support
queues:
  support:
    require: {support: 1}
    max_wait: {after: 2m, then: {hangup: NORMAL_CLEARING}}
  sales:
    require: {sales: 1}
    max_wait: {after: 1m, then: {hangup: NORMAL_CLEARING}}
    no_agents: {hangup: NORMAL_CLEARING}
  billing:
    name: Billing
    require: {support: 1}
    whisper: "{brand}, {queue}, {topic}, waited {waited}"
    max_wait: {after: 2m, then: {hangup: NORMAL_CLEARING}}
agents:
  "1001": {name: Alice, dial: user/1001, skills: {support: 5}}
  "1002": {name: Bob, dial: user/1002, skills: {support: 5}}
"""
"""support and billing (with a whisper), served by 1001 and 1002; sales, with `no_agents`, by nobody."""


class FakeInbound:
    """Records commands; `originates` scripts each bgapi result (text, exception
    or callable run at that moment and returning one of those); `api_results`
    scripts api answers by whole command or by its first word."""

    def __init__(self, *originates, after_answer=()):
        self.originates = list(originates)
        self.commands = []
        self.api_errors = {}
        self.api_results = {}
        self.on_event = None
        self.connected = True
        #: What each answered leg does next, in turn: "CHANNEL_PARK" (the
        #: whisper is over, the default), "CHANNEL_HANGUP_COMPLETE" or "" (nothing).
        self.after_answer = list(after_answer)

    def bgapi(self, cmd, timeout=60.0):
        self.commands.append(("bgapi", cmd, timeout))
        result = self.originates.pop(0)
        if callable(result):
            result = result()
        if isinstance(result, Exception):
            raise result
        next_event = self.after_answer.pop(0) if self.after_answer else "CHANNEL_PARK"
        if result.startswith("+OK") and self.on_event is not None and next_event:
            leg = cmd.split("origination_uuid=")[1].split(",")[0]
            self.on_event(Event({"Event-Name": next_event, "Unique-ID": leg}))
        return Event({"Event-Name": "BACKGROUND_JOB"}, result.encode())

    def api(self, cmd, timeout=5.0):
        self.commands.append(("api", cmd, timeout))
        error = self.api_errors.get(cmd.split()[0])
        if error:
            raise ESLCommandError(f"api {cmd}", error)
        result = self.api_results.get(cmd, self.api_results.get(cmd.split()[0], "+OK"))
        return result() if callable(result) else result

    def apis(self):
        return [c[1] for c in self.commands if c[0] == "api"]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def registrations(*users):
    """`show registrations as json` as FreeSWITCH answers it, with these users registered."""
    rows = [{"reg_user": u, "realm": "example.com", "token": f"{u}-call-id", "url": f"sofia/internal/sip:{u}@h",
             "expires": "1796600218", "network_ip": "10.0.0.9", "network_port": "5060", "network_proto": "udp",
             "hostname": "fs1", "metadata": ""} for u in users]
    return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":")) if rows else '{"row_count": 0}\n'


def sofia(subclass, user):
    header = "user" if subclass == "sofia::expire" else "from-user"
    return Event({"Event-Name": "CUSTOM", "Event-Subclass": subclass, header: user})


def channels(*rows):
    """`show channels ... as json` with these (uuid, presence_data) channels."""
    return json.dumps({"row_count": len(rows), "rows": [{"uuid": u, "name": "sofia/internal/1001@h",
                                                          "presence_data": p} for u, p in rows]})
