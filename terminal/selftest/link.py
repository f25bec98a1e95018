"""The end-to-end link test: an authenticated test message to the peer and back, over every path.

Each configured endpoint is tried on its own (`via`), so a dead backup path is
found while the primary still carries calls. The peer answers on the test
channel; `peer_record` lets its daemon journal that it answered a link test.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, Sequence

from terminal.selftest.result import CheckResult

PAYLOAD_PREFIX = b"hotline-selftest "
TIMEOUT_SECONDS = 3.0
ATTEMPTS = 3

Addr = tuple[str, int]


class Echoer(Protocol):
    async def echo_test(self, payload: bytes, timeout: float, via: Addr | None = None) -> float | None: ...


def path_name(index: int) -> str:
    return "link_primary" if index == 0 else f"link_backup_{index}"


async def _one(echoer: Echoer, index: int, endpoint: Addr, unit: str, timeout: float) -> CheckResult:
    """Up to ATTEMPTS tries within `timeout`, so one lost datagram on a lossy path is not a failed path."""
    where = "%s:%d" % endpoint
    payload = PAYLOAD_PREFIX + f"{unit} {path_name(index)} {where}".encode()
    for attempt in range(1, ATTEMPTS + 1):
        rtt = await echoer.echo_test(payload, timeout / ATTEMPTS, via=endpoint)
        if rtt is not None:
            return CheckResult(path_name(index), True,
                               f"peer answered via {where} in {rtt * 1000:.1f} ms (attempt {attempt})",
                               {"endpoint": where, "rtt_ms": round(rtt * 1000, 3), "attempts": attempt})
    return CheckResult(path_name(index), False, f"no authenticated answer from the peer via {where} "
                                                f"in {ATTEMPTS} tries within {timeout:g} s (peer down, path "
                                                "down, or keys not paired)", {"endpoint": where})


async def check_link(echoer: Echoer, endpoints: Sequence[Addr], unit: str = "",
                     timeout: float = TIMEOUT_SECONDS) -> list[CheckResult]:
    """One result per endpoint, all tried at once."""
    return list(await asyncio.gather(*(_one(echoer, i, tuple(ep), unit, timeout)
                                       for i, ep in enumerate(endpoints))))


def peer_record(payload: bytes) -> dict | None:
    """Journal fields for the peer that answered a link test (None for other echo payloads).

    The echo handler calls it with the request's payload:
    `fields = peer_record(p); fields and journal.record("selftest", **fields)`.
    """
    if not payload.startswith(PAYLOAD_PREFIX):
        return None
    text = payload[len(PAYLOAD_PREFIX):].decode("utf-8", "replace")[:200]
    return {"check": "link_answered", "passed": True, "detail": f"answered a link test: {text}"}
