"""The auditor's report: its numbers, and the HTML as real headless chromium renders it."""

from __future__ import annotations

import base64
import io
import json
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from host.report import build_report, summarize
from tests.emulation import needs_browser
from tests.journal.helpers import unlock
from tests.report.scenario import B_INCOMING_ANSWER_MS, LINK_OUTAGE_S, built_report
from terminal.journal import load

CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
# Injected into a copy of the report so the dumped DOM says what the browser decoded.
PROBE = """<script>window.addEventListener('load', () => {
  for (const img of document.images) img.setAttribute('data-natural', img.naturalWidth + 'x' + img.naturalHeight);
  document.body.setAttribute('data-probed', 'yes');
});</script></body>"""
# The colour each chart draws its data in (report_charts): green/red bars, blue histogram/line, squares.
DATA_COLOURS = {"answer-rate": [(46, 125, 50), (198, 40, 40)], "time-to-answer": [(21, 101, 192)],
                "missed": [(198, 40, 40)], "link": [(21, 101, 192)], "selftests": [(46, 125, 50), (198, 40, 40)]}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return built_report(tmp_path_factory.mktemp("report"))


class Dom(HTMLParser):
    """Elements of interest from a DOM dump: images, summary cells, call rows."""

    def __init__(self):
        super().__init__()
        self.section, self.images, self.cells, self.calls, self.body = None, [], {}, {}, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("data-unit") or a.get("id")
        elif tag == "body":
            self.body = a
        elif tag == "img":
            self.images.append({"section": self.section, **a})
        elif tag == "td" and "data-key" in a:
            self.cells[(self.section, a["data-key"])] = json.loads(a["data-value"])
        elif tag == "tr" and "data-call" in a:
            self.calls[a["data-call"]] = a["data-agree"]


def chromium(tmp, *args):
    result = subprocess.run([*CHROMIUM, f"--user-data-dir={tmp / 'profile'}", *args],
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def png(src: str) -> np.ndarray:
    assert src.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))


def pixels_near(image: np.ndarray, colour, tol=12) -> int:
    return int((np.abs(image.astype(int) - colour).max(axis=2) <= tol).sum())


def test_summary_numbers_match_the_scenario(scenario):
    b = scenario["summary"]["units"][1]
    v = b["verification"]
    assert b["unit"] == "desk-b" and v["ok"] is True and v["status"] == "intact"
    assert v["trusted"] is True and v["key"] == str(scenario["bundles"][1])
    assert {k: b["incoming"][k] for k in ("calls", "answered", "missed")} == {"calls": 7, "answered": 5, "missed": 2}
    assert b["incoming"]["answer_rate"] == round(5 / 7, 4)
    assert b["time_to_answer"]["median_ms"] == np.median(B_INCOMING_ANSWER_MS)
    assert b["time_to_answer"]["p95_ms"] == round(np.percentile(B_INCOMING_ANSWER_MS, 95))
    assert [(w["answered"], w["missed"]) for w in b["weekly"]] == [(2, 1), (2, 0), (1, 1)]
    assert b["escalations"] == 2 and b["selftests"] == {**b["selftests"], "runs": 16, "failed": 1}
    records = load(scenario["paths"][1]).records
    span_s = (records[-1].wall_us - records[0].wall_us) / 1e6
    assert b["link"]["availability"] == round(1 - LINK_OUTAGE_S / span_s, 4) and b["link"]["outages"] == 1
    two = scenario["summary"]["two_unit"]
    assert two["disagreements"] == 1
    assert [c["call_id"] for c in two["calls"] if not c["agree"]] == ["call-lost"]
    row = next(c for c in two["calls"] if c["call_id"] == "call-2")
    assert row["a_view"]["outcome"] == row["b_view"]["outcome"] == row["a_copy_of_b"]["outcome"] == "missed"


@needs_browser
def test_report_renders_in_headless_chromium_with_charts_and_numbers(scenario):
    tmp = scenario["tmp"]
    probed = tmp / "probed.html"
    probed.write_text(scenario["html"].read_text().replace("</body>", PROBE))
    dom = Dom()
    dom.feed(chromium(tmp, "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()))
    assert dom.body.get("data-probed") == "yes"

    assert len(dom.images) == 10  # five charts for each unit
    for img in dom.images:
        width, height = map(int, img["data-natural"].split("x"))
        assert width > 400 and height > 150, img["alt"]  # the browser decoded it
        image = png(img["src"])
        assert image.shape[:2] == (height, width)
        found = [pixels_near(image, c) for c in DATA_COLOURS[img["data-chart"]]]
        if img["section"] == "desk-a" and img["data-chart"] == "missed":
            assert found == [0], "desk-a missed no rings; its chart must be empty"
        else:
            assert max(found) > 200, f"{img['alt']}: no data drawn ({found})"

    b = scenario["summary"]["units"][1]
    for key, value in [("incoming.calls", 7), ("incoming.missed", 2), ("incoming.answer_rate", round(5 / 7, 4)),
                       ("time_to_answer.median_ms", 6200), ("time_to_answer.p95_ms", 11400),
                       ("selftests.failed", 1), ("link.availability", b["link"]["availability"])]:
        assert dom.cells[("desk-b", key)] == value, key
    assert dom.cells[("desk-a", "outgoing.answer_rate")] == round(5 / 7, 4)
    assert dom.calls["call-lost"] == "false" and dom.calls["call-0"] == "true" and len(dom.calls) == 9


@needs_browser
def test_report_screenshot_is_not_blank(scenario):
    tmp = scenario["tmp"]
    shot = tmp / "shot.png"
    chromium(tmp, "--window-size=1200,2400", f"--screenshot={shot}", scenario["html"].as_uri())
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape[:2] == (2400, 1200)
    assert pixels_near(image, (46, 125, 50)) > 1000  # green bars and verdict text drawn on screen


def test_tampered_journal_is_flagged_in_the_report(scenario, tmp_path):
    a = tmp_path / "a.db"
    a.write_bytes(scenario["paths"][0].read_bytes())
    with unlock(a) as s:
        s.execute("UPDATE records SET fields = '{\"time_to_answer_ms\":1000}' WHERE kind = 'answered' AND seq < 20")
    out = tmp_path / "r.html"
    summary = build_report([a], out, [scenario["keys"][0]])
    v = summary["units"][0]["verification"]
    assert v["ok"] is False and v["status"] == "TAMPERED" and v["problems"][0].startswith("record ")
    page = out.read_text()
    assert 'data-status="TAMPERED"' in page and "contents do not match the record&#x27;s hash" in page


def test_without_a_trusted_key_the_file_key_is_used_and_said_so(scenario):
    summary = summarize(scenario["paths"][:1])
    v = summary["units"][0]["verification"]
    assert v["ok"] is True and v["trusted"] is False and v["key"].startswith("the key the journal file names itself")
    assert v["fingerprint"] == scenario["fingerprints"][0]   # from the static key the file names
    assert "two_unit" not in summary


def test_key_count_must_match(scenario):
    with pytest.raises(ValueError, match="2 journals but 1 public keys"):
        summarize(scenario["paths"], scenario["keys"][:1])
