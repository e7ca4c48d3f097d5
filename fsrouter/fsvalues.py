"""Values on their way into a FreeSWITCH command, made safe in one place.

Every string fsrouter sends to FreeSWITCH is built from pieces: our own
syntax (``originate {k=v}dial 'app:arg,park' inline``, ``set name=value``,
``uuid_kill <uuid> CAUSE``) and values, some of them the caller's (caller id
number and name, digits keyed, variables the rules set from them).  A value
must never be read as syntax: it may not add a channel variable, a leg, an
application or a variable expansion.  Each function here takes a value for
one place in a command and returns it safe for that place, either
neutralised (characters FreeSWITCH would read as syntax replaced or dropped:
FreeSWITCH has no escape that works in every one of these places) or refused
with `UnsafeValue` (where a changed value would be a different command, such
as a dial string).  Nothing else in the runtime builds command text from a
value without going through here.

How FreeSWITCH reads each place (signalwire/freeswitch master, cc93a68,
read for this module):

* Expansion.  An application's argument is expanded when the application
  runs (``switch_core_session_exec`` in src/switch_core_session.c calls
  ``switch_channel_expand_variables``); that covers a ``sendmsg``
  ``execute-app-arg`` (src/switch_ivr.c ``switch_ivr_parse_event``) as well
  as an inline dialplan's arguments.
  ``switch_channel_expand_variables_check`` (src/switch_channel.c) expands
  ``${var}``, ``${api(args)}`` (an API call: ``${system(...)}``) and
  ``$${global}``; ``\\`` escapes ``$``, ``'`` and itself, so a backslash changes
  what follows.  The *value* of a variable is expanded again when a
  ``${var}`` is substituted (the recursive call on ``sub_val``), so a value
  stored with ``${`` in it is a later injection: escaping with ``\\$`` would only
  survive the first expansion.  Hence `$` and `\\` are removed from every value.
* The wire.  A command's headers end at ``\\r`` or ``\\n``
  (src/mod/event_handlers/mod_event_socket/mod_event_socket.c,
  ``read_packet``), so either would start a header of the caller's choosing;
  our codec refuses them (`esl.codec`), so they are turned into spaces here
  rather than let a caller's newline fail the call.  NUL and other control
  characters go the same way.
* Originate variables.  ``{a=1,b=2}`` / ``[..]`` / ``<..>`` blocks are cut by
  ``switch_event_create_brackets`` (src/switch_event.c): the block ends at the
  matching bracket, pairs split on ``,`` (or a ``^^X`` separator given at the
  block's start) and on ``=``, with ``'`` quoting and ``\\`` escaping
  (``switch_separate_string``).  Values keep a conservative alphabet.
* Dial strings.  ``switch_ivr_originate`` (src/switch_ivr_originate.c)
  splits legs on ``|`` (one after the other), ``,`` (at once) and ``:_:``
  (enterprise), and reads brackets as variable blocks.
* The ``originate`` API itself splits its arguments on spaces, honouring
  ``'`` quotes (mod_commands.c ``originate_function``), and the inline
  dialplan (mod_dptools.c ``inline_dialplan_hunt``) splits applications on
  ``,`` and each into app and argument at the first ``:``.
* API commands (``uuid_kill <uuid> <cause>``) split their arguments on spaces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = [
    "UnsafeValue", "text", "var_name", "set_arg", "originate_value", "dial_part", "dial_string",
    "sound_path", "path_part", "file_string", "speech", "inline_app", "token", "api_command",
    "originate_variables",
]


class UnsafeValue(ValueError):
    """A value that would change the command's structure, refused."""


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
"""Control characters (Unicode Cc), the line and paragraph separators, and
lone surrogates (a JSON event may carry ``\\ud800``; no UTF-8 encodes it)."""
_EXPANSION = str.maketrans({"$": None, "\\": None})


def text(value: str) -> str:
    """Free text for an application argument that splits nothing (``set``'s
    value): no control characters (spaces instead), no ``$`` or ``\\``, so
    nothing in it is expanded, now or when the variable is used later."""
    return _CONTROL.sub(" ", value).translate(_EXPANSION)


_NOT_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def var_name(name: str) -> str:
    """A channel variable's name: letters, digits, ``_ . -``; anything else
    becomes ``_`` (a ``=`` would move the split of ``set name=value``)."""
    return _NOT_NAME.sub("_", name) or "_"


def set_arg(name: str, value: str) -> str:
    """The ``set`` application's argument ``name=value`` (mod_dptools
    ``set_function`` splits at the first ``=``)."""
    return f"{var_name(name)}={text(value)}"


_NOT_ORIGINATE_VALUE = re.compile(r"[^\w+*#.@:/-]")


def originate_value(value: str) -> str:
    """A value inside ``{k=v,...}``: word characters and ``+ * # . @ : / -``
    only, the rest dropped, so it can end neither the pair, nor the block,
    nor the ``originate`` argument."""
    return _NOT_ORIGINATE_VALUE.sub("", value)


_NOT_DIAL_PART = re.compile(r"[^\w+*#.-]")


def dial_part(value: str) -> str:
    """A value rendered into a dial string template (``sofia/gateway/gw/{number}``):
    word characters and ``+ * # . -`` only, the rest dropped.  Not ``@``: a
    caller's value must not pick the SIP host (``{topic}`` holding
    ``1@attacker.example``); a template that needs a host writes it itself."""
    return _NOT_DIAL_PART.sub("", value)


_DIAL_SYNTAX = re.compile(r"[\s,|'\"$\\{}\[\]<>^]|:_:")


def dial_string(dial: str) -> str:
    """One endpoint to dial (``user/1001``, ``sofia/gateway/gw/+30...``);
    `UnsafeValue` if it holds anything that adds a leg, a variable block or
    an argument.  Variables go in the block `originate` builds, not here."""
    if not dial or _DIAL_SYNTAX.search(dial) or _CONTROL.search(dial):
        raise UnsafeValue(f"not a single endpoint: {dial!r}")
    return dial


_NOT_PATH = re.compile(r"[^\w./:+@=-]")


def sound_path(path: str) -> str:
    """A sound file (or ``local_stream://...``): word characters and
    ``. / : + @ = -``; anything else (a space splits ``play_and_get_digits``,
    ``!`` a ``file_string``, ``,`` and ``'`` the inline dialplan) becomes ``_``,
    so at worst the file is not found and the flow's failure path runs."""
    return _NOT_PATH.sub("_", path)


_NOT_PATH_PART = re.compile(r"[^\w-]")


def path_part(value: str) -> str:
    """A value that names one directory of a path (a language): word
    characters and ``-``, the rest ``_``, so it can neither add a segment
    nor climb out with ``..``."""
    return _NOT_PATH_PART.sub("_", value) or "_"


def file_string(paths: Sequence[str]) -> str:
    """One path, or several played in turn as ``file_string://a!b``."""
    safe = [sound_path(p) for p in paths]
    return safe[0] if len(safe) == 1 else "file_string://" + "!".join(safe)


_NOT_SPEECH = re.compile(r"[^\w .;:?!+-]")


def speech(text_: str) -> str:
    """Text to speak inside an inline dialplan: ``,`` becomes ``;`` (it
    would end the application), ``|`` and quotes (the TTS engine's separator
    and the originate argument's end) and everything else outside the
    alphabet become spaces; runs of spaces shrink to one.  Leading dashes
    go: mod_tts_commandline puts the text on a command line, where a TTS
    program (espeak-ng, say) would read ``-w /etc/x`` as its own option."""
    return " ".join(_NOT_SPEECH.sub(" ", text_.replace(",", ";")).split()).lstrip("- ")


_APP_NAME = re.compile(r"[a-z][a-z0-9_]*")
_INLINE_ARG_SYNTAX = re.compile(r"[,'\"$\\\s]")


def inline_app(app: str, arg: str) -> str:
    """``app:arg`` for an inline dialplan; `UnsafeValue` if the argument
    (already passed through `speech` or `sound_path`, or ours) could end the
    application or the quoted originate argument.  Spaces are allowed
    (``speak``'s text) only because the whole list is quoted."""
    if not _APP_NAME.fullmatch(app):
        raise UnsafeValue(f"not an application name: {app!r}")
    if _INLINE_ARG_SYNTAX.search(arg.replace(" ", "")) or _CONTROL.search(arg):
        raise UnsafeValue(f"not an inline application argument: {arg!r}")
    return f"{app}:{arg}"


_NOT_TOKEN = re.compile(r"[^\w.@:+*#=/-]")


def token(value: str) -> str:
    """One space-separated argument (a UUID, a cause, an extension): anything
    outside word characters and ``. @ : + * # = / -`` becomes ``_``."""
    return _NOT_TOKEN.sub("_", value) or "_"


def api_command(name: str, *args: str) -> str:
    """``name arg arg``: each argument one `token`."""
    return " ".join([name, *map(token, args)])


def originate_variables(variables: Mapping[str, str]) -> str:
    """``{k=v,...}``: names checked, values `originate_value`, empty ones left out."""
    pairs = []
    for name, value in variables.items():
        if var_name(name) != name:
            raise UnsafeValue(f"not a variable name: {name!r}")
        if (safe := originate_value(value)):
            pairs.append(f"{name}={safe}")
    return "{" + ",".join(pairs) + "}"
