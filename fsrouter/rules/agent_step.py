"""Agents at the phone: the `agent:` flow step and the agent fields it uses.

A call centre's agents log in, log out and pause by dialling a feature code
(`*50`, `*51`...) that FreeSWITCH sends to fsrouter like any call; the rules
route it to a flow with an `agent:` step:

    - agent: {action: login}                                   # by caller id
    - agent: {action: pause, reason: lunch}
    - agent: {action: login, identify: {ask: agent/enter_id, pin: agent/enter_pin}}

The step identifies the agent by the calling number (the agent's
`caller_id:`, else the user of its dial string `user/1001`), or asks for the
agent id and PIN (the agent's `pin:`).  The calling number is only as good
as the dialplan makes it: FreeSWITCH takes it from the SIP From header,
which a phone writes, so dialplan/fsrouter_agents.xml sets it from the
user the phone authenticated as (`${user_name}`) first.  The change itself is the runtime's
(it knows the state, and stores it), and the step then says what happened
(`agent/logged_in`, ... `SPOKEN`).  Agents also say here whether they start
logged in (`login: auto`, or the settings' `agent_login`).

Pure: compiling and matching only, no state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import plan
from .queue_settings import spoken
from .templates import Template
from .tree import Map, Node, Scalar

if TYPE_CHECKING:
    from .flows import Draft, FlowCompiler
    from .sections import Entries
    from .shapes import Shapes

ACTIONS = ("login", "logout", "pause", "unpause", "toggle_pause")
LOGIN_MODES = ("manual", "auto")
STEP_KEYS = ("action", "identify", "reason")
IDENTIFY_KEYS = ("ask", "pin")
BY_CALLER_ID = "caller_id"
DEFAULT_PAUSE_REASON = "break"
ASK_ID = "agent/enter_id"
ASK_PIN = "agent/enter_pin"
OUTCOMES = ("logged_in", "logged_out", "paused", "unpaused", "unknown", "refused")
"""What the runtime answers a change with; each is said as `agent/<outcome>`."""
BAD_PIN = "agent/bad_pin"
SPOKEN = (*(f"agent/{outcome}" for outcome in OUTCOMES), BAD_PIN)
"""The prompts an `agent:` step plays itself (checked like written ones)."""

_PIN = re.compile(r"[0-9]{4,12}")
_CALLER_ID = re.compile(r"\+?[0-9A-Za-z_.-]{1,40}")
REASON = re.compile(r"[\w ,.'-]{1,60}")
_DIAL_USER = re.compile(r"user/([^@/]+)(?:@.*)?")
REASON_HINT = "a short reason like break or lunch (letters, digits, spaces, up to 60)"


def login_mode(node: Node, shapes: Shapes, what: str = "login") -> str | None:
    mode = shapes.text(node, what, "one of: " + ", ".join(LOGIN_MODES))
    if mode is not None and mode not in LOGIN_MODES:
        shapes.bad(node, what, "one of: " + ", ".join(LOGIN_MODES))
        return None
    return mode


def agent_desk_fields(fields: Mapping[str, Node], shapes: Shapes, default_login: str) -> dict | None:
    """An agent's `caller_id`, `pin` and `login` as `plan.Agent` fields; None on an error."""
    values: dict = {"caller_id": None, "pin": None, "auto_login": default_login == "auto"}
    ok = True
    if "caller_id" in fields:
        values["caller_id"] = shapes.text(fields["caller_id"], "caller_id", "the number the agent's phone calls from")
        if values["caller_id"] is not None and not _CALLER_ID.fullmatch(values["caller_id"]):
            shapes.bad(fields["caller_id"], "caller_id", "a number like 1001 or +302101234567")
            values["caller_id"] = None
        ok = values["caller_id"] is not None
    if "pin" in fields:
        values["pin"] = shapes.text(fields["pin"], "pin", 'digits, quoted: "4711"')
        if values["pin"] is not None and not _PIN.fullmatch(values["pin"]):
            shapes.bad(fields["pin"], "pin", '4 to 12 digits, quoted: "004711"')
            values["pin"] = None
        ok = ok and values["pin"] is not None
    if "login" in fields:
        mode = login_mode(fields["login"], shapes)
        values["auto_login"] = mode == "auto"
        ok = ok and mode is not None
    return values if ok else None


def unique_caller_ids(entries: Entries, agents: Mapping[str, plan.Agent], shapes: Shapes) -> None:
    """Two agents calling from the same number could not be told apart."""
    seen: dict[str, str] = {}
    for agent in agents.values():
        if agent.caller_id is None:
            continue
        if agent.caller_id in seen:
            node = entries[agent.id][1]
            where = node.get("caller_id") if isinstance(node, Map) else node
            first = entries[seen[agent.caller_id]][0].pos
            shapes.report.error((where or node).pos, f'caller_id "{agent.caller_id}" is also agent '
                                f'"{seen[agent.caller_id]}"\'s (at {first})', "a number of its own per agent")
        else:
            seen[agent.caller_id] = agent.id


def compile_step(flows: FlowCompiler, node: Node, draft: Draft, cont: str | None):
    """`agent:` -> (step, edges), or None after reporting what is wrong."""
    shapes = flows.shapes
    fields = shapes.fields(node, "agent", STEP_KEYS, required=("action",))
    if fields is None or "action" not in fields:
        return None
    action = shapes.text(fields["action"], "agent action", "one of: " + ", ".join(ACTIONS))
    if action is not None and action not in ACTIONS:
        shapes.bad(fields["action"], "agent action", "one of: " + ", ".join(ACTIONS))
        action = None
    reason = ""
    if "reason" in fields:
        reason = shapes.text(fields["reason"], "pause reason", REASON_HINT)
        if reason is not None and not REASON.fullmatch(reason):
            shapes.bad(fields["reason"], "pause reason", REASON_HINT)
            reason = None
        if action is not None and action not in ("pause", "toggle_pause"):
            shapes.bad(fields["reason"], "reason", "a reason only with action: pause or toggle_pause")
            reason = None
    elif action in ("pause", "toggle_pause"):
        reason = DEFAULT_PAUSE_REASON
    ask = pin = None
    if "identify" in fields:
        identified = _identify(flows, fields["identify"])
        if identified is None:
            return None
        ask, pin = identified
    spoken(flows.prompt, node, "agent step", SPOKEN)
    if action is None or reason is None:
        return None
    return plan.AgentDesk(action, reason, ask, pin), {plan.DONE: cont}


def _identify(flows: FlowCompiler, node: Node) -> tuple[Template | None, Template | None] | None:
    """`caller_id`, or `{ask: PROMPT, pin: PROMPT | true | false}` (PIN asked by default)."""
    shapes = flows.shapes
    hint = f"{BY_CALLER_ID}, or {{ask: {ASK_ID}, pin: {ASK_PIN}}}"
    if isinstance(node, Scalar):
        if node.text != BY_CALLER_ID:
            shapes.bad(node, "identify", hint)
            return None
        return None, None
    fields = shapes.fields(node, "identify", IDENTIFY_KEYS, required=("ask",))
    if fields is None or "ask" not in fields:
        return None
    ask = _prompt_or_default(flows, fields["ask"], ASK_ID, "identify ask", allow_off=False)
    pin_node = fields.get("pin", Scalar(True, "true", node.pos))
    pin = _prompt_or_default(flows, pin_node, ASK_PIN, "identify pin", allow_off=True)
    if ask is None or pin is None:
        return None
    return ask, (pin or None)


def _prompt_or_default(flows: FlowCompiler, node: Node, default: str, what: str, *,
                       allow_off: bool) -> Template | bool | None:
    """A prompt id, `true` (the default prompt) or, with `allow_off`, `false`
    (returned as False); None after an error."""
    if isinstance(node, Scalar) and isinstance(node.value, bool):
        if node.value:
            return flows.prompt(Scalar(default, default, node.pos), what)
        if allow_off:
            return False
        flows.shapes.bad(node, what, f"a prompt id like {default}, or true")
        return None
    return flows.prompt(node, what)


def dial_user(dial: str) -> str | None:
    """`user/1001` or `user/1001@domain` -> "1001": the number a desk phone
    registered as that user calls from."""
    found = _DIAL_USER.fullmatch(dial)
    return found.group(1) if found else None


def by_caller_id(agents: Mapping[str, plan.Agent], number: str) -> str | None:
    """The agent calling from `number`: the one declaring it as `caller_id`,
    else the one whose dial string's user it is (when only one is)."""
    if not number:
        return None
    for agent in agents.values():
        if agent.caller_id == number:
            return agent.id
    users = [agent.id for agent in agents.values() if agent.caller_id is None and dial_user(agent.dial) == number]
    return users[0] if len(users) == 1 else None
