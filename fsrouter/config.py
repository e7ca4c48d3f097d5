"""The service configuration file (`fsrouter.yaml`).

It says where fsrouter listens, how to reach FreeSWITCH, where the rules and
the database are.  It is read with the same positioned loader as the rules,
so a mistake is reported as `file:line:col: error: …` like any rules error,
and relative paths are taken relative to the file itself (so the service
behaves the same whatever directory systemd or a shell starts it from).
"""

from __future__ import annotations

import re

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from fsrouter.rules.loader import load_text, read_text
from fsrouter.rules.problems import Report, RulesError
from fsrouter.rules.shapes import Shapes
from fsrouter.rules.tree import Map, Node, Scalar
from fsrouter.store.errors import UnsupportedURL
from fsrouter.store.url import resolve_url

SIMULATOR_MODES = ("auto", "always", "never")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


@dataclass(frozen=True)
class ServiceConfig:
    path: str
    rules_path: str
    sounds_dir: str
    listen_host: str = "127.0.0.1"
    listen_port: int = 8084
    max_sessions: int = 500
    inbound_host: str = "127.0.0.1"
    inbound_port: int = 8021
    inbound_password: str = "ClueCon"
    #: The sounds root as FreeSWITCH sees it (it may run on another box).
    freeswitch_sounds_dir: str = ""
    #: The TTS `engine|voice` that speaks whispers to agents (mod_flite by default),
    #: or one per agent language: {"default": "flite|kal", "ru": "tts_commandline|ru"}.
    tts: str | Mapping[str, str] = "flite|kal"
    #: Names this fsrouter on the legs it originates (default: the host name),
    #: so a sweep after a reconnect or restart hangs up only its own leftovers.
    instance: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int | None = 8090
    #: Where the admin API's bearer token is read (api/token.py): a file
    #: (created with a random token when missing) and/or an environment variable.
    api_token_file: str | None = None
    api_token_env: str | None = None
    #: The store's URL, a relative SQLite path already made absolute
    #: against the configuration file's directory (open it as it is).
    database_url: str = "sqlite:///var/lib/fsrouter/fsrouter.db"
    simulator_mode: str = "auto"
    simulator_scenario: str | None = None
    simulator_time_scale: float = 1.0
    simulator_every: float = 30.0
    log_level: str = "info"
    #: "text" (one escaped line per record) or "json" (one JSON object per line).
    log_format: str = "text"


_SECTIONS = ("listen", "max_sessions", "rules", "sounds", "freeswitch", "api", "database",
             "simulator", "log_level", "log_format")


def load_config(path: str | Path) -> ServiceConfig:
    """Read and check `fsrouter.yaml`; raises `RulesError` listing every problem."""
    path = Path(path)
    report = Report()
    text = read_text(path, report)
    if text is None:
        raise RulesError(tuple(report.problems))
    root = load_text(text, str(path), report)
    values = _read(root, Shapes(report), path) if root is not None else {}
    if any(p.severity == "error" for p in report.problems):
        raise RulesError(tuple(report.problems))
    return ServiceConfig(path=str(path), **values)


def _read(root: Node, shapes: Shapes, path: Path) -> dict:
    here = path.resolve().parent
    top = shapes.fields(root, "the service configuration", _SECTIONS) or {}
    values: dict = {}

    def resolve(node: Node, what: str) -> str | None:
        text = shapes.text(node, what, "a path")
        return None if text is None else str((here / text).resolve())

    def section(parent: dict[str, Node], name: str, allowed: tuple[str, ...],
                what: str | None = None) -> dict[str, Node]:
        node = parent.get(name)
        return (shapes.fields(node, what or name, allowed) or {}) if node is not None else {}

    listen = section(top, "listen", ("host", "port"))
    _put(values, "listen_host", listen.get("host"), lambda n: shapes.text(n, "listen.host"))
    _put(values, "listen_port", listen.get("port"), lambda n: shapes.integer(n, "listen.port", 0, 65535))
    _put(values, "max_sessions", top.get("max_sessions"),
         lambda n: shapes.integer(n, "max_sessions", 1, 100_000))

    values["rules_path"] = str(here / "rules")
    _put(values, "rules_path", top.get("rules"), lambda n: resolve(n, "rules"))
    values["sounds_dir"] = str((here.parent / "sounds").resolve())
    _put(values, "sounds_dir", top.get("sounds"), lambda n: resolve(n, "sounds"))

    freeswitch = section(top, "freeswitch", ("inbound", "sounds_dir", "tts", "instance"))
    inbound = section(freeswitch, "inbound", ("host", "port", "password"), "freeswitch.inbound")
    _put(values, "inbound_host", inbound.get("host"), lambda n: shapes.text(n, "freeswitch.inbound.host"))
    _put(values, "inbound_port", inbound.get("port"),
         lambda n: shapes.integer(n, "freeswitch.inbound.port", 1, 65535))
    _put(values, "inbound_password", inbound.get("password"),
         lambda n: shapes.text(n, "freeswitch.inbound.password"))
    values["freeswitch_sounds_dir"] = values["sounds_dir"]
    _put(values, "freeswitch_sounds_dir", freeswitch.get("sounds_dir"),
         lambda n: shapes.text(n, "freeswitch.sounds_dir", "an absolute path on the FreeSWITCH host"))
    _put(values, "tts", freeswitch.get("tts"), lambda n: _tts(shapes, n))
    _put(values, "instance", freeswitch.get("instance"),
         lambda n: shapes.name(n, "freeswitch.instance"))

    api = section(top, "api", ("host", "port", "token_file", "token_env"))
    _put(values, "api_host", api.get("host"), lambda n: shapes.text(n, "api.host"))
    _put(values, "api_token_file", api.get("token_file"), lambda n: resolve(n, "api.token_file"))
    _put(values, "api_token_env", api.get("token_env"),
         lambda n: shapes.name(n, "api.token_env"))
    if "port" in api:
        port = api["port"]
        values["api_port"] = (None if getattr(port, "value", 0) is None
                              else shapes.integer(port, "api.port", 0, 65535))

    database = section(top, "database", ("url",))
    _put(values, "database_url", database.get("url"), lambda n: _database_url(shapes, n, here))

    sim = section(top, "simulator", ("mode", "scenario", "time_scale", "every"))
    _put(values, "simulator_mode", sim.get("mode"),
         lambda n: _choice(shapes, n, "simulator.mode", SIMULATOR_MODES))
    _put(values, "simulator_scenario", sim.get("scenario"), lambda n: resolve(n, "simulator.scenario"))
    _put(values, "simulator_time_scale", sim.get("time_scale"),
         lambda n: _factor(shapes, n, "simulator.time_scale"))
    _put(values, "simulator_every", sim.get("every"), lambda n: shapes.duration(n, "simulator.every"))
    _put(values, "log_level", top.get("log_level"), lambda n: _choice(shapes, n, "log_level", LOG_LEVELS))
    _put(values, "log_format", top.get("log_format"), lambda n: _choice(shapes, n, "log_format", LOG_FORMATS))
    return values


_TTS_HINT = "a TTS engine and voice, e.g. flite|kal"


def _tts(shapes: Shapes, node: Node) -> str | Mapping[str, str] | None:
    """`freeswitch.tts`: one `engine|voice`, or one per agent language with a
    `default` (e.g. `{default: flite|kal, ru: tts_commandline|ru}`: FreeSWITCH's
    mod_tts_commandline running espeak-ng, which speaks el, hu, ru, ar).
    mod_tts_commandline passes the text and voice to its command through
    switch_util_quote_shell_arg (FreeSWITCH src/mod/asr_tts/mod_tts_commandline/
    mod_tts_commandline.c, tts_commandline_speech_feed_tts); the text itself
    is made safe for `speak` by fsvalues.speech."""
    if not isinstance(node, Map):
        return _voice(shapes, node)
    voices = {key.text: (shapes.name(key, "freeswitch.tts language"), _voice(shapes, value))
              for key, value in node.entries}
    if any(None in pair for pair in voices.values()):
        return None
    if "default" not in voices:
        shapes.report.error(node.pos, "freeswitch.tts has no default voice",
                            "default: flite|kal, beside the voices per language")
        return None
    return MappingProxyType({language: voice for language, (_, voice) in voices.items()})


_VOICE = re.compile(r"[\w.-]+\|[\w.-]+")


def _voice(shapes: Shapes, node: Node) -> str | None:
    """One `engine|voice`: it goes into every whisper's `speak` application,
    where a comma, a space or a second `|` would break all of them at run
    time, so it is refused here, at its place."""
    voice = shapes.text(node, "freeswitch.tts", _TTS_HINT)
    if voice is not None and not _VOICE.fullmatch(voice):
        shapes.bad(node, "freeswitch.tts", "engine|voice, each of letters, digits, _, . and -, e.g. flite|kal")
        return None
    return voice


def _put(values: dict, key: str, node: Node | None, read) -> None:
    """Store `read(node)` under `key` when the node is present and valid."""
    if node is None:
        return
    value = read(node)
    if value is not None:
        values[key] = value


def _factor(shapes: Shapes, node: Node, what: str) -> float | None:
    value = node.value if isinstance(node, Scalar) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 100:
        return float(value)
    shapes.bad(node, what, "a number above 0 (1 = real time, 0.1 = ten times faster)")
    return None


def _database_url(shapes: Shapes, node: Node, here: Path) -> str | None:
    """The store URL, a relative SQLite path taken relative to this file."""
    url = shapes.text(node, "database.url")
    if url is None:
        return None
    try:
        return resolve_url(url, here)
    except UnsupportedURL:
        shapes.bad(node, "database.url",
                   "sqlite:path/relative/to/this/file.db, sqlite:///absolute/path.db or postgresql://…")
        return None


def _choice(shapes: Shapes, node: Node, what: str, allowed: tuple[str, ...]) -> str | None:
    """One of `allowed`, in any case (``INFO`` is ``info``)."""
    value = shapes.text(node, what, " or ".join(allowed))
    if value is not None and value.lower() not in allowed:
        shapes.bad(node, what, " or ".join(allowed))
        return None
    return None if value is None else value.lower()
