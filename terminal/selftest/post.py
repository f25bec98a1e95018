"""The power-on self-test: before the unit goes on the line, everything it trusts is checked.

Known-answer tests of every primitive, the Opus codec, the config, the key
file and the journal's chain. Any failure lights the fault LED, is recorded,
and the verdict is to stay off the line (fail-closed); the daemon keeps
serving USB provisioning so a technician can see why (`provisioning_runner`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

from terminal.selftest import vectors as default_vectors
from terminal.selftest.codec_check import check_codec
from terminal.journal.store import unit_journal
from terminal.selftest.integrity import check_config, check_journal, check_keystore
from terminal.selftest.kat import KATS, known_answer_test
from terminal.selftest.result import CheckResult, Summary
from terminal.selftest.runner import FaultLed, Record, report
from terminal.selftest.vectors import Vector


@dataclass(frozen=True)
class PostVerdict:
    summary: Summary

    @property
    def go_on_line(self) -> bool:
        """False: keep the link down and serve only provisioning."""
        return self.summary.passed

    @property
    def reason(self) -> str:
        failed = self.summary.failures
        return "all power-on checks passed" if not failed else "staying off the line: " + "; ".join(
            f"{r.name}: {r.detail}" for r in failed)


def post_results(config_path: Path | str, *, kat_vectors: Mapping[str, Vector] | None = None,
                 codec: Callable[[], CheckResult] = check_codec) -> list[CheckResult]:
    """Every power-on check's result, in order; nothing reported yet."""
    chosen = {**default_vectors.ALL, **(kat_vectors or {})}
    results = [known_answer_test(primitive, chosen[primitive]) for primitive in KATS]
    results.append(codec())
    config_result, cfg = check_config(config_path)
    results.append(config_result)
    if cfg is None:
        results.append(CheckResult("keystore", False, "not checked: the config naming the key directory is unusable"))
        results.append(CheckResult("journal_chain", False, "not checked: the config naming the data directory "
                                                           "is unusable"))
        return results
    keys_result, keys = check_keystore(cfg.unit.key_dir)
    results.append(keys_result)
    journal, head = unit_journal(cfg.unit)
    results.append(check_journal(journal, keys.identity.signing_public if keys else None, head))
    return results


def run_post(config_path: Path | str, *, record: Record | None = None, fault_led: FaultLed | None = None,
             kat_vectors: Mapping[str, Vector] | None = None,
             codec: Callable[[], CheckResult] = check_codec) -> PostVerdict:
    """Run the power-on self-test, report it (journal callback, fault LED) and give the verdict."""
    summary = Summary("post", tuple(post_results(config_path, kat_vectors=kat_vectors, codec=codec)))
    return PostVerdict(report(summary, record, fault_led))


def provisioning_runner(config_path: Path | str) -> Callable[[], Iterable[Mapping]]:
    """A `terminal.provisioning.selftest_hook.SelfTestRunner`: re-runs the power-on checks for the host tool."""
    def runner() -> Iterable[Mapping]:
        return [r.provisioning_row() for r in post_results(config_path)]
    return runner
