"""The wallboard in headless Chromium, over a simulated centre.

`fsrouter run` serves the page and its data; the simulator places callers
(one answered and still on the call, one who gave up at once, two waiting);
Chromium loads the page with the token in the URL's fragment, and the
figures it shows must be the API's.
"""

from __future__ import annotations

from pathlib import Path

from chromium import BoardCells, chromium, dump_dom, screenshot

from fsrouter.sim import CallerScript
from fsrouter.sim.agent import AgentScript
from fsrouter.sim.harness import FsrouterProcess

RULES = Path(__file__).parent / "rules" / "wallboard.yaml"
ON_A_CALL = 100_000  # sim seconds: the agent stays on the call for the whole test


def board_url(fsrouter, token: str | None = None) -> str:
    url = f"http://127.0.0.1:{fsrouter.api_port}/wallboard"
    return url if token is None else f"{url}#token={token}"


def data(fsrouter) -> dict:
    return {q["queue"]: q for q in fsrouter.api("GET", "/wallboard/data")["queues"]}


def busy_centre(start_fsrouter):
    """Billing: its agent on a call, one caller gone within 5 s, two waiting; sales: its agent free."""
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
    return fsrouter


def test_the_page_shows_the_apis_figures_and_a_screenshot_is_saved(start_fsrouter, tmp_path):
    chromium()  # fails under CI, skips elsewhere, when there is no browser
    fsrouter = busy_centre(start_fsrouter)
    token = fsrouter.token_file.read_text().strip()
    before = data(fsrouter)
    page = BoardCells(dump_dom(board_url(fsrouter, token)))
    after = data(fsrouter)

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
        # The longest wait grows while the page loads: between the two readings.
        longest = float(shown["longest_wait"][0])
        assert before[name]["longest_wait"] <= longest <= after[name]["longest_wait"]

    # The live part is GET /queues' own figures.
    queues = {q["queue"]: q for q in fsrouter.api("GET", "/queues")["queues"]}
    for name, queue in queues.items():
        assert (queue["waiting"], queue["agents"]) == (after[name]["waiting"], after[name]["agents"])

    billing, sales = after["billing"], after["sales"]
    assert (billing["waiting"], billing["agents"]["on_call"], sales["agents"]["available"]) == (2, 1, 1)
    assert billing["today"] == {"offered": 4, "answered": 1, "abandoned": 1, "abandoned_short": 1,
                                "service_level": 1.0, "target": 30.0, "ewt_kept": None}
    assert page.queues["billing"]["service_level"][1] == "100%"

    shot = screenshot(board_url(fsrouter, token), tmp_path / "wallboard.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    hang_up_everyone(fsrouter)


def hang_up_everyone(fsrouter) -> None:
    """End every call, so that fsrouter stops at once instead of waiting for them."""
    for channel in list(fsrouter.switch.channels.values()):
        channel.hangup(by="caller")
    fsrouter.wait_until(lambda: fsrouter.api("GET", "/status")["active_calls"] == 0, 5, "calls still up")


def test_without_the_token_the_page_says_how_to_open_it(start_fsrouter):
    chromium()
    fsrouter = start_fsrouter(rules=RULES)
    page = BoardCells(dump_dom(board_url(fsrouter), budget_ms=1000))
    assert page.queues == {}
    assert page.status == "a token is needed: open this page as /wallboard#token=…"
    page = BoardCells(dump_dom(board_url(fsrouter, "wrong"), budget_ms=1000))
    assert page.status == "the token was refused: open this page as /wallboard#token=…"


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
