"""Free disk space where the journal lives, and a wall clock that is plausibly set."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from terminal.selftest.result import CheckResult

MIN_FREE_BYTES = 64 * 1024 * 1024                                     # a year of journal, with room to spare
NOT_BEFORE = datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()   # older than this firmware: clock never set
NOT_AFTER = datetime(2100, 1, 1, tzinfo=timezone.utc).timestamp()


def check_disk(path: Path | str, min_free: int = MIN_FREE_BYTES,
               usage: Callable[[Path | str], Any] = shutil.disk_usage) -> CheckResult:
    """At least `min_free` bytes free on the filesystem holding `path`."""
    try:
        du = usage(path)
    except OSError as exc:
        return CheckResult("disk_space", False, f"cannot read free space of {path}: {exc.strerror or exc}")
    data = {"free_bytes": du.free, "total_bytes": du.total, "min_free_bytes": min_free}
    free_mb = du.free / 2 ** 20
    if du.free < min_free:
        return CheckResult("disk_space", False, f"only {free_mb:.0f} MiB free on {path}; the journal needs "
                                                f"at least {min_free / 2 ** 20:.0f} MiB", data)
    return CheckResult("disk_space", True, f"{free_mb:.0f} MiB free on {path}", data)


def check_clock(wall: float, not_before: float = NOT_BEFORE, not_after: float = NOT_AFTER) -> CheckResult:
    """The wall clock (`time.time()`) must lie in a sane window, or journal times mean nothing."""
    shown = datetime.fromtimestamp(wall, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    data = {"wall_s": round(wall, 3)}
    if wall < not_before:
        return CheckResult("clock", False, f"wall clock reads {shown}, before this firmware was built: "
                                           "never set (check NTP / the RTC battery)", data)
    if wall >= not_after:
        return CheckResult("clock", False, f"wall clock reads {shown}, implausibly far ahead", data)
    return CheckResult("clock", True, f"wall clock reads {shown}", data)
