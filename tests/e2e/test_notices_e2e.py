"""End to end: a notice switched on with `fsrouter notice set` is heard by
the next caller (not by one already past the step), and not after `notice
clear` or its end; it survives a restart of the service.

The CLI runs in-process (click's CliRunner) with `--config` pointing at the
running fsrouter's configuration, so it finds the API and its token as an
operator's would; its blocking HTTP call runs on gevent's thread pool while
the simulated switch goes on serving on this loop.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import gevent
from click.testing import CliRunner

from fsrouter.cli import main
from fsrouter.sim import CallerScript, Press
from fsrouter.sim.scenario import prompt_id

RULES = Path(__file__).parent / "rules" / "notices.yaml"
LINE = "+302101234567"
CALL_TIMEOUT = 20
WITHOUT = ["greeting/acme", "menu/main"]
WITH_OUTAGE = ["greeting/acme", "notices/outage_athens", "menu/main"]


def notice(fsrouter, *args: str):
    """`fsrouter notice ARGS --config <the running service's>`, in-process."""
    result = gevent.get_hub().threadpool.apply(
        CliRunner().invoke, (main, ["notice", *args, "--config", str(fsrouter.config)]))
    assert result.exit_code == 0, f"{result.output}\n{fsrouter.log_text()}"
    return result


def next_caller_hears(fsrouter) -> list[str]:
    call = fsrouter.switch.place_call(CallerScript(destination=LINE, actions=[Press("0", after_prompt="menu/main")]))
    assert call.wait(CALL_TIMEOUT), f"call did not end\n{fsrouter.log_text()}"
    assert call.transferred_to is not None and call.transferred_to.startswith("operator")
    return [prompt_id(sound) for sound in call.sounds]


def test_a_notice_set_is_heard_by_the_next_caller_and_not_after_clear(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    assert next_caller_hears(fsrouter) == WITHOUT
    on = notice(fsrouter, "set", "--scope", f"line:{LINE}", "--prompt", "notices/outage_athens")
    assert on.stdout.startswith(f"notice 1 on for line:{LINE}: notices/outage_athens, until cleared")
    assert next_caller_hears(fsrouter) == WITH_OUTAGE
    assert next_caller_hears(fsrouter) == WITH_OUTAGE  # every caller, not the first only
    notice(fsrouter, "set", "--scope", "queue:billing", "--prompt", "notices/invoice_error")
    assert next_caller_hears(fsrouter) == ["greeting/acme", "notices/outage_athens", "notices/invoice_error",
                                           "menu/main"]
    assert notice(fsrouter, "clear", "1").stdout == f"notice 1 cleared (line:{LINE}: notices/outage_athens)\n"
    notice(fsrouter, "clear", "--scope", "queue:billing")
    assert next_caller_hears(fsrouter) == WITHOUT
    assert notice(fsrouter, "list").stdout == "no notices on\n"


def test_a_caller_already_past_the_notice_step_does_not_hear_it_the_next_one_does(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    in_menu = fsrouter.switch.place_call(CallerScript(destination=LINE, actions=[
        Press("0", after_prompt="menu/main", delay=20)]))  # 1 s at test speed
    fsrouter.wait_until(lambda: "menu/main" in [prompt_id(s) for s in in_menu.sounds], 10, "no menu")
    notice(fsrouter, "set", "--scope", f"line:{LINE}", "--prompt", "notices/outage_athens")
    assert not in_menu.done  # still in the menu when the notice came on
    assert in_menu.wait(CALL_TIMEOUT)
    assert [prompt_id(s) for s in in_menu.sounds] == WITHOUT
    assert next_caller_hears(fsrouter) == WITH_OUTAGE


def test_a_notice_is_silent_after_its_end(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    on = json.loads(notice(fsrouter, "set", "--scope", f"line:{LINE}", "--prompt", "notices/outage_athens",
                           "--for", "2s", "--json").stdout)
    assert next_caller_hears(fsrouter) == WITH_OUTAGE
    gevent.sleep(max(0.0, on["notice"]["expires_at"] - time.time()) + 0.05)
    assert next_caller_hears(fsrouter) == WITHOUT
    assert notice(fsrouter, "list").stdout == "no notices on\n"


def test_a_notice_survives_a_restart_of_the_service(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    notice(fsrouter, "set", "--scope", f"line:{LINE}", "--prompt", "notices/outage_athens", "--until", "23:59")
    fsrouter.kill()  # SIGKILL: nothing but the store survives
    fsrouter.start()
    assert f"notices on: 1 (line:{LINE}: notices/outage_athens)" in fsrouter.log_text()
    assert next_caller_hears(fsrouter) == WITH_OUTAGE
