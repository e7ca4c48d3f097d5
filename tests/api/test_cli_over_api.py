"""`fsrouter notice` and `fsrouter callbacks` in-process, talking to the
service's API as they do by default: what they print, and refusals as one
line with exit status 1 (usage mistakes: 2)."""

from __future__ import annotations

import json

import pytest
from supervisor_api import T0, admin  # noqa: F401 - admin is a fixture


def test_notice_set_list_clear(admin):
    on = admin.cli("notice", "set", "--scope", "line:+302101234567", "--prompt", "notices/outage_athens",
                   "--until", "18:00")
    assert (on.exit_code, on.stderr) == (0, "")
    notice_id = admin.store.notices_on()[0].id
    assert on.stdout == (f"notice {notice_id} on for line:+302101234567: notices/outage_athens, "
                         "until 2026-12-07 18:00:00 EET\n")
    listed = admin.cli("notice", "list")
    header, row = listed.stdout.splitlines()
    assert header.split() == ["ID", "SCOPE", "PROMPT", "ENDS"]
    assert row.split() == [str(notice_id), "line:+302101234567", "notices/outage_athens", "2026-12-07",
                           "18:00:00", "EET"]
    cleared = admin.cli("notice", "clear", "--scope", "line:+302101234567")
    assert cleared.stdout == f"notice {notice_id} cleared (line:+302101234567: notices/outage_athens)\n"
    assert admin.cli("notice", "list").stdout == "no notices on\n"


def test_notice_set_again_says_what_it_replaces_and_warns_of_a_brand_the_rules_do_not_give(admin):
    first = json.loads(admin.cli("notice", "set", "--scope", "brand:initech", "--prompt", "notices/outage_athens",
                                 "--json").stdout)
    again = admin.cli("notice", "set", "--scope", "brand:initech", "--prompt", "notices/invoice_error",
                      "--for", "2h")
    assert again.exit_code == 0
    assert again.stdout.endswith(f"until 2026-12-07 12:00:00 EET (replaces notice {first['notice']['id']})\n")
    assert again.stderr == 'warning: the rules give no call brand "initech"\n'
    cleared = admin.cli("notice", "clear", str(first["notice"]["id"] + 1))
    assert cleared.exit_code == 0 and admin.store.notices_on() == []


def test_an_unknown_prompt_is_one_line_listing_those_there_are(admin):
    result = admin.cli("notice", "set", "--scope", "global", "--prompt", "notices/outage_paris")
    assert result.exit_code == 1
    assert result.stderr == ('Error: POST /notices: 400 no prompt "notices/outage_paris" in every language of'
                             " the rules (el, en); the notices prompts there are: notices/invoice_error,"
                             " notices/outage_athens\n")
    assert admin.store.notices_on() == []


@pytest.mark.parametrize("args, message", [
    (["--until", "25:00"], "bad end time '25:00'"),
    (["--until", "6pm"], "bad end time '6pm'"),
    (["--for", "two hours"], "bad duration 'two hours'"),
    (["--until", "2026-12-01 09:00"], "has passed"),
])
def test_a_bad_time_is_one_line_exit_1(admin, args, message):
    result = admin.cli("notice", "set", "--scope", "global", "--prompt", "notices/outage_athens", *args)
    assert result.exit_code == 1 and message in result.stderr and len(result.stderr.splitlines()) == 1
    assert admin.store.notices_on() == []


@pytest.mark.parametrize("args, message", [
    (["set", "--scope", "city:athens", "--prompt", "notices/outage_athens"], "bad notice scope 'city:athens'"),
    (["set", "--scope", "line:", "--prompt", "notices/outage_athens"], "wants a dialled number"),
    (["set", "--scope", "global", "--prompt", "notices/outage_athens", "--for", "1h", "--until", "18:00"],
     "give --until or --for, not both"),
    (["set", "--prompt", "notices/outage_athens"], "Missing option '--scope'"),
    (["clear"], "give a notice ID or --scope"),
    (["clear", "3", "--scope", "global"], "give a notice ID or --scope"),
    (["clear", "three"], "'three' is not a valid integer"),
])
def test_usage_mistakes_exit_2_and_ask_nothing(admin, args, message):
    result = admin.cli("notice", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_a_queue_the_rules_do_not_have_is_refused_by_the_service(admin):
    result = admin.cli("notice", "set", "--scope", "queue:sales", "--prompt", "notices/outage_athens")
    assert result.exit_code == 1
    assert result.stderr == 'Error: POST /notices: 400 no queue "sales" in the rules (queues: billing)\n'


def test_clearing_what_is_not_on_is_one_line(admin):
    result = admin.cli("notice", "clear", "42")
    assert (result.exit_code, result.stderr) == (1, "Error: DELETE /notices/42: 404 no notice 42 is on\n")


def test_callbacks_through_the_api(admin):
    for number, arrival in (("+302101111111", T0 - 300), ("+302102222222", T0 - 100)):
        admin.store.book_callback("billing", number, "+302100000000", arrival, 0, {}, booked_at=arrival)
    listed = admin.cli("callbacks", "list", "--status", "pending")
    assert [line.split()[:4] for line in listed.stdout.splitlines()] == [
        ["ID", "STATUS", "QUEUE", "NUMBER"], ["1", "pending", "billing", "+302101111111"],
        ["2", "pending", "billing", "+302102222222"]]
    assert admin.cli("callbacks", "cancel", "2").stdout == "callback 2 to +302102222222 (billing): cancelled\n"
    assert admin.store.get(2).status == "cancelled"
    assert json.loads(admin.cli("callbacks", "list", "--status", "cancelled", "--json").stdout)[0]["id"] == 2
    refused = admin.cli("callbacks", "cancel", "2")
    assert (refused.exit_code, refused.stderr) == (
        1, "Error: POST /callbacks/2/cancel: 409 callback 2 is cancelled; only pending or dialing can be cancelled\n")
    assert admin.cli("callbacks", "retry", "2").stdout == "callback 2 to +302102222222 (billing): pending again, due now\n"
    assert admin.store.get(2).next_attempt_at == T0
