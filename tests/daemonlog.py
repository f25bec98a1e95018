"""Waiting on another process: read its output line by line, each with a deadline.

Reads the raw pipe (os.read) and splits lines itself: a buffered text reader may
hold whole lines in its buffer while select() reports the pipe empty, so a
waiter would time out with the line it wants already read.
"""

import os
import select
import time
import weakref


class PipeLines:
    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.buffer = b""

    def next_line(self, deadline: float) -> str | None:
        """The next line (without its newline), or None at the deadline or end of output."""
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace")


_readers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # per process: a reused fd number must not inherit lines


def read_until(proc, needle: str, timeout: float = 30.0) -> list[str]:
    """Lines of `proc`'s stderr up to the first containing `needle`; AssertionError with what it did say."""
    reader = _readers.get(proc) or _readers.setdefault(proc, PipeLines(proc.stderr))
    deadline, seen = time.monotonic() + timeout, []
    while (line := reader.next_line(deadline)) is not None:
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"no {needle!r} in the daemon's log: {seen}")


def watch_journal(unit, kind: str, **match):
    """An asyncio.Event set when `unit` journals a `kind` record whose fields include `match`
    (the real JournalWriter, watched: every record still goes to disk)."""
    import asyncio

    seen, record = asyncio.Event(), unit.journal.record

    def journalled(k, call_id=None, **fields):
        if k == kind and all(fields.get(name) == value for name, value in match.items()):
            seen.set()
        return record(k, call_id, **fields)
    unit.journal.record = journalled
    return seen
