"""Tests of callback-number validation (DESIGN.md need 2).

The callback dialer is a toll-fraud target, so most of these tests are about
what must be *refused*; the acceptance tests pin down the everyday formats a
FreeSWITCH caller id or a keypad produces.
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fsrouter.callback_numbers import (
    DEFAULT_TYPES,
    NUMBER_TYPES,
    REASON_PROMPTS,
    REASONS,
    NumberPolicy,
    PolicyError,
    Verdict,
    number_pattern,
    number_type,
    region_code,
    validate,
)

GR = NumberPolicy("GR")
GB = NumberPolicy("GB")
US = NumberPolicy("US")


def deny_pattern(value):
    return number_pattern(value, allowing=False)


def allow_pattern(value):
    return number_pattern(value, allowing=True)


def keyed(raw: str, policy: NumberPolicy = GR) -> Verdict:
    return validate(raw, policy, source="keyed")


def cid(raw: str, policy: NumberPolicy = GR) -> Verdict:
    return validate(raw, policy, source="caller_id")


# --------------------------------------------------------------------------
# accepted numbers
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "policy", "e164", "kind"),
    [
        ("2101234567", GR, "+302101234567", "fixed_line"),  # Athens
        ("6912345678", GR, "+306912345678", "mobile"),
        ("02079460000", GB, "+442079460000", "fixed_line"),  # London, trunk prefix 0
        ("07400123456", GB, "+447400123456", "mobile"),
    ],
)
def test_valid_fixed_and_mobile_numbers_are_accepted(raw, policy, e164, kind):
    verdict = keyed(raw, policy)
    assert verdict == Verdict(
        ok=True,
        e164=e164,
        reason=None,
        digits_for_readback=tuple(raw),  # read back as keyed: national format
        region=policy.home_region,
        number_type=kind,
    )
    assert verdict.prompt is None


@pytest.mark.parametrize(
    "raw",
    ["+302101234567", "302101234567", "00302101234567", "2101234567", "+30 210 123 4567", "+30-210-1234567"],
)
def test_caller_id_formats_all_mean_the_same_number(raw):
    verdict = cid(raw)
    assert verdict.ok
    assert verdict.e164 == "+302101234567"
    assert verdict.digits_for_readback == ("2", "1", "0", "1", "2", "3", "4", "5", "6", "7")


def test_caller_id_without_plus_from_another_country_is_read_as_e164():
    # Trunks often drop the '+'; 44... is not a Greek number, so it is E.164.
    assert cid("442079460000", NumberPolicy("GR", regions={"GR", "GB"})).e164 == "+442079460000"
    # A Greek caller id without '+' on a GB line.
    assert cid("306912345678", NumberPolicy("GB", regions={"GB", "GR"})).e164 == "+306912345678"


def test_keyed_digits_are_national_and_hash_terminator_is_stripped():
    assert keyed("6912345678#").e164 == "+306912345678"
    assert keyed("6912345678##").ok
    # Keyed input is dialled the local way: a bare 44... is not re-read as E.164.
    assert keyed("442079460000", NumberPolicy("GR", regions={"GR", "GB"})).reason == "invalid"
    # ... but the 00 international prefix is understood.
    assert keyed("00442079460000", NumberPolicy("GR", regions={"GR", "GB"})).e164 == "+442079460000"


def test_leading_00_is_international_even_where_the_home_prefix_differs():
    # The US international prefix is 011; 00 is still understood.
    policy = NumberPolicy("US", regions={"US", "GR"})
    assert keyed("011302101234567", policy).e164 == "+302101234567"
    assert keyed("00302101234567", policy).e164 == "+302101234567"


def test_readback_of_an_allowed_foreign_number_includes_the_international_prefix():
    verdict = keyed("00442079460000", NumberPolicy("GR", regions={"GR", "GB"}))
    assert verdict.ok
    assert "".join(verdict.digits_for_readback) == "00442079460000"


def test_gb_readback_keeps_the_trunk_prefix():
    assert "".join(cid("+442079460000", GB).digits_for_readback) == "02079460000"


def test_fixed_line_or_mobile_counts_as_both():
    # US numbers cannot be told apart; they are fixed_line_or_mobile.
    assert cid("+12025550123", US).ok  # default types: fixed_line, mobile
    assert cid("+12025550123", NumberPolicy("US", types={"mobile"})).ok
    assert cid("+12025550123", NumberPolicy("US", types={"fixed_line"})).ok
    assert cid("+12025550123", NumberPolicy("US", types={"toll_free"})).reason == "type_not_allowed"
    # Naming fixed_line_or_mobile admits both kinds.
    policy = NumberPolicy("GR", types={"fixed_line_or_mobile"})
    assert keyed("2101234567", policy).ok and keyed("6912345678", policy).ok


# --------------------------------------------------------------------------
# refused numbers
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "policy", "reason"),
    [
        ("9011234567", GR, "premium_rate"),  # GR 901
        ("9091234567", GR, "premium_rate"),  # GR 909
        ("8011234567", GR, "shared_cost"),  # GR 801
        ("09098790000", GB, "premium_rate"),  # UK 09xx
        ("08449870000", GB, "premium_rate"),  # UK 084x service numbers
        ("8001234567", GR, "type_not_allowed"),  # toll free: not in default types
        ("7012345678", GR, "type_not_allowed"),  # personal number
        ("03001234567", GB, "type_not_allowed"),  # UAN
    ],
)
def test_costly_or_unexpected_types_are_refused(raw, policy, reason):
    verdict = keyed(raw, policy)
    assert not verdict.ok
    assert verdict.reason == reason
    assert verdict.prompt == "callback/refused"
    assert verdict.e164 is not None  # what was refused is known, for the log


def test_premium_rate_is_admitted_only_when_named():
    assert keyed("9011234567", NumberPolicy("GR", types={"premium_rate"})).ok


@pytest.mark.parametrize(
    ("raw", "policy"),
    [
        ("112", GR),
        ("100", GR),  # police
        ("166", GR),  # ambulance
        ("199", GR),  # fire brigade
        ("1120", GR),  # extra digits after an emergency number still reach it
        ("112", GB),
        ("999", GB),
        ("999#", GB),
        ("911", US),
        ("0030112", GB),  # 112 in Greece dialled from the UK
        ("100", GB),  # operator: a short service number
        ("118118", GB),  # directory enquiries
    ],
)
def test_emergency_and_short_numbers_are_always_refused(raw, policy):
    verdicts = [keyed(raw, policy)] + ([] if raw.endswith("#") else [cid(raw, policy)])
    for verdict in verdicts:
        assert verdict.reason == "short_code"
        assert verdict.prompt == "callback/refused"
        assert verdict.e164 is None and verdict.digits_for_readback == ()


def test_no_policy_can_admit_an_emergency_or_invalid_number():
    permissive = NumberPolicy(
        "GR",
        regions=phonenumbers.SUPPORTED_REGIONS,
        types=set(NUMBER_TYPES),
        allow=("+1*", "+2*", "+3*", "+4*", "+5*", "+6*", "+7*", "+8*", "+9*"),
    )
    for raw in ("112", "100", "+30112", "00112", "+44999", "+1911", "+3021012", "+3012345"):
        assert not cid(raw, permissive).ok, raw
    assert not keyed("999", NumberPolicy("GB", allow=("+4*",))).ok


def test_foreign_numbers_are_refused_unless_their_region_is_allowed():
    assert cid("+442079460000").reason == "foreign"  # GR policy by default
    assert cid("+442079460000", NumberPolicy("GR", regions={"GR", "GB"})).ok
    assert cid("+306912345678", GB).reason == "foreign"


@pytest.mark.parametrize(
    ("e164", "policy", "region"),
    [
        ("+447624123456", GB, "IM"),  # Isle of Man shares +44, it is not GB
        ("+18762345678", US, "JM"),  # Jamaica shares +1 ("one ring" scams)
        ("+881612345678", GR, "001"),  # satellite: non-geographic
    ],
)
def test_regions_are_the_numbers_own_not_their_country_code(e164, policy, region):
    verdict = cid(e164, policy)
    assert verdict.reason == "foreign"
    assert verdict.region == region


def test_deny_pattern_beats_allow_pattern_and_allowed_types():
    policy = NumberPolicy("GR", deny=("+30690*",), allow=("+30690*", "+3069*"))
    assert keyed("6901234567", policy).reason == "denied"
    assert keyed("6912345678", policy).ok
    assert keyed("6901234567", NumberPolicy("GR", deny=("+30690123456?",))).reason == "denied"
    assert keyed("6901234567", NumberPolicy("GR", deny=("+3069[0-5]*",))).reason == "denied"
    assert keyed("6961234567", NumberPolicy("GR", deny=("+3069[0-5]*",))).ok
    assert keyed("6961234567", NumberPolicy("GR", deny=("+3069[!6]*",))).ok


def test_allow_pattern_admits_a_number_that_types_or_regions_refuse():
    own_freephone = NumberPolicy("GR", allow=("+30800*",))
    assert keyed("8001234567").reason == "type_not_allowed"
    assert keyed("8001234567", own_freephone).ok
    partner = NumberPolicy("GR", allow=("+44207946*",))
    assert cid("+442079460000", partner).ok
    assert cid("+442079470000", partner).reason == "foreign"


@pytest.mark.parametrize(
    ("raw", "source", "reason"),
    [
        ("", "keyed", "empty"),
        ("#", "keyed", "empty"),
        ("   ", "caller_id", "empty"),
        ("anonymous", "caller_id", "empty"),
        ("Anonymous", "caller_id", "empty"),
        ("restricted", "caller_id", "empty"),
        ("0000000000", "caller_id", "empty"),  # FreeSWITCH's unknown caller id
        ("sipp", "caller_id", "not_a_number"),  # a SIP user name, not 7477
        ("2001", "caller_id", "invalid"),  # an internal extension
        ("*30", "keyed", "not_a_number"),  # keypad input is digits only
        ("+302101234567", "keyed", "not_a_number"),
        ("21 0123 4567", "keyed", "not_a_number"),
        ("2101234567;ext=1", "caller_id", "not_a_number"),
        ("2101234567 ext 1", "caller_id", "not_a_number"),
        ("1-800-FLOWERS", "caller_id", "not_a_number"),
        ("٢١٠١٢٣٤٥٦٧", "caller_id", "not_a_number"),  # non-ASCII digits
        ("+", "caller_id", "not_a_number"),
        ("21", "keyed", "invalid"),  # too short
        ("210123456", "keyed", "invalid"),  # one digit missing
        ("21012345678", "keyed", "invalid"),  # one digit too many
        ("0000000000", "keyed", "invalid"),
        ("9" * 200, "keyed", "invalid"),
        ("+9" + "1" * 40, "caller_id", "invalid"),
    ],
)
def test_garbage_empty_and_malformed_input(raw, source, reason):
    verdict = validate(raw, GR, source=source)
    assert verdict.reason == reason
    assert not verdict.ok and verdict.e164 is None and verdict.digits_for_readback == ()
    assert verdict.prompt == "callback/invalid_number"


def test_missing_caller_id_is_empty():
    assert validate(None, GR, source="caller_id").reason == "empty"


def test_unknown_source_is_a_programming_error():
    with pytest.raises(ValueError, match="source"):
        validate("2101234567", GR, source="dtmf")  # type: ignore[arg-type]


def test_every_reason_has_a_prompt():
    assert set(REASON_PROMPTS) == set(REASONS)
    assert {REASON_PROMPTS[r] for r in ("empty", "not_a_number", "invalid")} == {"callback/invalid_number"}
    refused = set(REASONS) - {"empty", "not_a_number", "invalid"}
    assert {REASON_PROMPTS[r] for r in refused} == {"callback/refused"}


def test_verdict_rejects_inconsistent_values():
    with pytest.raises(ValueError):
        Verdict(ok=True, e164=None, reason=None)
    with pytest.raises(ValueError):
        Verdict(ok=False, e164=None, reason="nope")


# --------------------------------------------------------------------------
# policy construction
# --------------------------------------------------------------------------


def test_policy_defaults():
    policy = NumberPolicy("gr")
    assert policy.home_region == "GR"
    assert policy.regions == frozenset({"GR"})
    assert policy.types == DEFAULT_TYPES == frozenset({"fixed_line", "mobile"})
    assert policy.deny == () and policy.allow == ()


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (region_code, "UK", "unknown region 'UK': expected an ISO 3166 alpha-2 code such as GR or GB; did you mean 'GB'?"),
        (region_code, False, "expected a region code string such as GR, got boolean False"
         " (YAML reads an unquoted NO as false: write 'NO' for Norway)"),
        (number_type, "landline", "unknown number type 'landline': expected one of: fixed_line, mobile,"
         " fixed_line_or_mobile, voip, toll_free, personal_number, pager, uan, voicemail, premium_rate, shared_cost"),
        (number_type, "mobil", "did you mean 'mobile'?"),
        (deny_pattern, 302101234567, "expected a quoted E.164 glob such as '+30690*', got integer 302101234567"
         " (YAML reads an unquoted +number as an integer and drops the '+': quote it)"),
        (deny_pattern, "30690*", "bad number pattern '30690*': expected an E.164 glob"),
        (deny_pattern, "+30 690*", "no spaces"),
        (allow_pattern, "+*", "allow pattern '+*' is too broad"),
    ],
)
def test_item_checks_say_what_was_expected(check, value, message):
    with pytest.raises(PolicyError) as info:
        check(value)
    assert message in str(info.value)


def test_item_checks_normalise_what_they_accept():
    assert region_code(" gr ") == "GR"
    assert number_type("Mobile") == "mobile"
    assert allow_pattern("+30801[0-5]*") == "+30801[0-5]*"


def test_bad_home_region_is_reported():
    with pytest.raises(ValueError, match=r"^home region: unknown region 'XX'"):
        NumberPolicy("XX")
    with pytest.raises(ValueError, match=r"did you mean 'GR'"):
        NumberPolicy("EL")  # the EU's code for Greece is not ISO 3166


def test_empty_lists_mean_none():
    policy = NumberPolicy("GR", regions=frozenset(), allow=("+30210*",))
    assert keyed("6912345678", policy).reason == "foreign"
    assert keyed("2101234567", policy).ok


def test_constructor_validates_too():
    with pytest.raises(ValueError, match="unknown number type"):
        NumberPolicy("GR", types={"landline"})
    with pytest.raises(ValueError, match="got a string"):
        NumberPolicy("GR", regions="GR")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="too broad"):
        NumberPolicy("GR", allow=("+?*",))


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------

POLICIES = [
    GR,
    GB,
    US,
    NumberPolicy("GR", regions={"GR", "GB", "CY"}, types=set(NUMBER_TYPES) - {"premium_rate"}),
    NumberPolicy("GB", deny=("+447*",), allow=("+30*", "+448*")),
    NumberPolicy("GR", regions=set(), allow=("+3021*",), types={"fixed_line_or_mobile"}),
]

phone_like = st.builds(
    lambda prefix, digits, suffix: prefix + digits + suffix,
    st.sampled_from(["", "+", "00", "0", "+30", "30", "0030", "+44", "44", "0044", "011", "+1", "1"]),
    st.text(alphabet="0123456789", min_size=0, max_size=16),
    st.sampled_from(["", "#", "##", " ", "*"]),
)


# Real example numbers of every type from a few regions, with their tail
# scrambled and written the ways a caller id or a keypad might write them, so
# the property also explores many valid (and nearly valid) numbers.
_EXAMPLES = [
    (example.country_code, phonenumbers.national_significant_number(example))
    for region in ("GR", "GB", "US", "JM", "IM", "CY", "DE")
    for kind in NUMBER_TYPES.values()
    if (example := phonenumbers.example_number_for_type(region, kind)) is not None
]


@st.composite
def near_valid(draw):
    cc, nsn = draw(st.sampled_from(_EXAMPLES))
    keep = draw(st.integers(min_value=max(0, len(nsn) - 5), max_value=len(nsn)))
    nsn = nsn[:keep] + draw(st.text(alphabet="0123456789", min_size=0, max_size=len(nsn) - keep + 1))
    form = draw(st.sampled_from(["+{cc}{n}", "{cc}{n}", "00{cc}{n}", "0{n}", "{n}", "{n}#"]))
    return form.format(cc=cc, n=nsn)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw=st.one_of(st.text(max_size=40), phone_like, near_valid()),
    policy=st.sampled_from(POLICIES),
    source=st.sampled_from(["caller_id", "keyed"]),
)
def test_validate_never_raises_and_ok_is_always_safe(raw, policy, source):
    verdict = validate(raw, policy, source=source)
    if not verdict.ok:
        assert verdict.reason in REASONS
        return
    assert verdict.reason is None
    assert verdict.e164 is not None and verdict.e164.startswith("+")
    number = phonenumbers.parse(verdict.e164, None)
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.region_code_for_number(number) in policy.regions or policy.allows(verdict.e164)
    assert not policy.denies(verdict.e164)
    assert verdict.digits_for_readback and all(d in "0123456789" and len(d) == 1 for d in verdict.digits_for_readback)


def test_a_pattern_with_a_chain_of_stars_is_refused_before_it_can_backtrack():
    # 16 stars matched 16 digits in 5.4 s: each '*' is a [0-9]* in the regex.
    assert number_pattern("+30*69*", allowing=True) == "+30*69*"
    with pytest.raises(PolicyError, match=r"more than 2 '\*' wildcards"):
        number_pattern("+3" + "*" * 16 + "9", allowing=True)
    with pytest.raises(PolicyError):
        number_pattern("+3*0*6*", allowing=False)
