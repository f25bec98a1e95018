"""The summary an auditor signs, at the top of the report: verdicts, fingerprints, witnesses,
the pair's numbers, gaps; and a missed ring with both desks' records side by side."""

from __future__ import annotations

import re

import numpy as np
import pytest
from terminal.journal.signatures import SigningKeys

from host.cli import main
from host.report import build_report
from host.report_stats import utc_text
from terminal.journal import load
from tests.journal.helpers import FakeClock, open_journal, unlock
from tests.report.page import Page
from tests.report.scenario import (built_report, B_INCOMING_ANSWER_MS, FLASH_READ, FLASH_UNREAD, GAP, GAP_S, LINK_OUTAGE_S,
                                   WITNESS_EXCHANGES)

A_INCOMING_ANSWER_MS = [5200]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    s = built_report(tmp_path_factory.mktemp("summary"))
    s["page"] = Page(s["html"].read_text())
    s["data"] = [load(p) for p in s["paths"]]
    return s


def report(tmp_path, paths, keys, name="r.html") -> Page:
    out = tmp_path / name
    build_report(paths, out, keys)
    return Page(out.read_text())


def copy(path, tmp_path):
    target = tmp_path / path.name
    target.write_bytes(path.read_bytes())
    return target


# -- an intact pair ------------------------------------------------------------------

def test_an_intact_pair_says_so_first(scenario):
    page = scenario["page"]
    assert page.first_in_body["data-banner"] == "intact"
    assert page.banners[0]["text"].startswith("Both journals are intact")
    assert not page.title.startswith("NOT INTACT")
    assert page.row("pair")["cells"] == ["Pair", "desk-a and desk-b"]


def test_period_is_first_to_last_record_in_utc(scenario):
    first = min(d.records[0].wall_us for d in scenario["data"])
    last = max(d.records[-1].wall_us for d in scenario["data"])
    text = scenario["page"].row("period")["cells"][1]
    assert text.startswith(f"{utc_text(first)} to {utc_text(last)} (")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", utc_text(first))


@pytest.mark.parametrize("i, unit", [(0, "desk-a"), (1, "desk-b")])
def test_each_verdict_names_its_status_and_spoken_fingerprint(scenario, i, unit):
    row = scenario["page"].row("verdict", unit)
    assert row["data-status"] == "intact" and row["class"] == ""
    assert "intact every record is covered by valid Ed25519 and ML-DSA-65 signatures" in row["text"]
    assert f"spoken fingerprint {scenario['fingerprints'][i]}" in row["text"]
    assert str(scenario["bundles"][i]) in row["text"]
    assert re.fullmatch(r"(\d{5} ){5}\d{5}", scenario["fingerprints"][i])


@pytest.mark.parametrize("unit, peer", [("desk-a", "desk-b"), ("desk-b", "desk-a")])
def test_each_journal_is_checked_against_the_other_as_witness(scenario, unit, peer):
    row = scenario["page"].row("witness", unit)
    assert row["data-witnessed"] == str(WITNESS_EXCHANGES)
    assert f"{WITNESS_EXCHANGES} of {WITNESS_EXCHANGES} checkpoints {peer} witnessed match {unit}'s journal" \
        in row["text"]


def test_pair_answer_rate_worst_and_p95_time_to_answer(scenario):
    page = scenario["page"]
    answers = B_INCOMING_ANSWER_MS + A_INCOMING_ANSWER_MS      # every ring answered, at either desk
    rings = len(answers) + 2
    rate = page.row("answer-rate")
    assert float(rate["data-value"]) == round(len(answers) / rings, 4)
    assert f"{100 * len(answers) / rings:.2f}% ({len(answers)} of {rings} rings answered)" in rate["text"]
    worst, p95 = page.row("worst-answer"), page.row("p95-answer")
    assert int(worst["data-value"]) == max(answers) and worst["text"].endswith(f"{max(answers) / 1000:.1f} s")
    assert int(p95["data-value"]) == round(np.percentile(answers, 95))


def test_missed_rings_are_counted_and_listed(scenario):
    row = scenario["page"].row("missed")
    assert row["data-value"] == "2" and row["class"] == "bad"
    assert "call call-2 at desk-b" in row["text"] and "call call-7 at desk-b" in row["text"]
    assert "rang for 1 min 0 s" in row["text"]


def test_only_the_unread_flash_message_is_listed(scenario):
    row = scenario["page"].row("flash")
    delivered = next(r for r in scenario["data"][1].records
                     if r.kind == "message_delivered" and r.fields["message_id"] == FLASH_UNREAD)
    assert row["data-value"] == "1"
    assert f"message {FLASH_UNREAD} delivered to desk-b at {utc_text(delivered.wall_us)}, never read" in row["text"]
    assert FLASH_READ not in row["text"]


def test_link_availability_of_each_desk(scenario):
    row = scenario["page"].row("link")
    records = scenario["data"][1].records
    span_s = (records[-1].wall_us - records[0].wall_us) / 1e6
    assert f"desk-b: {100 * (1 - LINK_OUTAGE_S / span_s):.2f}% (1 outage(s), down 1 h 0 min in all)" in row["text"]


def test_a_gap_gets_its_own_row_and_a_banner(scenario):
    page = scenario["page"]
    gap = next(r for r in scenario["data"][0].records if r.kind == "gap")
    row = page.row("gap", "desk-a")
    assert row["class"] == "gap" and row["data-lost"] == str(GAP["lost"])
    assert (f"{GAP['lost']} record(s) not written ({GAP['kinds']}) from {utc_text(gap.fields['from_us'])} to "
            f"{utc_text(gap.fields['to_us'])} ({GAP_S // 60} min 0 s): {GAP['reason']}") in row["text"]
    banner = next(b for b in page.banners if b["data-banner"] == "gaps")
    assert "desk-a: 2 record(s) not written" in banner["text"]
    assert not page.find(tag="tr", data_row="gap", data_unit="desk-b")


def test_records_written_late_are_said(scenario):
    row = scenario["page"].row("recovered", "desk-b")
    assert row["data-value"] == "1"
    assert "1 record(s) written late at start-up from the stores after a crash (message_read: 1)" in row["text"]
    assert "from the text store" in row["text"]


def test_every_time_shown_names_utc(scenario):
    text = "".join(scenario["page"].text)
    times = re.findall(r"\d\d:\d\d:\d\d(?:\.\d{3})?( UTC)?", text)
    assert len(times) > 50 and all(times), "a clock time without its zone"
    assert "+00:00" not in text and not re.search(r"\dT\d\d:", text)


# -- journals that are not intact ------------------------------------------------------

def test_a_tampered_journal_is_the_first_thing_on_the_page(scenario, tmp_path):
    a = copy(scenario["paths"][0], tmp_path)
    with unlock(a) as db:
        db.execute("UPDATE records SET fields = '{\"rang_for_ms\":1000}' WHERE kind = 'missed'")
    page = report(tmp_path, [a, scenario["paths"][1]], scenario["expected"])
    assert page.title.startswith("NOT INTACT")
    top = page.first_in_body
    assert top["data-banner"] == "not-intact" and "bad" in top["class"].split()
    banner = page.banners[0]["text"]
    assert banner.startswith("NOT INTACT: 1 of 2 journal(s) fail verification")
    missed = [r.seq for r in scenario["data"][0].records if r.kind == "missed"]
    assert re.search(rf"desk-a: TAMPERED: \d+ problem\(s\); first: record {missed[0]}: contents do not match "
                     r"the record's hash \(edited\)", banner)
    row = page.row("verdict", "desk-a")
    assert row["data-status"] == "TAMPERED" and row["class"] == "not-intact"
    assert scenario["fingerprints"][0] in row["text"]
    assert page.row("verdict", "desk-b")["data-status"] == "intact"


def test_an_unsigned_tail_is_not_intact(scenario, tmp_path):
    b = copy(scenario["paths"][1], tmp_path)
    last = scenario["data"][1].records[-1].seq
    with unlock(b) as db:
        db.execute("DELETE FROM checkpoints WHERE seq > ?", (last - 3,))
    page = report(tmp_path, [scenario["paths"][0], b], scenario["expected"])
    assert page.first_in_body["data-banner"] == "not-intact"
    row = page.row("verdict", "desk-b")
    assert row["data-status"] == "UNSIGNED"
    assert f"3 record(s) after the last valid checkpoint at record {last - 3} are not signed" in row["text"]
    assert page.row("witness", "desk-b")["data-witnessed"] == str(WITNESS_EXCHANGES)


def test_no_signature_at_all(scenario, tmp_path):
    b = copy(scenario["paths"][1], tmp_path)
    with unlock(b) as db:
        db.execute("DELETE FROM checkpoints")
    page = report(tmp_path, [b], [scenario["expected"][1]])
    assert page.row("verdict", "desk-b")["data-status"] == "NO SIGNATURE"
    assert "NOT INTACT" in page.banners[0]["text"]


def test_wrong_key_shows_the_signer_and_the_expected_fingerprint(scenario, tmp_path):
    page = report(tmp_path, [scenario["paths"][0]], [scenario["expected"][1]])
    row = page.row("verdict", "desk-a")
    assert row["data-status"] == "WRONG KEY"
    assert f"signed by fingerprint {scenario['fingerprints'][0]}" in row["text"]
    assert f"expected fingerprint {scenario['fingerprints'][1]} (from {scenario['bundles'][1]})" in row["text"]
    assert "the bundle is unit desk-b's, but the journal file names unit desk-a" in row["text"]
    assert page.first_in_body["data-banner"] == "not-intact"


def test_the_witness_catches_a_cut_that_the_journal_alone_hides(scenario, tmp_path):
    b = copy(scenario["paths"][1], tmp_path)
    keep = 50
    with unlock(b) as db:
        db.execute("DELETE FROM records WHERE seq > ?", (keep,))
        db.execute("DELETE FROM checkpoints WHERE seq > ?", (keep,))
    alone = report(tmp_path, [b], [scenario["expected"][1]], "alone.html")
    assert alone.row("verdict", "desk-b")["data-status"] == "intact"
    assert "one journal given" in alone.row("witness", "desk-b")["text"]
    paired = report(tmp_path, [scenario["paths"][0], b], scenario["expected"], "paired.html")
    row = paired.row("verdict", "desk-b")
    assert row["data-status"] == "TAMPERED"
    assert "is missing: the peer witnessed this unit's checkpoint at record" in row["text"]


def _stranger(tmp_path, *, witnesses_someone: bool):
    """A unit of another pair: its journal witnesses a third unit, or nobody."""
    clock = FakeClock()
    key = SigningKeys.generate()
    path = tmp_path / "c.db"
    with open_journal(path, key, clock, unit="desk-c") as j:
        j.append("boot", version="1.0")
        if witnesses_someone:
            j.append("peer_checkpoint", seq=1, hash="00" * 32, wall_us=0, signature="00" * 64, signer="11" * 32)
    return path


def test_a_witness_from_another_pair_is_refused_in_words(scenario, tmp_path):
    page = report(tmp_path, [scenario["paths"][0], _stranger(tmp_path, witnesses_someone=True)],
                  [scenario["expected"][0], None])
    row = page.row("witness", "desk-a")
    assert row["data-witnessed"] == "0" and row["class"] == "warn"
    assert "not checked:" in row["text"] and "a witness journal from a different pair" in row["text"]
    assert page.row("verdict", "desk-a")["data-status"] == "intact"


def test_a_peer_journal_without_witnessed_checkpoints_says_so(scenario, tmp_path):
    page = report(tmp_path, [scenario["paths"][0], _stranger(tmp_path, witnesses_someone=False)],
                  [scenario["expected"][0], None])
    row = page.row("witness", "desk-a")
    assert row["data-witnessed"] == "0"
    assert "no witnessed checkpoints: desk-c's journal holds none of desk-a's signed checkpoints" in row["text"]
    assert page.row("verdict", "desk-c")["text"].count("the key the journal file names itself") == 1
    assert page.banners[0]["data-banner"] == "untrusted-key"


# -- missed rings, both sides ---------------------------------------------------------

def _side(page: Page, call_id: str, unit: str) -> list[dict]:
    """The record rows of `unit`'s side of the missed-ring block of `call_id`."""
    def inside(e, **want):
        return any(all(p.get(k.replace("_", "-")) == v for k, v in want.items()) for p in e["parents"])
    return [e for e in page.elements if e["tag"] == "tr" and "data-kind" in e
            and inside(e, tag="div", data_call=call_id) and inside(e, tag="div", data_unit=unit)]


def test_a_missed_ring_shows_both_desks_records_side_by_side(scenario):
    page = scenario["page"]
    block = page.find(tag="div", data_call="call-2")[0]
    assert block["id"] == "missed-call-2"
    assert block["text"].index("desk-b's journal (rang here)") < block["text"].index("desk-a's journal (the caller)")
    b_rows, a_rows = _side(page, "call-2", "desk-b"), _side(page, "call-2", "desk-a")
    assert [r["data-kind"] for r in b_rows] == ["ring_started", "escalation", "missed", "peer_call_outcome"]
    assert [r["data-kind"] for r in a_rows] == ["ring_started", "peer_ringing", "missed", "peer_call_outcome"]
    assert "rang for 1 min 0 s, not answered" in b_rows[2]["text"]
    assert "the peer's own summary: missed, incoming there, rang for 1 min 0 s, 1 escalation step(s)" \
        in a_rows[3]["text"]
    assert re.search(r"14:14:20\.600 UTC", b_rows[2]["text"])


def test_missed_rings_stand_out_in_the_line_up(scenario):
    rows = scenario["page"].find(tag="tr", data_missed="true")
    assert sorted(r["data-call"] for r in rows) == ["call-2", "call-7"]
    assert all(r["class"] == "missed" and "MISSED" in r["text"] for r in rows)
    assert all(r["class"] == "" for r in scenario["page"].find(tag="tr", data_missed="false"))


def test_one_journal_still_shows_the_peers_view_of_a_missed_ring(scenario, tmp_path):
    page = report(tmp_path, [scenario["paths"][1]], [scenario["expected"][1]])
    block = page.find(tag="div", data_call="call-7")[0]
    assert "desk-b's journal (rang here)" in block["text"]
    assert "The peer's journal" in block["text"] and "not given" in block["text"]
    assert "the peer's own summary: missed, outgoing there" in block["text"]


# -- where the keys come from -------------------------------------------------------------

def test_raw_signing_keys_say_ed25519_only_and_still_get_spoken_fingerprints_from_the_files(scenario, tmp_path):
    """A bare Ed25519 key cannot check an ML-DSA-65 signature: never `intact`, and said why."""
    page = report(tmp_path, scenario["paths"], scenario["keys"])
    for i, unit in enumerate(("desk-a", "desk-b")):
        row = page.row("verdict", unit)
        assert row["data-status"] == "ED25519 ONLY"
        assert "only the Ed25519 signatures were checked (no ML-DSA-65 key was given" in row["text"]
        assert f"spoken fingerprint {scenario['fingerprints'][i]} (key: the signing key given)" in row["text"]


def test_the_units_identities_as_hotline_sim_gives_them_are_intact(scenario, tmp_path):
    from terminal.journal.audit import ExpectedKey
    keys = [ExpectedKey.of_identity(identity, f"unit {u}") for identity, u in zip(scenario["identities"], "AB")]
    page = report(tmp_path, scenario["paths"], keys)
    for i, unit in enumerate(("desk-a", "desk-b")):
        row = page.row("verdict", unit)
        assert row["data-status"] == "intact"
        assert "valid Ed25519 and ML-DSA-65 signatures" in row["text"]


def test_cli_report_verifies_against_the_bundles(scenario, tmp_path):
    out = tmp_path / "cli.html"
    argv = ["report", *map(str, scenario["paths"]), "--out", str(out)]
    for bundle in scenario["bundles"]:
        argv += ["--bundle", str(bundle)]
    assert main(argv) == 0
    page = Page(out.read_text())
    for i, unit in enumerate(("desk-a", "desk-b")):
        assert f"(key: {scenario['bundles'][i]})" in page.row("verdict", unit)["text"]
    swapped = ["report", *map(str, scenario["paths"]), "--out", str(out),
               "--bundle", str(scenario["bundles"][1]), "--bundle", str(scenario["bundles"][0])]
    assert main(swapped) == 1                      # a report with a journal not intact exits 1
    assert Page(out.read_text()).row("verdict", "desk-a")["data-status"] == "WRONG KEY"
