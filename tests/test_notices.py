"""Notices without a clock or a store: scopes, end times, which one a call
hears (a fake clock), and the chain from an operator's scope to the
`notice:` step of the rules."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fsrouter.flow import CallMachine
from fsrouter.flow.commands import Collect, Transfer
from fsrouter.flow.events import MediaDone
from fsrouter.notices import (
    Notice, NoticeBoard, NoticeError, Scope, check_prompt_id, check_scope_in_plan, expiry, heard, parse_scope,
)
from fsrouter.rules import compile_rules, compile_source

ATHENS = ZoneInfo("Europe/Athens")
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=ATHENS).timestamp()

RULES = Path(__file__).parent / "rules" / "good" / "notices.yaml"


@pytest.fixture(scope="module")
def plan():
    return compile_rules(RULES)


def notice(scope: str, prompt="notices/outage_athens", *, id=1, expires_at=None, cleared_at=None) -> Notice:
    return Notice(id, scope, prompt, created_at=T0 - 60, expires_at=expires_at, cleared_at=cleared_at)


# -- scopes --------------------------------------------------------------------


@pytest.mark.parametrize("text, scope", [
    ("line:+302101234567", Scope("line", "+302101234567")),
    ("brand:acme", Scope("brand", "acme")),
    ("queue:billing", Scope("queue", "billing")),
    ("global", Scope("global")),
])
def test_scopes_parse_to_the_keys_the_rules_render(text, scope):
    assert parse_scope(text) == scope
    assert scope.key == text


@pytest.mark.parametrize("text, why", [
    ("", "expected line:NUMBER"),
    ("city:athens", "expected line:NUMBER"),
    ("line:", "wants a dialled number"),
    ("line:+30 210", "wants a dialled number"),
    ("brand:ac me", "wants a name"),
    ("queue:", "wants a name"),
    ("global:x", "global takes no value"),
    ("Line:5000", "expected line:NUMBER"),
    ("brand:" + "a" * 101, "wants a name"),
])
def test_bad_scopes_are_refused_saying_what_is_expected(text, why):
    with pytest.raises(NoticeError, match=why):
        parse_scope(text)


def test_a_scope_naming_an_unknown_queue_is_refused_with_the_queues(plan):
    with pytest.raises(NoticeError, match=r'no queue "sales" in the rules \(queues: billing\)'):
        check_scope_in_plan(parse_scope("queue:sales"), plan)


def test_a_notice_nobody_would_hear_is_warned_about():
    plan = compile_source(RULES.read_text().replace("    - notice: brand\n", "").replace("    - notice: global\n", ""))
    assert check_scope_in_plan(parse_scope("line:5000"), plan) == []
    assert check_scope_in_plan(parse_scope("global"), plan) == [
        "no notice: step of the rules plays global notices: nobody will hear it"]
    assert "nobody will hear it" in check_scope_in_plan(parse_scope("brand:acme"), plan)[0]


def test_lines_and_brands_the_rules_do_not_name_are_warned_about(plan):
    assert check_scope_in_plan(parse_scope("line:+302109999999"), plan) == [
        "the rules have no line +302109999999 (heard only if a route takes calls to it)"]
    assert check_scope_in_plan(parse_scope("brand:initech"), plan) == ['the rules give no call brand "initech"']
    assert check_scope_in_plan(parse_scope("brand:globex"), plan) == []


@pytest.mark.parametrize("prompt", ["notices/../etc/passwd", "notices/outage.wav", "/notices/x", "", "a b",
                                    "notices/{brand}", "x" * 201])
def test_prompt_ids_are_plain_paths_of_names(prompt):
    with pytest.raises(NoticeError, match="bad prompt"):
        check_prompt_id(prompt)
    assert check_prompt_id("notices/outage_athens") == "notices/outage_athens"


# -- end times -------------------------------------------------------------------


def local(text: str, tz=ATHENS) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


def test_no_end_time_lasts_until_cleared():
    assert expiry(T0, ATHENS) is None


def test_a_duration_counts_from_now():
    assert expiry(T0, ATHENS, lasting="2h") == T0 + 7200
    assert expiry(T0, ATHENS, lasting="90") == T0 + 90


def test_a_time_of_day_is_today_in_the_rules_time_zone_while_ahead_else_tomorrow():
    assert expiry(T0, ATHENS, until="18:00") == local("2026-12-07 18:00")
    assert expiry(T0, ATHENS, until="09:30") == local("2026-12-08 09:30")
    assert expiry(T0, ATHENS, until="10:00") == local("2026-12-08 10:00")  # now is not ahead
    # the same instant in UTC rules is 08:00 there: 09:00 UTC is still today
    assert expiry(T0, ZoneInfo("UTC"), until="09:00") == local("2026-12-07 09:00", ZoneInfo("UTC"))


def test_a_time_of_day_across_a_clock_change_is_the_local_time_of_that_day():
    before_dst_ends = datetime(2026, 10, 24, 20, 0, tzinfo=ATHENS).timestamp()  # clocks go back at 04:00
    assert expiry(before_dst_ends, ATHENS, until="18:00") == local("2026-10-25 18:00")
    assert local("2026-10-25 18:00") - before_dst_ends == 23 * 3600  # a 25-hour day in between


def test_a_date_and_time_must_be_ahead():
    assert expiry(T0, ATHENS, until="2026-12-09 08:15") == local("2026-12-09 08:15")
    assert expiry(T0, ATHENS, until="2026-12-09T08:15") == local("2026-12-09 08:15")
    with pytest.raises(NoticeError, match="has passed"):
        expiry(T0, ATHENS, until="2026-12-06 18:00")


@pytest.mark.parametrize("until", ["18", "24:00", "18:60", "6pm", "2026-13-01 10:00", "2026-12-09", "tomorrow"])
def test_bad_end_times_are_refused(until):
    with pytest.raises(NoticeError, match="bad end time"):
        expiry(T0, ATHENS, until=until)


@pytest.mark.parametrize("lasting", ["0", "2 hours", "-5m", "1d", "", "9999999999h"])
def test_bad_durations_are_refused(lasting):
    with pytest.raises(NoticeError, match="bad duration"):
        expiry(T0, ATHENS, lasting=lasting)


def test_an_end_time_and_a_duration_together_are_refused():
    with pytest.raises(NoticeError, match="not both"):
        expiry(T0, ATHENS, until="18:00", lasting="2h")


# -- which notice a call hears -------------------------------------------------------


def test_heard_is_the_live_notice_of_that_key_only():
    notices = {"line:5000": notice("line:5000", expires_at=T0 + 10)}
    assert heard(notices, "line:5000", T0) == "notices/outage_athens"
    assert heard(notices, "line:5000", T0 + 9.999) == "notices/outage_athens"
    assert heard(notices, "line:5000", T0 + 10) is None  # expired: silent
    assert heard(notices, "line:5001", T0) is None
    assert heard(notices, "global", T0) is None  # a line's notice is not everyone's
    assert heard({"global": notice("global", cleared_at=T0 - 1)}, "global", T0) is None


def test_the_board_keeps_one_notice_per_scope_the_newest():
    board = NoticeBoard()
    first = notice("queue:billing", "notices/outage_athens", id=1)
    second = notice("queue:billing", "notices/invoice_error", id=2)
    assert board.put(first) is None
    assert board.put(second) == first
    assert board.prompt_for("queue:billing", T0) == "notices/invoice_error"
    assert board.put(first) is None  # late news of the older one changes nothing
    assert board.prompt_for("queue:billing", T0) == "notices/invoice_error"
    board.remove(first)  # clearing the replaced one leaves the newer on
    assert board.prompt_for("queue:billing", T0) == "notices/invoice_error"
    board.remove(second)
    assert board.prompt_for("queue:billing", T0) is None


def test_a_clearing_heard_before_the_switching_on_wins():
    board = NoticeBoard()
    late = notice("global", id=4)
    board.remove(late)  # the store cleared it just after switching it on; the news crossed
    assert board.put(late) is None
    assert board.prompt_for("global", T0) is None
    board.put(notice("global", id=5))  # a later one is on
    assert board.prompt_for("global", T0) == "notices/outage_athens"


def test_the_board_lists_live_notices_and_forgets_expired_ones():
    board = NoticeBoard()
    board.put(notice("global", id=3, expires_at=T0 + 5))
    board.put(notice("line:5000", id=1))
    assert [n.id for n in board.live(T0)] == [1, 3]
    assert [n.id for n in board.live(T0 + 5)] == [1]
    assert board.prompt_for("global", T0) is None  # dropped: even asked with an earlier time


# -- the chain: an operator's scope to the rules' notice: step -------------------------------


def run_to_menu(plan, number: str, board: NoticeBoard, now: float = T0) -> list[str]:
    """Start a call on `number` and play everything up to the menu; the sounds heard."""
    m = CallMachine(plan, {"destination_number": number, "uuid": "u1"}, now=now, notices=board.prompt_for)
    commands = m.start(now)
    sounds = []
    while not isinstance(commands[-1], Collect):
        sounds += commands[-1].sounds
        commands = m.feed(MediaDone(commands[-1].command_id), now)
    return sounds


@pytest.mark.parametrize("scope, number, heard_sounds", [
    ("global", "5000", ["en/notices/outage_athens.wav"]),
    ("line:+302101234567", "+302101234567", ["el/notices/outage_athens.wav"]),  # in the line's language
    ("line:+302101234567", "5000", []),
    ("brand:globex", "5000", ["en/notices/outage_athens.wav"]),
    ("brand:globex", "+302101234567", []),
    ("queue:billing", "5000", ["en/notices/outage_athens.wav"]),
])
def test_a_notice_set_for_a_scope_is_heard_at_the_notice_step_of_that_scope(plan, scope, number, heard_sounds):
    board = NoticeBoard()
    board.put(notice(parse_scope(scope).key))
    assert run_to_menu(plan, number, board) == heard_sounds


def test_every_scope_at_once_plays_in_the_steps_order(plan):
    board = NoticeBoard()
    for i, scope in enumerate(["queue:billing", "brand:acme", "line:+302101234567", "global"], 1):
        board.put(notice(scope, f"notices/n{i}", id=i))
    assert run_to_menu(plan, "+302101234567", board) == [
        "el/notices/n4.wav", "el/notices/n3.wav", "el/notices/n2.wav", "el/notices/n1.wav"]


def test_the_notice_is_asked_for_when_the_step_is_reached_not_at_the_call_start(plan):
    board = NoticeBoard()
    m = CallMachine(plan, {"destination_number": "5000", "uuid": "u1"}, now=T0, notices=board.prompt_for)
    # notice steps with nothing on are instant: the caller is at the menu already
    (menu,) = [c for c in m.start(T0) if isinstance(c, Collect)]
    board.put(notice("global"))  # switched on now: this caller is past the step
    assert m.feed(MediaDone(menu.command_id, digits="0"), T0 + 1) == [Transfer("operator")]
    assert run_to_menu(plan, "5000", board, T0 + 2) == ["en/notices/outage_athens.wav"]  # the next caller


def test_an_expired_notice_is_silent_for_the_caller_reaching_it_after_the_end(plan):
    board = NoticeBoard()
    board.put(notice("global", expires_at=T0 + 30))
    assert run_to_menu(plan, "5000", board, T0 + 29) == ["en/notices/outage_athens.wav"]
    assert run_to_menu(plan, "5000", board, T0 + 30) == []


def test_a_stored_prompt_that_is_not_a_sound_id_is_skipped_not_played(plan):
    board = NoticeBoard()
    board.put(notice("global", "../../etc/passwd"))
    assert run_to_menu(plan, "5000", board) == []
