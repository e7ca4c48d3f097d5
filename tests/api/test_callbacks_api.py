"""`/callbacks` over a real socket: listed in line order and filtered;
cancel and retry as the store allows them, refusals as 404/409/400."""

from __future__ import annotations

import pytest
from supervisor_api import T0, admin  # noqa: F401 - admin is a fixture

from fsrouter.api.client import ClientError


@pytest.fixture
def booked(admin):
    """1 pending (billing), 2 dialing (tech), 3 failed (billing)."""
    store = admin.store
    for queue, number, arrival in (("billing", "+302101111111", T0 - 300), ("tech", "+302102222222", T0 - 400),
                                   ("billing", "+302103333333", T0 - 200)):
        store.book_callback(queue, number, "+302100000000", arrival, 0, {}, booked_at=arrival)
    store.claim(2, "host:42", 60, T0)
    store.claim(3, "host:42", 60, T0)
    store.record_attempt(3, "host:42", "busy", T0, give_up=True)
    return admin


def ids(answer) -> list[tuple[int, str]]:
    return [(c["id"], c["status"]) for c in answer["callbacks"]]


def test_list_in_line_order_and_filtered(booked):
    client = booked.client()
    assert ids(client.get("/callbacks")) == [(2, "dialing"), (1, "pending"), (3, "failed")]
    assert ids(client.get("/callbacks?queue=billing")) == [(1, "pending"), (3, "failed")]
    assert ids(client.get("/callbacks?status=failed&queue=billing")) == [(3, "failed")]
    assert client.get("/callbacks?queue=sales") == {"callbacks": []}
    assert client.get("/callbacks")["callbacks"][1]["number"] == "+302101111111"


def test_cancel_then_retry_at_the_services_time(booked):
    client = booked.client()
    assert client.post("/callbacks/1/cancel")["status"] == "cancelled"
    booked.clock[0] = T0 + 30
    retried = client.post("/callbacks/1/retry")
    assert (retried["status"], retried["next_attempt_at"]) == ("pending", T0 + 30)
    assert booked.store.get(1).status == "pending"


@pytest.mark.parametrize("method, path, status, message", [
    ("POST", "/callbacks/3/cancel", 409, "callback 3 is failed; only pending or dialing can be cancelled"),
    ("POST", "/callbacks/2/retry", 409, "callback 2 is being dialled by 'host:42'"),
    ("POST", "/callbacks/99/retry", 404, "no callback with id 99"),
    ("POST", "/callbacks/x/cancel", 404, "no callback 'x'"),
    ("GET", "/callbacks?status=ringing", 400, "unknown status 'ringing' (statuses: pending, dialing,"),
    ("GET", "/callbacks/1/cancel", 405, "GET is not allowed"),
])
def test_refusals_say_why_with_their_status(booked, method, path, status, message):
    with pytest.raises(ClientError) as refused:
        booked.client().call(method, path)
    assert refused.value.status == status and message in str(refused.value)
