"""AgentPresence and the sweep's pure parts: dial strings, registrations, leg marks."""

import pytest
from runtime_fakes import channels, registrations, sofia

from fsrouter.acd.model import AgentSpec
from fsrouter.runtime import orphan_legs
from fsrouter.runtime.agent_presence import AgentPresence, refused_unregistered, tracked_user
from fsrouter.runtime.switch_tables import ShowError, show_rows


@pytest.mark.parametrize("dial, user", [
    ("user/1001", "1001"),
    ("user/1001@example.com", "1001"),
    ("{ignore_early_media=true}user/1001", "1001"),
    ("sofia/internal/1001", "1001"),
    ("sofia/internal/1001%example.com", "1001"),
    ("sofia/internal/1001@10.0.0.5:5060", ""),  # a SIP URI with a host: no registration needed
    ("sofia/internal/sip:1001@10.0.0.5", ""),
    ("sofia/gateway/carrier/+302101234567", ""),
    ("loopback/1001/default", ""),
    ("user/1001,user/1002", ""),  # several endpoints: reachable if any is
    ("user/1001|user/1002", ""),
    ("", ""),
])
def test_which_dial_strings_follow_a_registration(dial, user):
    assert tracked_user(dial) == user


def agents(*pairs):
    return AgentPresence([AgentSpec(agent_id, agent_id, dial, {"s": 1}) for agent_id, dial in pairs])


def test_the_registrations_say_who_is_reachable_and_untracked_agents_are_left_alone():
    presence = agents(("a", "user/1001"), ("b", "sofia/internal/1002"), ("c", "user/1001@x"),
                      ("gw", "sofia/gateway/carrier/+30210"))
    changes = presence.on_registrations(registrations("1002", "9999"), presence.mark())
    assert sorted(changes) == [("a", False), ("b", True), ("c", False)]
    assert presence.tracks("a") and not presence.tracks("gw")
    assert sorted(presence.on_registrations(registrations(), presence.mark())) == [
        ("a", False), ("b", False), ("c", False)]


def test_a_registration_event_heard_after_the_question_outranks_the_answer():
    presence = agents(("a", "user/1001"), ("b", "user/1002"))
    mark = presence.mark()
    assert presence.on_event(sofia("sofia::register", "1001")) == [("a", True)]
    assert presence.on_registrations(registrations(), mark) == [("b", False)]
    assert presence.on_event(sofia("sofia::expire", "1002")) == [("b", False)]
    assert sorted(presence.on_registrations(registrations("1002"), presence.mark())) == [
        ("a", False), ("b", True)]


@pytest.mark.parametrize("body", ["-ERR SQL disabled, no data available!\n", "", "[]", '{"rows": []}',
                                  '{"row_count": 1, "rows": {"reg_user": "1001"}}', '{"row_count": 1, "rows": [1]}'])
def test_an_answer_that_is_not_show_json_is_an_error(body):
    with pytest.raises(ShowError):
        agents(("a", "user/1001")).on_registrations(body, 0)


def test_show_rows_reads_both_forms_show_function_writes():
    assert show_rows('{"row_count": 0}\n') == []
    assert show_rows('{"row_count":1,"rows":[{"uuid":"u1","presence_data":""}]}') == [
        {"uuid": "u1", "presence_data": ""}]


@pytest.mark.parametrize("result, unregistered", [
    ("-ERR USER_NOT_REGISTERED\n", True),
    ("-ERR SUBSCRIBER_ABSENT\n", True),
    ("-ERR user_not_registered", True),
    ("-ERR NO_ANSWER\n", False),
    ("-ERR\n", False),
    ("+OK USER_NOT_REGISTERED\n", False),
])
def test_originate_results_that_say_the_phone_is_not_registered(result, unregistered):
    assert refused_unregistered(result) is unregistered


def test_legs_are_marked_for_the_listing_that_finds_them():
    mark = orphan_legs.marker(orphan_legs.CUSTOMER, "fs-a")
    assert mark == {"fsrouter_leg": "customer", "fsrouter_owner": "fs-a", "presence_data": "fsrouter:customer:fs-a"}
    assert orphan_legs.listing("fs-a") == "show channels like fsrouter:%:fs-a as json"
    with pytest.raises(ValueError):
        orphan_legs.marker("caller", "fs-a")
    assert orphan_legs.instance_id("host name;'%_x") == "host-name---_x"
    assert orphan_legs.instance_id("") == "fsrouter"


def test_orphans_are_this_instances_marked_legs_that_no_call_owns():
    body = channels(("parked", "fsrouter:agent:fs-a"), ("owned", "fsrouter:agent:fs-a"),
                    ("customer", "fsrouter:customer:fs-a"), ("other", "fsrouter:agent:fs-b"),
                    ("prefix", "fsrouter:agent:fs-ab"), ("unmarked", ""))
    assert orphan_legs.orphans(body, "fs-a", {"owned"}) == ["parked", "customer"]
    assert orphan_legs.orphans('{"row_count": 0}\n', "fs-a", ()) == []
    with pytest.raises(ShowError):
        orphan_legs.orphans("-ERR SQL disabled, no data available!\n", "fs-a", ())
