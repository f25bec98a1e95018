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
    results.append(check_journal(journal, keys.identity.journal_public if keys else None, head))
    return results


def run_post(config_path: Path | str, *, record: Record | None = None, fault_led: FaultLed | None = None,
             kat_vectors: Mapping[str, Vector] | None = None,
             codec: Callable[[], CheckResult] = check_codec) -> PostVerdict:
    """Run the power-on self-test, report it (journal callback, fault LED) and give the verdict."""
    summary = Summary("post", tuple(post_results(config_path, kat_vectors=kat_vectors, codec=codec)))
    return PostVerdict(report(summary, record, fault_led))


def provisioning_runner(config_path: Path | str) -> Callable[[], Iterable[Mapping]]:
    """A `terminal.provisioning.selftest_hook.SelfTestRunner` for `hotline-host selftest`: the
    power-on checks, streamed one by one, then the daemon's own run of everything that needs its
    devices and its link (relay, hook, audio loopback, disk, clock, every path to the peer)."""
    def runner() -> Iterable[Mapping]:
        for result in post_results(config_path):
            yield result.provisioning_row()
        yield from daemon_rows(config_path)
    return runner


def daemon_rows(config_path: Path | str) -> list[dict]:
    """The daemon's scheduled checks, asked over its control socket; one failing row saying why
    they could not run when the daemon is not on line."""
    import asyncio

    from terminal import config as config_mod
    from terminal.control.client import ControlClient
    from terminal.errors import HotlineError

    async def ask(socket):
        async with ControlClient(socket) as client:
            return await client.call("selftest.run")
    try:
        summary = asyncio.run(ask(config_mod.load(config_path).control.socket))
    except (HotlineError, OSError) as exc:
        return [{"check": "daemon", "ok": False,
                 "detail": f"the daemon is not on line ({exc}): relay, hook, audio loopback and link not tested"}]
    return [{"check": c["name"], "ok": c["passed"], "detail": c["detail"]} for c in summary["checks"]]
