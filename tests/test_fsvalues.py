"""No value can change the structure of a FreeSWITCH command.

Each command is built from arbitrary text (FreeSWITCH syntax, newlines, NUL,
unicode) and read back the way FreeSWITCH reads it (`fs_*` below, after the
source functions cited in `fsrouter.fsvalues`): the variable block
has exactly the intended keys, there is one leg, exactly the intended
applications, and nothing a value brought in is expanded.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsrouter.esl.codec import encode_command, encode_sendmsg
from fsrouter.rules.templates import Template
from fsrouter import fsvalues
from fsrouter.runtime.legs import originate_command, playback, speak

VALUES = st.lists(st.one_of(
    st.sampled_from(["${", "$${", "}", "{", ",", "'", '"', "|", "^^", "[", "]", "<", ">", "=", ":_:", "\\",
                     "\n", "\r", "\x00", "\x1b", " ", ":", "!", "$", "system(touch /tmp/x)", "\u2028", "é", "☎"]),
    st.characters(),
), max_size=12).map("".join)

EXPANSION = re.compile(r"\$\$?\{|\\")
WIRE = re.compile(r"[\r\n\x00]")


def fs_api_args(line: str) -> list[str]:
    """`switch_separate_string(cmd, ' ', ...)`: spaces split, `'` quotes
    group (and are removed); a quote left open is a structure we never build."""
    args, current, quoted, started = [], [], False, False
    for char in line:
        if char == "'":
            quoted, started = not quoted, True
        elif char == " " and not quoted:
            if current or started:
                args.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
    assert not quoted, f"unbalanced quote in {line!r}"
    args.append("".join(current))
    return args


def fs_originate(command: str) -> tuple[dict[str, str], str, list[tuple[str, str]]]:
    """(variables, dial string, inline applications) as FreeSWITCH reads
    ``originate {..}dial 'apps' inline`` or ``... &park()``."""
    args = fs_api_args(command)
    assert args[0] == "originate"
    endpoint = args[1]
    assert endpoint.startswith("{") and endpoint.count("{") == 1 and endpoint.count("}") == 1
    block, dial = endpoint[1:].split("}")
    assert not block.startswith("^^"), "a custom separator"
    variables = {}
    for pair in block.split(",") if block else []:
        name, sep, value = pair.partition("=")
        assert sep and "=" not in value
        assert name not in variables
        variables[name] = value
    if args[2:] == ["&park()"]:
        return variables, dial, [("park", "")]
    assert len(args) == 4 and args[3] == "inline", args
    apps = [tuple(app.partition(":")[::2]) for app in args[2].split(",")]
    return variables, dial, apps


def fs_legs(dial: str) -> list[str]:
    """switch_ivr_originate: `:_:`, `|` and `,` separate legs; brackets open variable blocks."""
    assert not re.search(r"[\[\]{}<>]", dial)
    return [leg for part in dial.split(":_:") for alt in part.split("|") for leg in alt.split(",")]


@settings(max_examples=400, deadline=None)
@given(values=st.dictionaries(st.sampled_from(["origination_caller_id_number", "fsrouter_topic",
                                               "fsrouter_brand", "fsrouter_language"]), VALUES),
       whisper=VALUES, sound=VALUES)
def test_an_originate_has_exactly_the_intended_variables_leg_and_applications(values, whisper, sound):
    intended = {"origination_uuid": "2f1e5c1a-0a0b-4c4d-8e8f-000000000001", **values}
    command = originate_command(intended, "user/1001", [speak("flite|kal", whisper), playback(sound)])
    variables, dial, apps = fs_originate(command)
    assert variables.keys() == {k for k, v in intended.items() if fsvalues.originate_value(v)}
    assert fs_legs(dial) == ["user/1001"]
    assert [name for name, _ in apps] == ["speak", "playback", "park"]
    assert apps[0][1].startswith("flite|kal|") and apps[0][1].count("|") == 2
    assert not EXPANSION.search(command) and not WIRE.search(command)
    encode_command(f"bgapi {command}")  # the codec takes it: nothing reaches the wire it would refuse


@settings(max_examples=300, deadline=None)
@given(name=VALUES, value=VALUES)
def test_set_sets_one_variable_and_expands_nothing(name, value):
    arg = fsvalues.set_arg(name or "x", value)
    set_name, _, set_value = arg.partition("=")  # mod_dptools set_function: the first `=`
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", set_name)
    assert not EXPANSION.search(arg) and not WIRE.search(arg)
    encode_sendmsg("set", arg, event_uuid="e1")
    # What is left of the value: its text minus the expansion characters.
    assert set_value == re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]", " ", value).replace("$", "").replace("\\", "")


@settings(max_examples=300, deadline=None)
@given(sounds=st.lists(VALUES, min_size=1, max_size=3))
def test_sound_paths_stay_one_argument_and_one_file_each(sounds):
    played = fsvalues.file_string([f"/sounds/en/{s}" for s in sounds])
    assert " " not in played and not EXPANSION.search(played) and not WIRE.search(played)
    files = played.removeprefix("file_string://").split("!")
    assert len(files) == len(sounds)


@settings(max_examples=300, deadline=None)
@given(variables=st.dictionaries(st.sampled_from(["number", "caller_id_name", "language", "brand"]), VALUES))
def test_a_dial_template_renders_one_endpoint_from_any_values(variables):
    template = Template.parse("sofia/gateway/carrier/{number}{caller_id_name}")
    parts = {k: fsvalues.dial_part(v) for k, v in variables.items()}
    dial = fsvalues.dial_string(template.render(parts))
    command = originate_command({"origination_uuid": "u1"}, dial)
    assert len(fs_legs(fs_originate(command)[1])) == 1
    assert "@" not in dial  # no value picks the SIP host
    assert not EXPANSION.search(command)


def test_a_value_in_a_dial_template_cannot_pick_the_host():
    template = Template.parse("sofia/internal/{number}@pbx.example")
    dial = template.render({"number": fsvalues.dial_part("+306971234567@attacker.example;transport=tcp")})
    assert dial == "sofia/internal/+306971234567attacker.exampletransporttcp@pbx.example"


@pytest.mark.parametrize("dial", ["user/1001,user/1002", "user/1001|user/1002", "user/1001:_:user/1002",
                                  "{x=1}user/1001", "[x=1]user/1001", "user/${x}", "user/1001 &bridge(x)",
                                  "user/1001'", "user/10\n01", ""])
def test_a_dial_string_that_is_not_one_endpoint_is_refused(dial):
    with pytest.raises(fsvalues.UnsafeValue):
        originate_command({"origination_uuid": "u1"}, dial)


@settings(max_examples=200, deadline=None)
@given(args=st.lists(VALUES, min_size=1, max_size=3))
def test_api_arguments_stay_one_each(args):
    command = fsvalues.api_command("uuid_kill", *args)
    assert fs_api_args(command) == ["uuid_kill", *(fsvalues.token(a) for a in args)]
    assert not EXPANSION.search(command) and not WIRE.search(command)


def test_the_injection_of_the_issue_arrives_as_plain_text():
    assert fsvalues.set_arg("fsrouter_who", "${system(touch /tmp/x)}\nx") == "fsrouter_who={system(touch /tmp/x)} x"


def test_a_lone_surrogate_reaches_no_command():
    """A JSON event may carry `\\ud800`; no UTF-8 encodes it, so encoding the
    command would raise and end the call (hypothesis found it, one run in six)."""
    encode_sendmsg("set", fsvalues.set_arg("x", "a\ud800b"), event_uuid="e1")
    assert fsvalues.set_arg("x", "a\ud800b") == "x=a b"


@pytest.mark.parametrize("text, spoken", [("-w /etc/passwd", "w etc passwd"), ("--  - x-ray", "x-ray"),
                                          ("pay -5", "pay -5"), ("---", "")])
def test_spoken_text_never_starts_like_a_command_line_option(text, spoken):
    assert fsvalues.speech(text) == spoken
