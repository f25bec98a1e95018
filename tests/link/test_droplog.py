from terminal.link.droplog import DropLedger


def test_one_record_per_span_with_drops_and_none_for_a_quiet_minute():
    ledger = DropLedger(0, {"bad_mac": 5})                  # drops from before the ledger began are not news
    assert ledger.tick({"bad_mac": 5}, 60) is None
    assert ledger.tick({"bad_mac": 7, "under_load": 3000}, 120) == {
        "dropped": 3002, "reasons": "bad_mac:2,under_load:3000", "from_us": 60, "to_us": 120}
    assert ledger.tick({"bad_mac": 7, "under_load": 3000}, 180) is None
    assert ledger.tick({"bad_mac": 8, "under_load": 3000}, 240)["from_us"] == 180
