"""What state the unit is in, what it says about it, and what it does after a failure (pure).

A unit is always in one of three states, and says which in one line (the
systemd STATUS line, `hotline status`, the log):

    unprovisioned   no keys or no peer yet: waiting for the technician (enrol, pair)
    off line        it cannot or must not be on the line; the reason says why
    on line         link, call loop, text and journal running

The daemon never exits on a unit's trouble (systemd would restart it into the
same trouble, over and over): it stays up off line, lights the fault LED where
it can, and either waits for a reload (the technician changed something) or,
for trouble that passes by itself (a full disk, a port another process holds),
tries again later. `after_failure` is that policy.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from terminal.errors import ConfigError, HotlineError

UNPROVISIONED = "unprovisioned"
OFF_LINE = "off line"
ON_LINE = "on line"

RETRY_FIRST = 5.0        # seconds before the first retry of a passing trouble
RETRY_MAX = 300.0        # and never longer than this between tries


@dataclass(frozen=True)
class State:
    name: str
    reason: str = ""

    @property
    def line(self) -> str:
        return f"{self.name}: {self.reason}" if self.reason else self.name


@dataclass(frozen=True)
class AfterFailure:
    """What to do after the unit could not go on line: its state, and seconds until it tries
    again by itself (None: only when told to reload)."""

    state: State
    retry_after: float | None


def after_failure(exc: BaseException, tries: int) -> AfterFailure:
    """`tries`: failures in a row so far (1 on the first). Config errors wait for a reload;
    disk and I/O trouble and a busy port are retried, backing off."""
    reason = one_line(str(exc) or type(exc).__name__)
    if isinstance(exc, ConfigError):
        return AfterFailure(State(OFF_LINE, f"config error: {reason}"), None)
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        reason = f"{reason} (another process holds the port)"
    elif isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "full" in reason:
        reason = f"disk full: {reason}"
    elif not isinstance(exc, (HotlineError, OSError)):
        reason = f"{type(exc).__name__}: {reason}"
    return AfterFailure(State(OFF_LINE, reason), min(RETRY_MAX, RETRY_FIRST * 2 ** (tries - 1)))


def one_line(text: str) -> str:
    """A multi-line error (a config with several mistakes) as one log and status line."""
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())
