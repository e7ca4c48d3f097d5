"""Compile a queue's `transfer` and `survey` blocks: what may happen once
the caller has been bridged to an agent.

```yaml
queues:
  sales:
    transfer:
      codes:                       # the agent keys * and the code on the phone
        "1": {queue: billing, reason: billing dispute}
        "2": {queue: tech, reason: broken router, attended: true}  # stays on until tech answers
      max_transfers: 3             # transfers per call; default 3
      over_cap: {queue: supervisor}  # where a call over the cap goes instead
      keep_arrival: false          # true: wait from the first arrival, not the transfer
    survey: {prompt: survey/rate, second: survey/resolved, keys: "12345", thanks: survey/thanks}
```

A `transfer` under `settings` is the block of every queue without its own.
A code is one digit: FreeSWITCH's `bind_meta_app` binds `*` followed by a
single key 0-9 (switch_ivr_bind_dtmf_meta_session).  Each mistake is
reported at its line, so the runtime never meets a YAML shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import plan
from .queue_settings import spoken
from .shapes import Shapes
from .templates import Template
from .tree import Node

TRANSFER_KEYS = ("codes", "max_transfers", "over_cap", "keep_arrival")
CODE_KEYS = ("queue", "reason", "attended")
_CODE_REQUIRED = ("queue", "reason")
SURVEY_KEYS = ("prompt", "second", "keys", "thanks")
STOCK_SURVEY_PROMPT, STOCK_SURVEY_KEYS = "survey/rate", "12345"
"""sounds/: "Press 1 for not at all, up to 5 for very satisfied.": right for these keys only."""
TRANSFER_PROMPT = "queue/transfer"
"""What a transferred caller hears before the music of the queue they go to."""
MAX_TRANSFERS = 20
_CODE = re.compile(r"[0-9]")
_CODE_HINT = 'one digit 0-9, quoted: "1" (the agent keys *1)'
_KEYS = re.compile(r"[0-9]{1,10}")
_KEYS_HINT = 'the keys that are scores, quoted: "12345"'
_REASON = re.compile(r"[^\x00-\x1f\x7f]{1,80}")


class AfterBridge:
    """Reads `transfer` and `survey`; `queue_name` resolves a queue reference
    (reporting an undefined one), `prompt` checks and records a prompt id."""

    def __init__(self, shapes: Shapes, queue_name: Callable[[Node], str | None],
                 prompt: Callable[[Node, str], Template | None]) -> None:
        self.shapes = shapes
        self.queue_name = queue_name
        self.prompt = prompt

    def transfer(self, node: Node) -> plan.TransferSettings | None:
        fields = self.shapes.fields(node, "transfer", TRANSFER_KEYS, required=("codes",))
        if fields is None or "codes" not in fields:
            return None
        codes = self.codes(fields["codes"])
        values = self.shapes.read(fields, {
            "max_transfers": ("max_transfers",
                              lambda n: self.shapes.integer(n, "transfer max_transfers", 1, MAX_TRANSFERS)),
            "over_cap": ("over_cap", self.over_cap),
            "keep_arrival": ("keep_arrival", lambda n: self.flag(n, "transfer keep_arrival")),
        })
        if codes is None or values is None:
            return None
        spoken(self.prompt, node, "transfer", [TRANSFER_PROMPT])
        return plan.TransferSettings(plan.frozen_map(codes), **values)

    def codes(self, node: Node) -> dict[str, plan.TransferCode] | None:
        mapping = self.shapes.mapping(node, "transfer codes", '{"1": {queue: billing, reason: billing dispute}}')
        if mapping is None:
            return None
        codes: dict[str, plan.TransferCode] | None = {}
        for key, value in mapping.entries:
            code = self.code(value)
            if not _CODE.fullmatch(key.text):
                self.shapes.report.error(key.pos, f'bad transfer code "{key.text}"', _CODE_HINT)
                codes = None
            elif code is None:
                codes = None
            elif codes is not None:
                codes[key.text] = code
        if codes == {}:
            self.shapes.report.error(node.pos, "transfer codes is empty", _CODE_HINT)
            return None
        return codes

    def code(self, node: Node) -> plan.TransferCode | None:
        fields = self.shapes.fields(node, "transfer code", CODE_KEYS, required=_CODE_REQUIRED)
        if fields is None or any(key not in fields for key in _CODE_REQUIRED):
            return None
        attended = self.flag(fields["attended"], "transfer attended") if "attended" in fields else False
        queue = self.queue_name(fields["queue"])
        reason = self.shapes.text(fields["reason"], "transfer reason", "a short text, said in the whisper")
        if reason is not None and not _REASON.fullmatch(reason):
            self.shapes.bad(fields["reason"], "transfer reason", "1 to 80 characters, no control characters")
            reason = None
        if queue is None or reason is None or attended is None:
            return None
        return plan.TransferCode(queue, reason, attended)

    def over_cap(self, node: Node) -> str | None:
        fields = self.shapes.fields(node, "transfer over_cap", ("queue",), required=("queue",))
        return self.queue_name(fields["queue"]) if fields and "queue" in fields else None

    def flag(self, node: Node, what: str) -> bool | None:
        value = getattr(node, "value", None)
        if isinstance(value, bool):
            return value
        self.shapes.bad(node, what, "true or false")
        return None

    def survey(self, node: Node) -> plan.SurveySettings | None:
        fields = self.shapes.fields(node, "survey", SURVEY_KEYS, required=("prompt",))
        if fields is None or "prompt" not in fields:
            return None
        values = self.shapes.read(fields, {
            "prompt": ("prompt", lambda n: self.prompt(n, "survey prompt")),
            "second": ("second", lambda n: self.prompt(n, "survey second")),
            "keys": ("keys", self.keys),
            "thanks": ("thanks", lambda n: self.prompt(n, "survey thanks")),
        })
        if values is None:
            return None
        survey = plan.SurveySettings(**values)
        if survey.keys != STOCK_SURVEY_KEYS and survey.prompt.source == STOCK_SURVEY_PROMPT:
            self.shapes.report.warning(
                fields["keys"].pos, f'the stock prompt {STOCK_SURVEY_PROMPT} names the keys 1 to 5, '
                f'not "{survey.keys}"', "a prompt of your own that names the keys")
        return survey

    def keys(self, node: Node) -> str | None:
        keys = self.shapes.text(node, "survey keys", _KEYS_HINT)
        if keys is not None and not (_KEYS.fullmatch(keys) and len(set(keys)) == len(keys)):
            self.shapes.bad(node, "survey keys", _KEYS_HINT + ", each digit once")
            return None
        return keys
