"""The wallboard in headless Chromium, over a simulated centre.

`fsrouter run` serves the page and its data; the simulator places callers
(one answered and still on the call, one who gave up at once, two waiting);
Chromium loads the page with the token in the URL's fragment; the figures
it shows must be the API's, and a change must show within 2 s.  A
screenshot is saved in the test's tmp dir (wallboard.png).
"""

from __future__ import annotations

import time
from pathlib import Path

import gevent
import pytest
from chromium import BoardCells, Browser

from fsrouter.sim import CallerScript
from fsrouter.sim.agent import AgentScript
from fsrouter.sim.harness import FsrouterProcess

RULES = Path(__file__).parent / "rules" / "wallboard.yaml"
ON_A_CALL = 100_000  # sim seconds: the agent stays on the call for the whole test
UPDATED_WITHIN = 2.0  # seconds: the wallboard's promise


@pytest.fixture
def browser(tmp_path):
    opened = Browser(tmp_path / "chromium-profile")  # fails under CI, skips elsewhere, without chromium
    yield opened
    opened.close()


def page_when(browser: Browser, ready, timeout: float) -> BoardCells:
    """The page's cells once `ready(cells)` holds; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        page = BoardCells(browser.dom())
        if ready(page):
            return page
        assert time.monotonic() < deadline, f"the page did not get there in {timeout} s: {page.status!r}"
        gevent.sleep(0.05)


def board_url(fsrouter, token: str | None = None) -> str:
    url = f"http://127.0.0.1:{fsrouter.api_port}/wallboard"
    return url if token is None else f"{url}#token={token}"


def data(fsrouter, with_time: bool = False):
    """The wallboard's data by queue (and when it was read, `with_time`)."""
    answer = fsrouter.api("GET", "/wallboard/data")
    queues = {q["queue"]: q for q in answer["queues"]}
    return (answer["at"], queues) if with_time else queues


@pytest.fixture
def busy_centre(start_fsrouter):
    """Billing: its agent on a call, one caller gone within 5 s, two waiting;
    sales: its agent free.  Every call is ended afterwards, so that fsrouter
    stops at once instead of waiting for them."""
    fsrouter = start_fsrouter(rules=RULES)
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1001", answer_after=0.1, hang_up_after=ON_A_CALL))
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1003", answer_after=0.1))
    fsrouter.switch.place_call(CallerScript(destination="7001"))
    fsrouter.wait_until(lambda: data(fsrouter)["billing"]["agents"]["on_call"] == 1, 10, "billing never answered")
    fsrouter.switch.place_call(CallerScript(destination="7001", patience=10))  # 0.5 s at the test's time scale
    fsrouter.wait_until(lambda: data(fsrouter)["billing"]["today"]["abandoned"] == 1, 10, "nobody abandoned")
    for _ in range(2):
        fsrouter.switch.place_call(CallerScript(destination="7001"))
    fsrouter.wait_until(lambda: data(fsrouter)["billing"]["waiting"] == 2, 10, "the callers are not waiting")
    yield fsrouter
    for channel in list(fsrouter.switch.channels.values()):
        channel.hangup(by="caller")
    fsrouter.wait_until(lambda: fsrouter.api("GET", "/status")["active_calls"] == 0, 5, "calls still up")


def test_the_page_shows_the_apis_figures_and_follows_them(busy_centre, browser, tmp_path):
    fsrouter = busy_centre
    browser.open(board_url(fsrouter, fsrouter.token_file.read_text().strip()))
    page_when(browser, lambda page: page.status.startswith("updated"), 10)
    page = BoardCells(browser.dom())
    now, after = data(fsrouter, with_time=True)

    assert page.status.startswith("updated"), page.status
    assert list(page.queues) == list(after) == ["billing", "sales"]
    for name, queue in after.items():
        shown = page.queues[name]
        want = {
            "waiting": queue["waiting"], "available": queue["agents"]["available"],
            "on_call": queue["agents"]["on_call"], "wrap_up": queue["agents"]["wrap_up"],
            "paused": queue["agents"]["paused"], "abandoned": queue["today"]["abandoned"],
            "abandoned_short": queue["today"]["abandoned_short"],
            "callbacks_pending": queue["callbacks_pending"],
        }
        for figure, value in want.items():
            assert shown[figure] == (str(value), str(value)), (name, figure)
        for figure in ("service_level", "ewt_kept"):
            ratio, (value, text) = queue["today"][figure], shown[figure]
            if ratio is None:
                assert (value, text) == ("", "–"), (name, figure)
            else:
                assert (float(value), text) == (ratio, f"{round(ratio * 100)}%"), (name, figure)
        # The longest wait has grown since the page's reading by as much as the time since (±0.1 s
        # rounding), where anyone waits.
        grown = now - page.at if after[name]["waiting"] + after[name]["ringing"] else 0.0
        assert float(shown["longest_wait"][0]) + grown == pytest.approx(after[name]["longest_wait"], abs=0.15)

    # The live part is GET /queues' own figures.
    queues = {q["queue"]: q for q in fsrouter.api("GET", "/queues")["queues"]}
    for name, queue in queues.items():
        assert (queue["waiting"], queue["agents"]) == (after[name]["waiting"], after[name]["agents"])

    billing, sales = after["billing"], after["sales"]
    assert (billing["waiting"], billing["agents"]["on_call"], sales["agents"]["available"]) == (2, 1, 1)
    assert billing["today"] == {"offered": 4, "answered": 1, "abandoned": 1, "abandoned_short": 1,
                                "service_level": 1.0, "target": 30.0, "ewt_kept": None}
    assert page.queues["billing"]["service_level"][1] == "100%"

    shot = browser.screenshot(tmp_path / "wallboard.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # A third caller waits: the page shows it within 2 s of the API.
    fsrouter.switch.place_call(CallerScript(destination="7001"))
    fsrouter.wait_until(lambda: data(fsrouter)["billing"]["waiting"] == 3, 10, "the third caller is not waiting")
    page_when(browser, lambda page: page.queues["billing"]["waiting"][0] == "3", UPDATED_WITHIN)


def test_without_the_token_the_page_says_how_to_open_it(start_fsrouter, browser):
    fsrouter = start_fsrouter(rules=RULES)
    # The second only changes the fragment: the page, not reloaded, reads the token at its next poll.
    for token, said in [(None, "a token is needed"), ("wrong", "the token was refused")]:
        browser.open(board_url(fsrouter, token))
        page = page_when(browser, lambda page: page.status.startswith(said), 10)
        assert (page.queues, page.status) == ({}, f"{said}: open this page as /wallboard#token=…")


def test_a_restart_keeps_todays_figures(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    fsrouter.switch.add_agent(AgentScript(endpoint="user/1003", answer_after=0.1, hang_up_after=1))
    call = fsrouter.switch.place_call(CallerScript(destination="7002"))
    assert call.wait(10) and call.bridged_with is not None
    fsrouter.wait_until(lambda: data(fsrouter)["sales"]["today"]["answered"] == 1, 10, "sales never answered")
    day = data(fsrouter)["sales"]["today"]
    assert FsrouterProcess.stop(fsrouter) == 0  # fsrouter only: the statistics are written on the way out
    fsrouter.start()
    assert data(fsrouter)["sales"]["today"] == day
