"""Compile a queue's `announce` and `callback` blocks into typed settings.

They are read once here, with every mistake reported at its line, so the
call machine and the callback dialer get frozen values and never meet a
YAML shape at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import phonenumbers

from .. import speech
from ..callback_numbers import DEFAULT_TYPES, NumberPolicy, PolicyError, number_pattern, number_type, region_code
from . import plan
from .conditions import TestCompiler
from .shapes import Shapes
from .templates import Template
from .tree import Node, Scalar, describe

ANNOUNCE_KEYS = ("position", "wait", "exit")
DEFAULT_WAIT_EVERY = 90.0
CALLBACK_KEYS = (
    "key", "offer_when", "region", "allow", "deny", "allow_patterns", "retry", "dial_after", "dial",
    "caller_id", "whisper", "intro", "window",
)
ALLOW_KEYS = ("regions", "types")
MAX_SPOKEN_NUMBER = speech.MAX_NUMBER
"""The highest number there is a prompt for (numbers/0..60)."""

ANNOUNCED = ("queue/you_are_caller", "queue/thank_you")
WAIT_WORDS = ("queue/estimated_wait", "queue/less_than_a_minute", "queue/more_than")
CALLBACK_DIALOG = ("callback/offer", "callback/keep_place", "callback/confirm_number", "callback/confirm_keys",
                   "callback/enter_number", "callback/invalid_number", "callback/refused", "callback/booked")
"""What `flow.announce` and `flow.callback` play in every language; the
numbers, minutes and keys they compose per language (`fsrouter.speech`) are
checked by `rules.sounds` for the languages that can reach the queue."""

_REGION_HINT = "region: GR (the country whose national numbers callers key), or allow: {regions: [GR]}"


@dataclass
class QueueSettings:
    shapes: Shapes
    prompt: Callable[[Node, str], Template | None]
    """Checks a prompt id and records it for the sound-file check."""
    line_countries: frozenset[str] = frozenset()
    """The countries of the lines' E.164 numbers (see `countries`)."""
    tests: TestCompiler | None = None
    """Compiles a callback `window` (the same tests as a route's `match`)."""

    def announce(self, node: Node) -> plan.AnnounceSettings | None:
        fields = self.shapes.fields(node, "announce", ANNOUNCE_KEYS, required=("position",))
        if fields is None or "position" not in fields:
            return None
        timing = self.shapes.block(fields["position"], "announce position", {
            "first": ("first", lambda n: self.shapes.duration(n, "announce position first")),
            "every": ("every", lambda n: self.shapes.duration(n, "announce position every")),
            "up_to": ("up_to", lambda n: self.shapes.integer(n, "announce position up_to", 1, MAX_SPOKEN_NUMBER)),
        })
        wait = self.shapes.block(fields["wait"], "announce wait", {
            "every": ("wait_every", lambda n: self.shapes.duration(n, "announce wait every")),
        }) if "wait" in fields else {}
        exit_prompt = self.prompt(fields["exit"], "announce exit") if "exit" in fields else None
        if timing is None or wait is None or ("exit" in fields and exit_prompt is None):
            return None
        self.spoken(node, "announcement", ANNOUNCED)
        if "wait" in fields:
            self.spoken(fields["wait"], "wait announcement", WAIT_WORDS)
        if "wait" in fields:
            wait.setdefault("wait_every", DEFAULT_WAIT_EVERY)
        return plan.AnnounceSettings(**timing, **wait, exit=exit_prompt)

    def callback(self, node: Node) -> plan.CallbackSettings | None:
        fields = self.shapes.fields(node, "callback", CALLBACK_KEYS, required=("offer_when",))
        if fields is None or "offer_when" not in fields:
            return None
        offer = self.offer_when(fields["offer_when"])
        retry = self.retry(fields["retry"]) if "retry" in fields else {}
        values = self.shapes.read(fields, {
            "key": ("key", self.key),
            "dial_after": ("dial_after", lambda n: self.shapes.duration(n, "callback dial_after", zero=True)),
            "dial": ("dial", lambda n: self.shapes.dial(n, "callback dial", "a dial string like "
                                                       "sofia/gateway/NAME/{number}")),
            "caller_id": ("caller_id", lambda n: self.shapes.template(n, "callback caller_id")),
            "whisper": ("whisper", lambda n: self.shapes.template(n, "callback whisper")),
            "intro": ("intro", lambda n: self.prompt(n, "callback intro")),
            "window": ("window", lambda n: self.tests.mapping(n, "callback window")),
        })
        policy = self.policy(node, fields)
        if offer is None or retry is None or values is None or policy is None:
            return None
        settings = plan.CallbackSettings(policy, **offer, **retry, **values)
        if "intro" not in fields:
            self.prompt(_at(node, settings.intro), "callback intro")
        self.spoken(node, "callback dialog", CALLBACK_DIALOG)
        return settings

    def spoken(self, node: Node, what: str, prompt_ids: Iterable[str]) -> None:
        spoken(self.prompt, node, what, prompt_ids)

    def key(self, node: Node) -> str | None:
        return self.shapes.key(node, "callback key", "1")

    def offer_when(self, node: Node) -> dict | None:
        offer = self.shapes.block(node, "offer_when", {
            "wait_over": ("offer_wait_over", lambda n: self.shapes.duration(n, "offer_when wait_over")),
            "position_over": ("offer_position_over",
                              lambda n: self.shapes.integer(n, "offer_when position_over", 0, 1000)),
        })
        if offer == {}:
            self.shapes.report.error(node.pos, 'offer_when has neither "wait_over" nor "position_over"',
                                     "offer_when: {wait_over: 3m} and/or {position_over: 5}")
            return None
        return offer

    def retry(self, node: Node) -> dict | None:
        return self.shapes.block(node, "callback retry", {
            "attempts": ("attempts", lambda n: self.shapes.integer(n, "callback retry attempts", 1, 20)),
            "every": ("retry_every", lambda n: self.shapes.duration(n, "callback retry every")),
        })

    def policy(self, node: Node, fields: dict[str, Node]) -> NumberPolicy | None:
        """The numbers the queue may call back, from `allow`, `deny` and
        `allow_patterns`, reading keyed numbers as the home region dials
        them.  Every bad item is reported at its own line; a missing key
        means the default, an empty list means none."""
        allow = self.shapes.fields(fields["allow"], "callback allow", ALLOW_KEYS) if "allow" in fields else {}
        regions = self._listed(allow, "regions", "callback allow regions", "region codes such as [GR]", region_code)
        types = self._listed(allow, "types", "callback allow types", "number types such as [fixed_line, mobile]",
                             number_type)
        deny = self._listed(fields, "deny", "callback deny", "quoted E.164 globs such as ['+30690*']",
                            lambda v: number_pattern(v, allowing=False))
        allowed = self._listed(fields, "allow_patterns", "callback allow_patterns",
                               "quoted E.164 globs such as ['+30800*']", lambda v: number_pattern(v, allowing=True))
        home = self._home_region(node, fields, regions)
        if None in (allow, regions, types, deny, allowed, home):
            return None
        return NumberPolicy(
            home,
            frozenset(regions) if "regions" in allow else None,
            frozenset(types) if "types" in allow else DEFAULT_TYPES,
            deny,
            allowed,
        )

    def _listed(self, fields: dict[str, Node] | None, key: str, what: str, expected: str,
                check: Callable[[object], str]) -> tuple[str, ...] | None:
        """The items of list `fields[key]`, each passed through `check`; ()
        when absent, None (every bad item reported) when anything is bad."""
        if fields is None:
            return None
        if key not in fields:
            return ()
        items = self.shapes.sequence(fields[key], what, f"a list of {expected}")
        if items is None:
            return None
        values = [self._policy_item(item, check) for item in items]
        return None if None in values else tuple(values)

    def _policy_item(self, node: Node, check: Callable[[object], str]) -> str | None:
        try:
            if not isinstance(node, Scalar):
                raise PolicyError(f"expected a single value, got {describe(node)}")
            return check(node.value)
        except PolicyError as exc:
            self.shapes.report.error(node.pos, f"bad callback number policy: {exc}")
            return None

    def _home_region(self, node: Node, fields: dict[str, Node], regions: tuple[str, ...] | None) -> str | None:
        """`region`, else the first of `allow.regions`, else the country of
        the lines if they are all in one."""
        if "region" in fields:
            return self._policy_item(fields["region"], _home_region_code)
        if regions:
            return regions[0]
        if regions is None:
            return None  # `allow.regions` was bad, and reported
        if len(self.line_countries) == 1:
            return next(iter(self.line_countries))
        self.shapes.report.error(
            node.pos, 'callback has no "region" and the lines are not all in one country', _REGION_HINT)
        return None


def _home_region_code(value: object) -> str:
    try:
        return region_code(value)
    except PolicyError as exc:
        raise PolicyError(f"home region: {exc}") from None


def countries(numbers: Iterable[str]) -> frozenset[str]:
    """The countries of the E.164 numbers among `numbers` (lines such as
    "+302101234567"; extensions like "5000" name no country)."""
    found = set()
    for number in numbers:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(number))
        except phonenumbers.NumberParseException:
            continue
        if region in phonenumbers.SUPPORTED_REGIONS:  # not "001", +800's non-geographic entity
            found.add(region)
    return frozenset(found)


def spoken(prompt: Callable[[Node, str], Template | None], node: Node, what: str,
           prompt_ids: Iterable[str]) -> None:
    """Prompts the call machine plays itself for a block: their sound files
    are checked like written ones (`prompt`), reported at the block (`node`)."""
    for prompt_id in prompt_ids:
        prompt(_at(node, Template.parse(prompt_id)), what)


def _at(node: Node, template: Template) -> Node:
    """A default prompt as if written at `node`, so its sound check points there."""
    return Scalar(template.source, template.source, node.pos)
