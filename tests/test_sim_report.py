"""`hotline sim` without --json: the summary as tables for a person."""

import io

from rich.console import Console

from terminal.sim.report import print_summary


def test_the_summary_prints_top_level_flags_beside_its_sections():
    """`speech_judged` is a bare bool at the top of the summary; it crashed the tables."""
    out = io.StringIO()
    print_summary({"handshake": {"ok": True, "ms": 1.5}, "speech_judged": False,
                   "selftest": {"A": {"clock": {"passed": True, "detail": "in sync"}}}},
                  Console(file=out, width=100))
    text = out.getvalue()
    assert "speech_judged" in text and "False" in text
    assert "handshake" in text and "in sync" in text
