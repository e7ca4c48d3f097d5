"""Validation of the number a callback will be dialled to (need 2 of DESIGN.md).

A caller waiting in a queue may ask to be called back instead. The number is
their own caller id (read back for confirmation) or keyed in on the phone
keypad. Whatever number we accept here, an unattended dialer will later call
from our trunk at our expense, so this module is a toll-fraud gate first and a
parser second:

* Only numbers that libphonenumber considers *valid full numbers* (a known,
  assigned range of a numbering plan) can ever be accepted.  Everything else
  -- short codes, service numbers, garbage -- is refused, and no policy setting
  can change that.  Emergency numbers (112, 911, 999, 100, ...) are refused
  before anything else is looked at: a dialer must never place calls to them.
* Premium-rate and shared-cost numbers are refused unless the queue's policy
  names those types explicitly (the default admits fixed lines and mobiles).
* Numbers outside the allowed regions are refused ("foreign").  Regions are
  the ones libphonenumber assigns to the number, so +44 7624 (Isle of Man) is
  IM, not GB, and +1 876 (Jamaica) is JM, not US -- both classic
  callback-fraud destinations that share a country code with a "safe" one.
* ``deny`` glob patterns on the E.164 form refuse whatever they match, even a
  number an ``allow`` pattern would admit; ``allow`` patterns admit a valid
  number whose region or type would otherwise be refused (e.g. the company's
  own toll-free line) but never an invalid one.

The module is sans-IO (no clock, sockets, DB or gevent): the flow layer calls
:func:`validate` with the text it got from FreeSWITCH or from DTMF and acts on
the :class:`Verdict` -- speak :data:`REASON_PROMPTS` for a refusal, read
``digits_for_readback`` back one by one for confirmation, store ``e164``.

It is a leaf: both the rules checker (which reads a queue's ``callback``
block, e.g. ``allow: {regions: [GR], types: [mobile, fixed_line]}``,
``deny: ["+30690*"]``, ``allow_patterns: ["+30800*"]``, and reports each bad
item at its line with the messages of :func:`region_code`,
:func:`number_type` and :func:`number_pattern`) and the call flow import it,
and it imports nothing of fsrouter's.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from phonenumbers import shortnumberinfo

__all__ = [
    "DEFAULT_TYPES",
    "NUMBER_TYPES",
    "REASONS",
    "REASON_PROMPTS",
    "NumberPolicy",
    "PolicyError",
    "number_pattern",
    "number_type",
    "region_code",
    "Source",
    "Verdict",
    "validate",
]

Source = Literal["caller_id", "keyed"]

#: The vocabulary of number types a policy may name, mapped to libphonenumber's
#: types.  A fixed list (rather than "whatever PhoneNumberType has") so a typo in
#: the rules is an error at check time instead of a silently empty allow-list.
NUMBER_TYPES: Mapping[str, int] = MappingProxyType(
    {
        "fixed_line": PhoneNumberType.FIXED_LINE,
        "mobile": PhoneNumberType.MOBILE,
        # Regions such as the US cannot tell fixed from mobile by the number;
        # such numbers count as both (see _type_allowed).
        "fixed_line_or_mobile": PhoneNumberType.FIXED_LINE_OR_MOBILE,
        "voip": PhoneNumberType.VOIP,
        "toll_free": PhoneNumberType.TOLL_FREE,
        "personal_number": PhoneNumberType.PERSONAL_NUMBER,
        "pager": PhoneNumberType.PAGER,
        "uan": PhoneNumberType.UAN,
        "voicemail": PhoneNumberType.VOICEMAIL,
        "premium_rate": PhoneNumberType.PREMIUM_RATE,
        "shared_cost": PhoneNumberType.SHARED_COST,
    }
)
_TYPE_NAME_BY_VALUE: Mapping[int, str] = MappingProxyType(
    {value: name for name, value in NUMBER_TYPES.items()}
)

#: What a policy admits when it does not say: people's own phones.
DEFAULT_TYPES: frozenset[str] = frozenset({"fixed_line", "mobile"})

#: Every reason code a refusing :class:`Verdict` can carry.
REASONS: tuple[str, ...] = (
    "empty",  # nothing usable: no input, or caller id withheld/anonymous/placeholder
    "not_a_number",  # letters, SIP user names, '*', stray symbols
    "invalid",  # number-shaped but not an assigned full number (too short, bad range)
    "foreign",  # valid, but its region is not allowed
    "premium_rate",  # valid, premium-rate, not allowed
    "shared_cost",  # valid, shared-cost, not allowed
    "short_code",  # emergency or other short/service number: never dialled
    "type_not_allowed",  # valid, some other type the policy does not admit
    "denied",  # matched a deny pattern
)

#: Prompt to speak for each reason.  The caller can fix an input problem
#: (re-key the number), but not a refusal, so the two get different prompts:
#: a refusal must not invite endless retries of the same premium number.
REASON_PROMPTS: Mapping[str, str] = MappingProxyType(
    {
        "empty": "callback/invalid_number",
        "not_a_number": "callback/invalid_number",
        "invalid": "callback/invalid_number",
        "foreign": "callback/refused",
        "premium_rate": "callback/refused",
        "shared_cost": "callback/refused",
        "short_code": "callback/refused",
        "type_not_allowed": "callback/refused",
        "denied": "callback/refused",
    }
)

# Caller-id values that mean "no number" (FreeSWITCH passes through what the
# trunk or phone sent; these are the spellings seen in the wild).
_WITHHELD = frozenset(
    {
        "anonymous",
        "anonymous@anonymous.invalid",
        "restricted",
        "private",
        "withheld",
        "unknown",
        "unavailable",
        "blocked",
        "none",
        "null",
    }
)
_ASCII_DIGITS = frozenset("0123456789")
# Visual separators a caller id might carry.  Anything else (letters, ';', '@',
# '*', '#', non-ASCII digits) makes it "not a number": libphonenumber would
# happily turn letters into keypad digits ("sipp" -> 7477) or cut off an
# extension, and a dialer must dial exactly what we validated.
_CALLER_ID_SEPARATORS = frozenset(" -.()/")
# E.164 is at most 15 digits; allow for an international prefix such as 00 or
# 011 and stop there, which also keeps libphonenumber's regexes off huge inputs.
_MAX_DIGITS = 20

# Glob patterns over E.164: '+', digits, '*', '?', and digit classes like
# [0-5] or [!9].  Nothing else can occur in an E.164 string, so anything else
# in a pattern is a mistake worth reporting (e.g. a space, or a missing '+').
MAX_STARS = 2
"""Wildcards '*' a number pattern may hold (see `number_pattern`)."""
_PATTERN_RE = re.compile(r"\+(?:[0-9*?]|\[!?(?:[0-9](?:-[0-9])?)+\])+")

# Common ways of spelling a region that are not ISO 3166 alpha-2 codes.
_REGION_HINTS = {"UK": "GB", "EL": "GR"}


# --------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------


class PolicyError(ValueError):
    """A value a callback policy cannot hold; the message says what is wrong
    and what was expected.  The rules checker reports it at the offending
    node (`rules/queue_settings.py`), one error per bad item."""


def _describe(value: object) -> str:
    """Name a YAML value for an error message, flagging YAML's usual traps."""
    if isinstance(value, bool):
        return f"boolean {value}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"string {value!r}"
    return type(value).__name__


def region_code(value: object) -> str:
    """The ISO 3166 code `value` names (any case), or `PolicyError`."""
    if not isinstance(value, str):
        hint = ""
        if value is False:
            hint = " (YAML reads an unquoted NO as false: write 'NO' for Norway)"
        raise PolicyError(f"expected a region code string such as GR, got {_describe(value)}{hint}")
    code = value.strip().upper()
    if code in phonenumbers.SUPPORTED_REGIONS:
        return code
    hint = f"; did you mean {_REGION_HINTS[code]!r}?" if code in _REGION_HINTS else ""
    raise PolicyError(f"unknown region {value!r}: expected an ISO 3166 alpha-2 code such as GR or GB{hint}")


def number_type(value: object) -> str:
    """The `NUMBER_TYPES` name `value` spells (any case), or `PolicyError`."""
    expected = ", ".join(NUMBER_TYPES)
    if not isinstance(value, str):
        raise PolicyError(f"expected a number type name, got {_describe(value)}; expected one of: {expected}")
    name = value.strip().lower()
    if name in NUMBER_TYPES:
        return name
    close = difflib.get_close_matches(name, NUMBER_TYPES, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise PolicyError(f"unknown number type {value!r}: expected one of: {expected}{hint}")


def number_pattern(value: object, *, allowing: bool) -> str:
    """`value` if it is an E.164 glob a deny (or, `allowing`, an allow) list
    may hold, else `PolicyError`."""
    if not isinstance(value, str):
        hint = ""
        if isinstance(value, int) and not isinstance(value, bool):
            hint = " (YAML reads an unquoted +number as an integer and drops the '+': quote it)"
        raise PolicyError(f"expected a quoted E.164 glob such as '+30690*', got {_describe(value)}{hint}")
    if not _PATTERN_RE.fullmatch(value):
        raise PolicyError(
            f"bad number pattern {value!r}: expected an E.164 glob: '+' then digits, "
            "with '*', '?' or digit classes like [0-5] as wildcards, no spaces (e.g. '+30690*')",
        )
    if value.count("*") > MAX_STARS:
        # Each '*' is a [0-9]* in the regex; a chain of them backtracks
        # exponentially on a number that almost matches (16 stars: 5 s).
        raise PolicyError(f"number pattern {value!r} has more than {MAX_STARS} '*' wildcards")
    if allowing and not value[1].isdigit():
        # '+*' in an allow list would admit every valid number in the world,
        # premium-rate included: that is never what was meant.
        raise PolicyError(
            f"allow pattern {value!r} is too broad: it must start with '+' and at least "
            "the first digit of a country code (e.g. '+30800*')",
        )
    return value


def _glob_regex(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """Compile validated E.164 globs into one anchored regex (None if none).

    The grammar is restricted to what _PATTERN_RE accepts, so translating by
    hand is simpler and safer than fnmatch (no case folding, no os.sep rules).
    """
    alternatives = []
    for pattern in patterns:
        out = []
        i = 0
        while i < len(pattern):
            ch = pattern[i]
            if ch == "*":
                out.append("[0-9]*")
            elif ch == "?":
                out.append("[0-9]")
            elif ch == "[":
                end = pattern.index("]", i)
                body = pattern[i + 1 : end]
                out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = end
            else:
                out.append(re.escape(ch))
            i += 1
        alternatives.append("".join(out))
    if not alternatives:
        return None
    return re.compile("(?:" + "|".join(alternatives) + ")")


def _collection(value: object, what: str) -> Iterable[object]:
    # A bare string is iterable too; accepting it would turn "GR" into {G, R}.
    if isinstance(value, str):
        raise PolicyError(f"expected a collection of {what}, got a string")
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class NumberPolicy:
    """Which callback numbers one queue may dial.

    ``home_region`` is the region of the line the call came in on: keyed and
    national caller-id numbers are read as that region would dial them (its
    trunk prefix, its international prefix).  ``regions`` defaults to just the
    home region -- calling abroad must be a decision, not an accident.
    ``types`` defaults to fixed lines and mobiles.  ``deny``/``allow`` are
    E.164 globs: deny beats everything; allow admits a *valid* number that
    region or type would refuse, never an invalid one or a short code.

    The rules checker reads a queue's ``callback`` block item by item with
    :func:`region_code`, :func:`number_type` and :func:`number_pattern`,
    reporting every bad item at its line; the constructor applies the same
    functions, so a policy object in hand is always usable (``PolicyError``
    otherwise, which a checked plan never meets).
    """

    home_region: str
    regions: frozenset[str] | None = None  # None -> {home_region}; always a frozenset after init
    types: frozenset[str] = DEFAULT_TYPES
    deny: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    _deny_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _allow_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        try:
            home = region_code(self.home_region)
        except PolicyError as exc:
            raise PolicyError(f"home region: {exc}") from None
        set_(self, "home_region", home)
        regions = {home} if self.regions is None else _collection(self.regions, "region codes")
        set_(self, "regions", frozenset(region_code(r) for r in regions))
        set_(self, "types", frozenset(number_type(t) for t in _collection(self.types, "number type names")))
        for name, allowing in (("deny", False), ("allow", True)):
            patterns = tuple(number_pattern(p, allowing=allowing)
                             for p in _collection(getattr(self, name), "patterns"))
            set_(self, name, patterns)
            set_(self, f"_{name}_re", _glob_regex(patterns))

    def denies(self, e164: str) -> bool:
        """True if a deny pattern matches this E.164 string."""
        return self._deny_re is not None and self._deny_re.fullmatch(e164) is not None

    def allows(self, e164: str) -> bool:
        """True if an allow pattern matches this E.164 string."""
        return self._allow_re is not None and self._allow_re.fullmatch(e164) is not None


# --------------------------------------------------------------------------
# Verdict and validation
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`validate`.

    ``e164`` is set whenever the input was a valid full number -- also when it
    was refused, so logs and statistics show *what* was refused.
    ``digits_for_readback`` holds the number as a caller at the home region
    would dial it (national format at home, with the international prefix for
    an allowed foreign number), one digit per element, ready for
    ``numbers/<d>`` prompts; empty when there is no valid number.
    ``region`` and ``number_type`` (a :data:`NUMBER_TYPES` name) describe the
    number for logs and callback records.
    """

    ok: bool
    e164: str | None
    reason: str | None
    digits_for_readback: tuple[str, ...] = ()
    region: str | None = None
    number_type: str | None = None

    def __post_init__(self) -> None:
        if self.ok and (self.reason is not None or not self.e164):
            raise ValueError("an accepted Verdict needs an e164 number and no reason")
        if not self.ok and self.reason not in REASON_PROMPTS:
            raise ValueError(f"a refusing Verdict needs a reason among {REASONS}, got {self.reason!r}")

    @property
    def prompt(self) -> str | None:
        """The prompt to speak for a refusal (None when accepted)."""
        return None if self.reason is None else REASON_PROMPTS[self.reason]


def _refuse(reason: str, number: phonenumbers.PhoneNumber | None = None, home: str = "") -> Verdict:
    if number is None:
        return Verdict(ok=False, e164=None, reason=reason)
    return _verdict(number, home, ok=False, reason=reason)


def _verdict(number: phonenumbers.PhoneNumber, home: str, *, ok: bool, reason: str | None) -> Verdict:
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    # Out-of-country format from the home region is the national format for a
    # home number (with the trunk prefix, e.g. 020... in GB) and the
    # IDD-prefixed form for a foreign one -- what the caller would recognise.
    shown = phonenumbers.format_out_of_country_calling_number(number, home)
    return Verdict(
        ok=ok,
        e164=e164,
        reason=reason,
        digits_for_readback=tuple(ch for ch in shown if ch in _ASCII_DIGITS),
        region=phonenumbers.region_code_for_number(number),
        number_type=_TYPE_NAME_BY_VALUE.get(phonenumbers.number_type(number)),
    )


def _type_allowed(type_name: str | None, allowed: frozenset[str]) -> bool:
    """Whether a number of this type is admitted.

    fixed_line_or_mobile counts as both: such a number is admitted if either
    is allowed, and naming fixed_line_or_mobile admits both kinds.
    """
    if type_name is None:
        return False
    either = {"fixed_line", "mobile", "fixed_line_or_mobile"}
    if type_name == "fixed_line_or_mobile":
        return bool(allowed & either)
    if type_name in ("fixed_line", "mobile") and "fixed_line_or_mobile" in allowed:
        return True
    return type_name in allowed


def _normalize(raw: object, source: Source) -> tuple[str | None, str]:
    """Reduce the input to '+digits' or 'digits', or return a reason code.

    Returns ``(reason, "")`` on refusal, ``(None, text)`` otherwise.
    """
    text = "" if raw is None else (raw if isinstance(raw, str) else str(raw))
    text = text.strip()
    if source == "keyed":
        # DTMF collection ends with '#'; a keypad has no '+', and '*' as '+' is a
        # convention callers do not know, so keyed input is digits only.
        text = text.rstrip("#")
        if not text:
            return "empty", ""
        if not all(ch in _ASCII_DIGITS for ch in text):
            return "not_a_number", ""
        return None, text
    if not text or text.lower() in _WITHHELD:
        return "empty", ""
    plus = text.startswith("+")
    body = text[1:] if plus else text
    if not all(ch in _ASCII_DIGITS or ch in _CALLER_ID_SEPARATORS for ch in body):
        return "not_a_number", ""
    digits = "".join(ch for ch in body if ch in _ASCII_DIGITS)
    if not digits:
        return "not_a_number", ""
    if not plus and set(digits) == {"0"}:
        # FreeSWITCH's placeholder for an unknown caller id is 0000000000.
        return "empty", ""
    return None, ("+" + digits if plus else digits)


def _candidates(text: str, source: Source) -> list[str]:
    """Readings of the input to try, most likely first.

    The first is always the home-region reading (libphonenumber applies the
    region's trunk prefix and its international prefix, e.g. 00 in GR/GB, 011
    in the US).  A leading 00 is also tried as the international prefix for
    regions whose own prefix differs.  Caller ids additionally get the
    E.164-without-plus reading (302101234567 from a GB line), because trunks
    commonly drop the '+'; keyed input does not, as the caller was asked for
    a number dialled the local way.
    """
    out = [text]
    if text.startswith("+"):
        return out
    if text.startswith("00") and len(text) > 2:
        out.append("+" + text[2:])
    elif source == "caller_id" and not text.startswith("0"):
        out.append("+" + text)
    return out


def _is_short_or_emergency(number: phonenumbers.PhoneNumber) -> bool:
    """Whether an invalid full number is a short/service/emergency number."""
    nsn = phonenumbers.national_significant_number(number)
    regions = set(phonenumbers.region_codes_for_country_code(number.country_code))
    for region in regions:
        if shortnumberinfo.is_emergency_number(nsn, region):
            return True
        if shortnumberinfo.is_valid_short_number_for_region(number, region):
            return True
    return False


def validate(raw: str | None, policy: NumberPolicy, *, source: Source) -> Verdict:
    """Decide whether a callback may be booked to ``raw``.

    ``source`` says where the text came from: ``"caller_id"`` (the caller id
    number header as FreeSWITCH gives it: +302101234567, 302101234567,
    00302101234567, 2101234567, anonymous, 0000000000, sipp, ...) or
    ``"keyed"`` (DTMF digits, optionally ending in '#').

    Never raises for any text input: this runs on a live call, and an
    exception would drop the caller.  Only valid full numbers can be
    accepted; emergency numbers are refused first of all.
    """
    if source not in ("caller_id", "keyed"):
        raise ValueError(f"source must be 'caller_id' or 'keyed', got {source!r}")
    home = policy.home_region
    reason, text = _normalize(raw, source)
    if reason is not None:
        return _refuse(reason)
    bare = text.lstrip("+")
    if len(bare) > _MAX_DIGITS:
        return _refuse("invalid")

    # Emergency numbers as dialled at home: refused before parsing, so that
    # no later rule (allow patterns included) can ever reach them.  Exact match
    # only: prefix matching ("connects to") would also hit valid subscriber
    # numbers in some plans (e.g. Lithuanian 03x fixed lines); a prefix of an
    # emergency number that is not a valid full number is refused below anyway.
    if not text.startswith("+") and shortnumberinfo.is_emergency_number(text, home):
        return _refuse("short_code")

    first: phonenumbers.PhoneNumber | None = None
    number: phonenumbers.PhoneNumber | None = None
    for candidate in _candidates(text, source):
        try:
            parsed = phonenumbers.parse(candidate, home)
        except NumberParseException:
            continue
        if first is None:
            first = parsed
        if phonenumbers.is_valid_number(parsed):
            number = parsed
            break

    if number is None:
        # Not a full number, so refused whatever happens; what remains is to
        # tell a service number (refused: don't invite retries, and count it
        # as a probe) from a mistyped one (invalid: try again).  Short numbers
        # are recognised by the metadata's patterns, not merely by length
        # (is_possible_short_number_for_region): by length alone a number
        # truncated to 3-6 digits would be told "we cannot call that number"
        # instead of being asked to key it again.
        if not text.startswith("+") and shortnumberinfo.connects_to_emergency_number(text, home):
            return _refuse("short_code")
        if first is not None and _is_short_or_emergency(first):
            return _refuse("short_code")
        return _refuse("invalid")

    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if policy.denies(e164):
        return _refuse("denied", number, home)
    if policy.allows(e164):
        return _verdict(number, home, ok=True, reason=None)
    if phonenumbers.region_code_for_number(number) not in policy.regions:
        return _refuse("foreign", number, home)
    type_name = _TYPE_NAME_BY_VALUE.get(phonenumbers.number_type(number))
    if not _type_allowed(type_name, policy.types):
        if type_name in ("premium_rate", "shared_cost"):
            return _refuse(type_name, number, home)
        return _refuse("type_not_allowed", number, home)
    return _verdict(number, home, ok=True, reason=None)
