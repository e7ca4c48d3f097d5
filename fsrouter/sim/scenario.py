"""Scenarios: batches of scripted calls, and a report of what each caller went through.

A scenario (YAML, loaded by `load_scenario`) lists groups of calls::

    calls:
      - name: wrong key, then billing
        count: 2                      # calls in this group (default 1)
        destination: "5000"
        caller_id_number: "+3069400000{n}"   # {n}: the call's number in its group, from 1
        caller_id_name: "Demo caller {n}"
        start_after: 0                # sim seconds after the scenario starts (default 0)
        inter_arrival: 2              # sim seconds between this group's calls (default 0)
        keys:                         # the key plan, see fsrouter.sim.caller
          - {press: "9", after_prompt: menu/main}
          - {press: "1", after_prompt: menu/main, occurrence: 2}
        hang_up_after: 60             # sim seconds after answer (optional)

`run_scenario` places the calls against fsrouter's outbound listener and
returns a `Report`: per call the path it took (prompts heard, keys consumed,
where it went), how it ended, and totals.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from fsrouter.sim.call import SimCall
from fsrouter.sim.caller import Action, CallerScript, HangUp, Press
from fsrouter.sim.switch import Switch

_GROUP_KEYS = {"name", "count", "destination", "caller_id_number", "caller_id_name", "start_after",
               "inter_arrival", "keys", "hang_up_after"}
_TRIGGER_KEYS = {"at", "after_prompt", "after_app_count", "occurrence", "delay"}


class ScenarioError(ValueError):
    """The scenario is malformed; the message says where and what was expected."""


def load_scenario(path: str | os.PathLike) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        try:
            spec = yaml.safe_load(f)
        except yaml.YAMLError as exc:
            raise ScenarioError(f"{os.fspath(path)}: not YAML: {exc}") from None
    if not isinstance(spec, dict):
        raise ScenarioError(f"{os.fspath(path)}: a scenario is a mapping with a 'calls' list")
    return spec


@dataclass(frozen=True)
class PlannedCall:
    group: str
    start: float  #: sim seconds after the scenario starts
    script: CallerScript


def plan(spec: Mapping[str, Any]) -> list[PlannedCall]:
    """The calls a scenario places, in starting order; raises ScenarioError."""
    if set(spec) - {"calls"} or not isinstance(spec.get("calls"), list):
        raise ScenarioError("a scenario has one key, 'calls', a list of call groups")
    planned = []
    for index, group in enumerate(spec["calls"], 1):
        where = f"calls[{index}]"
        if not isinstance(group, dict):
            raise ScenarioError(f"{where}: expected a mapping")
        unknown = set(group) - _GROUP_KEYS
        if unknown:
            raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_GROUP_KEYS)}")
        name = str(group.get("name", where))
        actions = tuple(_action(entry, f"{where}.keys[{i}]") for i, entry in enumerate(group.get("keys") or [], 1))
        if group.get("hang_up_after") is not None:
            actions += (HangUp(at=_number(group["hang_up_after"], f"{where}.hang_up_after")),)
        start = _number(group.get("start_after", 0), f"{where}.start_after")
        gap = _number(group.get("inter_arrival", 0), f"{where}.inter_arrival")
        for n in range(1, int(_number(group.get("count", 1), f"{where}.count")) + 1):
            script = CallerScript(
                destination=str(group.get("destination", "5000")),
                caller_id_number=str(group.get("caller_id_number", "+302101234567")).format(n=n),
                caller_id_name=str(group.get("caller_id_name", "Sim Caller")).format(n=n),
                actions=actions,
            )
            planned.append(PlannedCall(name, start + (n - 1) * gap, script))
    return sorted(planned, key=lambda p: p.start)


def _action(entry: Any, where: str) -> Action:
    if not isinstance(entry, dict) or ("press" in entry) == ("hang_up" in entry):
        raise ScenarioError(f"{where}: expected {{press: KEYS, ...}} or {{hang_up: true, ...}}")
    allowed = _TRIGGER_KEYS | ({"press", "interval"} if "press" in entry else {"hang_up"})
    unknown = set(entry) - allowed
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    trigger = {k: v for k, v in entry.items() if k in _TRIGGER_KEYS | {"interval"}}
    try:
        if "press" in entry:
            return Press(str(entry["press"]), **trigger)
        cause = entry["hang_up"] if isinstance(entry["hang_up"], str) else "NORMAL_CLEARING"
        return HangUp(cause=cause, **trigger)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ScenarioError(f"{where}: expected a number >= 0 (sim seconds or a count), got {value!r}")
    return float(value)


# ------------------------------------------------------------ report


@dataclass
class CallSummary:
    group: str
    uuid: str
    destination: str
    caller_id_number: str
    #: Prompts heard (as prompt ids), "[keys]" consumed during each, and where the call went.
    path: list[str]
    transferred_to: str | None
    hangup_cause: str | None
    hung_up_by: str | None
    continued_dialplan: bool
    answered_at: float | None
    duration: float | None
    finished: bool
    errors: list[str]

    def line(self) -> str:
        end = (f"{self.hangup_cause} by {self.hung_up_by}" if self.hangup_cause else "still up")
        if self.continued_dialplan:
            end += ", dialplan fallback"
        duration = f"{self.duration:.1f}s" if self.duration is not None else "-"
        return " | ".join([self.group, f"{self.destination} from {self.caller_id_number}", ", ".join(self.path),
                           end, duration])


@dataclass
class Report:
    calls: list[CallSummary] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        calls = self.calls
        return {
            "placed": len(calls),
            "finished": sum(c.finished for c in calls),
            "answered": sum(c.answered_at is not None for c in calls),
            "transferred": sum(c.transferred_to is not None for c in calls),
            "hung_up_by_caller": sum(c.hung_up_by == "caller" for c in calls),
            "hung_up_by_fsrouter": sum(c.hung_up_by == "fsrouter" for c in calls),
            "dialplan_fallback": sum(c.continued_dialplan for c in calls),
        }

    def format(self) -> str:
        totals = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.totals.items())
        return "\n".join([*(c.line() for c in self.calls), f"totals: {totals}"])


def summarize(group: str, call: SimCall) -> CallSummary:
    return CallSummary(
        group=group, uuid=call.uuid, destination=call.script.destination,
        caller_id_number=call.script.caller_id_number, path=call_path(call),
        transferred_to=call.transferred_to, hangup_cause=call.hangup_cause, hung_up_by=call.hung_up_by,
        continued_dialplan=call.continued_dialplan, answered_at=call.answered_at,
        duration=call.ended_at, finished=call.done, errors=list(call.errors),
    )


def call_path(call: SimCall) -> list[str]:
    """What fsrouter made the caller go through, from the applications it ran."""
    path = []
    for run in call.esl_apps:
        if run.name in ("playback", "play_and_get_digits") and run.arg:
            sound = run.arg.split(" ")[5] if run.name == "play_and_get_digits" else run.arg
            path += [prompt_id(s) for s in sound.removeprefix("file_string://").split("!")]
            keys = "".join(d for t, d in call.digits if run.start <= t <= (run.end or t))
            if keys:
                path[-1] += f" [{keys}]"
        elif run.name == "transfer":
            path.append(f"-> transfer {run.arg}")
        elif run.name == "hangup":
            path.append(f"-> hangup {run.arg or 'NORMAL_CLEARING'}")
    return path


def prompt_id(sound: str) -> str:
    """``/x/sounds/en/menu/8000/main.wav`` -> ``menu/main``; streams keep their scheme."""
    if "://" in sound:
        return sound.partition("://")[0]
    parts = [p for p in os.path.splitext(sound)[0].split("/") if p and not p.isdigit()]
    return "/".join(parts[-2:])


def run_scenario(spec: Mapping[str, Any], target: tuple[str, int] | None = None, time_scale: float = 1.0, *,
                 switch: Switch | None = None, timeout: float | None = None) -> Report:
    """Place the scenario's calls and wait for them (at most `timeout` real seconds).

    Pass `switch` to place the calls from an existing simulated switch (the
    one whose inbound listener fsrouter is connected to); otherwise a new one
    is made for `target` with `time_scale` and closed at the end.
    """
    calls = plan(spec)
    own = switch is None
    if own:
        if target is None:
            raise ValueError("run_scenario needs a target (fsrouter's outbound listener) or a switch")
        switch = Switch(target, time_scale=time_scale)
    try:
        started = switch.clock.now()
        placed = []
        for planned in calls:
            switch.clock.sleep(started + planned.start - switch.clock.now())
            placed.append((planned.group, switch.place_call(planned.script)))
        deadline = None if timeout is None else time.monotonic() + timeout
        for _, call in placed:
            call.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return Report([summarize(group, call) for group, call in placed])
    finally:
        if own:
            switch.close()
