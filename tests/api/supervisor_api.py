"""A service's admin API without the service: the notices and callbacks
resources over a real socket, on a SQLite store, with a clock the test sets.
Test modules import the `admin` fixture from here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import gevent
import pytest
from click.testing import CliRunner

from fsrouter.api import callbacks, notices
from fsrouter.api.client import ApiClient
from fsrouter.api.routing import Router
from fsrouter.api.server import AdminAPI
from fsrouter.rules import compile_rules
from fsrouter.rules.sounds import RATES
from fsrouter.runtime.notices import NoticeDesk
from fsrouter.store import open_store
from fsrouter.store.gevent_wrapper import GeventStore

TOKEN = "t0ken"
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Europe/Athens")).timestamp()

RULES = Path(__file__).parents[1] / "rules" / "good" / "notices.yaml"

#: Prompt id -> the languages it has files in.
PROMPTS = {"notices/outage_athens": ("en", "el"), "notices/invoice_error": ("en", "el"),
           "notices/half_done": ("en",), "menu/main": ("en", "el")}


@dataclass
class Admin:
    url: str
    config: str
    store: GeventStore
    clock: list[float]
    router: Router

    def client(self) -> ApiClient:
        return ThreadedClient(self.url, TOKEN)

    def cli(self, *args: str):
        """`fsrouter ARGS --config` this service's configuration, in-process:
        the CLI's blocking client runs on a thread while this loop serves."""
        from fsrouter.cli import main

        result = gevent.get_hub().threadpool.apply(CliRunner().invoke, (main, [*args, "--config", self.config]))
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result


class ThreadedClient(ApiClient):
    def call(self, *args, **kwargs):
        return gevent.get_hub().threadpool.apply(super().call, args, kwargs)


def make_sounds(root: Path) -> Path:
    for prompt, languages in PROMPTS.items():
        folder, _, name = prompt.rpartition("/")
        for language in languages:
            for rate in RATES:
                path = root / language / folder / str(rate) / f"{name}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"RIFF")
    return root


@pytest.fixture
def admin(tmp_path):
    plan = compile_rules(RULES)
    store = GeventStore(open_store(f"sqlite://{tmp_path}/fsrouter.db"))
    clock = [T0]
    desk = NoticeDesk(store, lambda: plan, str(make_sounds(tmp_path / "sounds")), clock=lambda: clock[0])
    desk.load()
    router = Router()
    notices.add_routes(router, desk)
    callbacks.add_routes(router, store, clock=lambda: clock[0])
    server = AdminAPI("127.0.0.1", 0, router, token=TOKEN)
    server.start()
    (tmp_path / "token").write_text(TOKEN + "\n")
    config = tmp_path / "fsrouter.yaml"
    config.write_text(f"rules: rules.yaml\napi: {{port: {server.address[1]}, token_file: token}}\n"
                      f"database: {{url: 'sqlite:fsrouter.db'}}\n")
    yield Admin("http://%s:%d" % server.address, str(config), store, clock, router)
    server.stop()
    store.close()
