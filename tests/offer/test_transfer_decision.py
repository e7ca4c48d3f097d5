"""Where a warm transfer goes and what it adds to the call (offer/transfer.py): pure."""

from fsrouter.offer.transfer import decide
from fsrouter.rules.plan import TransferCode, TransferSettings

CAPPED = TransferSettings({"1": TransferCode("billing", "billing dispute")}, max_transfers=2, over_cap="supervisor")


def test_the_first_transfer_adds_the_context():
    d = decide(CAPPED, "billing", "billing dispute", {"topic": "router"}, "Becky", "Becky")
    assert (d.queue, d.over_cap) == ("billing", False)
    assert d.variables == {"transfers": "1", "transfer_from": "Becky", "transfer_note": "billing dispute",
                           "previous_agents": "Becky"}


def test_the_count_and_the_agents_grow():
    d = decide(CAPPED, "sales", "back", {"transfers": "1", "previous_agents": "Becky"}, "Nikos", "supervisor")
    assert d.variables == {"transfers": "2", "transfer_from": "supervisor", "transfer_note": "back",
                           "previous_agents": "Becky, Nikos"}


def test_past_the_cap_the_call_goes_to_over_cap():
    d = decide(CAPPED, "sales", "again", {"transfers": "2"}, "Maria", "Maria")
    assert (d.queue, d.over_cap, d.variables["transfers"]) == ("supervisor", True, "3")


def test_past_the_cap_without_over_cap_is_refused():
    d = decide(TransferSettings({}, max_transfers=1), "sales", "", {"transfers": "1"}, "Maria", "Maria")
    assert (d.queue, d.variables) == (None, {})
    assert d.refusal == "the call was transferred 1 time already (max_transfers 1)"


def test_a_queue_without_transfer_settings_allows_three_and_a_bad_count_reads_as_none():
    assert decide(None, "sales", "", {"transfers": "2"}, "A", "A").queue == "sales"
    assert decide(None, "sales", "", {"transfers": "3"}, "A", "A").queue is None
    assert decide(None, "sales", "", {"transfers": "-5"}, "A", "A").variables["transfers"] == "1"
