"""`/notices` over a real socket: switched on, listed, replaced, cleared,
expired; bad input refused with a 400 that says why, and nothing stored."""

from __future__ import annotations

import pytest
from supervisor_api import T0, admin  # noqa: F401 - admin is a fixture

from fsrouter.api.client import ClientError


def refused(admin, method, path, body=None) -> ClientError:
    with pytest.raises(ClientError) as caught:
        admin.client().call(method, path, body)
    return caught.value


def test_a_notice_is_switched_on_listed_and_stored(admin):
    answer = admin.client().post("/notices", {"scope": "line:+302101234567", "prompt": "notices/outage_athens",
                                              "until": "18:00"})
    notice = answer["notice"]
    assert notice["scope"] == "line:+302101234567" and notice["prompt"] == "notices/outage_athens"
    assert notice["expires_at"] == T0 + 8 * 3600  # 18:00 in the rules' time zone, today
    assert notice["ends"] == "2026-12-07 18:00:00 EET"
    assert answer["replaced"] is None and answer["warnings"] == []
    assert admin.client().get("/notices") == {"notices": [notice]}
    assert [n.id for n in admin.store.notices_on()] == [notice["id"]]


def test_switching_on_answers_201_created(admin):
    answer = admin.router.dispatch("POST", "/notices", b'{"scope": "global", "prompt": "notices/outage_athens"}')
    assert answer.status == 201 and b'"scope": "global"' in answer.body


def test_a_new_notice_for_the_same_scope_replaces_the_old(admin):
    first = admin.client().post("/notices", {"scope": "queue:billing", "prompt": "notices/outage_athens"})
    second = admin.client().post("/notices", {"scope": "queue:billing", "prompt": "notices/invoice_error",
                                              "for": "2h"})
    assert second["replaced"]["id"] == first["notice"]["id"]
    assert second["notice"]["expires_at"] == T0 + 7200
    assert [n["prompt"] for n in admin.client().get("/notices")["notices"]] == ["notices/invoice_error"]


def test_clear_by_id_and_by_scope(admin):
    line = admin.client().post("/notices", {"scope": "line:5000", "prompt": "notices/outage_athens"})["notice"]
    admin.client().post("/notices", {"scope": "queue:billing", "prompt": "notices/outage_athens"})
    assert admin.client().delete(f"/notices/{line['id']}")["cleared"][0]["id"] == line["id"]
    assert [n["scope"] for n in admin.client().delete("/notices?scope=queue:billing")["cleared"]] == ["queue:billing"]
    assert admin.client().get("/notices") == {"notices": []}
    assert admin.store.notices_on() == []
    again = refused(admin, "DELETE", f"/notices/{line['id']}")
    assert (again.status, str(again)) == (404, f"DELETE /notices/{line['id']}: 404 no notice {line['id']} is on")
    assert refused(admin, "DELETE", "/notices?scope=global").status == 404
    assert refused(admin, "DELETE", "/notices/abc").status == 404
    assert "DELETE /notices/ID or DELETE /notices?scope=SCOPE" in str(refused(admin, "DELETE", "/notices"))


def test_an_expired_notice_is_no_longer_listed(admin):
    admin.client().post("/notices", {"scope": "line:5000", "prompt": "notices/outage_athens", "for": "2s"})
    admin.clock[0] = T0 + 1.9
    assert len(admin.client().get("/notices")["notices"]) == 1
    admin.clock[0] = T0 + 2
    assert admin.client().get("/notices") == {"notices": []}


def test_a_notice_for_a_prompt_that_does_not_exist_is_refused_with_the_list_of_those_that_do(admin):
    error = refused(admin, "POST", "/notices", {"scope": "global", "prompt": "notices/outage_paris"})
    assert error.status == 400
    assert str(error) == ('POST /notices: 400 no prompt "notices/outage_paris" in every language of the rules'
                          " (el, en); the notices prompts there are: notices/invoice_error, notices/outage_athens")
    # one language short is as missing: the Greek line's callers would hear nothing
    assert "no prompt \"notices/half_done\"" in str(refused(admin, "POST", "/notices",
                                                           {"scope": "global", "prompt": "notices/half_done"}))
    assert admin.store.notices_on() == []


@pytest.mark.parametrize("body, message", [
    ({"scope": "city:athens", "prompt": "notices/outage_athens"}, "bad notice scope 'city:athens'"),
    ({"scope": "queue:sales", "prompt": "notices/outage_athens"}, 'no queue "sales" in the rules'),
    ({"scope": "global", "prompt": "../secret"}, "bad prompt '../secret'"),
    ({"scope": "global", "prompt": "notices/outage_athens", "until": "25:00"}, "bad end time '25:00'"),
    ({"scope": "global", "prompt": "notices/outage_athens", "for": "2 hours"}, "bad duration '2 hours'"),
    ({"scope": "global", "prompt": "notices/outage_athens", "for": "2h", "until": "18:00"}, "not both"),
    ({"scope": "global", "prompt": "notices/outage_athens", "until": "2026-12-06 18:00"}, "has passed"),
    ({"scope": "global"}, "prompt is required"),
    ({"prompt": "notices/outage_athens"}, "scope is required"),
    ({"scope": "global", "prompt": "notices/outage_athens", "colour": "red"}, "unknown field 'colour'"),
    ({"scope": ["global"], "prompt": "notices/outage_athens"}, "scope must be a string"),
])
def test_bad_input_is_a_400_saying_why_and_nothing_is_stored(admin, body, message):
    error = refused(admin, "POST", "/notices", body)
    assert error.status == 400 and message in str(error)
    assert admin.store.notices_on() == []


def test_a_notice_nobody_would_hear_is_stored_with_a_warning(admin):
    answer = admin.client().post("/notices", {"scope": "brand:initech", "prompt": "notices/outage_athens"})
    assert answer["warnings"] == ['the rules give no call brand "initech"']
    assert [n["scope"] for n in admin.client().get("/notices")["notices"]] == ["brand:initech"]
