"""Waiting on a daemon in another process: read its log until a line says what we wait for.

Reads the raw pipe (os.read) and splits lines itself: a buffered text reader may
hold a whole line in its buffer while select() reports the pipe empty.
"""

import os
import select
import time

_pending: dict[int, bytes] = {}


def read_until(proc, needle: str, timeout: float = 30.0) -> list[str]:
    """Lines of `proc`'s stderr up to the first containing `needle`; AssertionError with what it did say."""
    fd = proc.stderr.fileno()
    deadline, seen = time.monotonic() + timeout, []
    buffer = _pending.pop(fd, b"")
    while True:
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            seen.append(line.decode("utf-8", "replace"))
            if needle in seen[-1]:
                _pending[fd] = buffer
                return seen
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buffer += chunk
    raise AssertionError(f"no {needle!r} in the daemon's log: {seen}")
