"""The auditor's report: one self-contained HTML file (charts as PNG data URIs) and its numbers.

    summary = build_report(["a.db", "b.json"], "report.html", [key_from_bundle("A.bundle.json"), ...])
    summary = summarize(["a.db"], public_keys=[signing_key_bytes])     # for --json

Each journal is audited (terminal.journal.audit) against the key given for it:
an ExpectedKey (from the unit's identity bundle: the spoken fingerprint the
technicians compared), raw signing key bytes, or None, which uses the key the
file names itself and says plainly that it is not one you trust. With two
journals each is also checked against the other as witness, and a last
section lines up both units' records of each call by call id.

The page opens with what an auditor signs (report_audit.pair_summary): the
pair, the period, each journal's verdict, answer rate, missed rings, unanswered
FLASH messages, link availability and every gap; a journal that is not intact
is said at the very top in words and red.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from host.report_audit import KeyGiven, pair_summary, verification
from host.report_html import render
from host.report_stats import line_up, unit_stats
from terminal.journal.load import JournalData, load

__all__ = ["build_report", "render", "summarize"]


def _load_all(journal_files: Sequence[Path | str], public_keys) -> list[tuple[JournalData, str, KeyGiven]]:
    keys = list(public_keys) if public_keys is not None else [None] * len(journal_files)
    if len(keys) != len(journal_files):
        raise ValueError(f"{len(journal_files)} journals but {len(keys)} public keys")
    loaded, names = [], []
    for path, key in zip(journal_files, keys):
        data = load(path)
        name = data.unit or Path(path).stem
        if name in names:
            name = f"{name} ({len(names) + 1})"
        names.append(name)
        loaded.append((data, name, key))
    return loaded


def _summary(loaded) -> dict:
    units = []
    for i, (data, name, key) in enumerate(loaded):
        peer = loaded[1 - i] if len(loaded) >= 2 and i < 2 else None   # the first two witness each other
        units.append(unit_stats(data, name, verification(data, key, *(peer[:2] if peer else ()))))
    result = {"pair": pair_summary(units, [data for data, _, _ in loaded]), "units": units}
    if len(loaded) >= 2:
        result["two_unit"] = {"a": units[0]["unit"], "b": units[1]["unit"],
                              "calls": line_up(loaded[0][0], loaded[1][0])}
        result["two_unit"]["disagreements"] = sum(not c["agree"] for c in result["two_unit"]["calls"])
    return result


def summarize(journal_files: Sequence[Path | str], public_keys: Sequence[KeyGiven] | None = None) -> dict:
    """The report's numbers as a JSON-ready dict (the same one build_report returns)."""
    return _summary(_load_all(journal_files, public_keys))


def build_report(journal_files: Sequence[Path | str], out_html: Path | str,
                 public_keys: Sequence[KeyGiven] | None = None, title: str = "Hotline journal report") -> dict:
    """Write the HTML report to `out_html`; returns summarize()'s dict.

    `public_keys`: one per file, in order: an ExpectedKey (key_from_bundle), raw Ed25519
    signing key bytes, or None for the key the file names itself."""
    summary = summarize(journal_files, public_keys)
    Path(out_html).write_text(render(summary, title), "utf-8")
    return summary
