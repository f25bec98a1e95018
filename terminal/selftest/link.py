"""The end-to-end link test: an authenticated test message to the peer and back, over every path.

Each configured endpoint is tried on its own (`via`), so a dead backup path is
found while the primary still carries calls. The peer answers on the test
channel; `peer_record` lets its daemon journal that it answered a link test.
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol, Sequence

from terminal.selftest.result import CheckResult

PAYLOAD_PREFIX = b"hotline-selftest "
TIMEOUT_SECONDS = 3.0          # the budget on a path nothing is known about yet
MIN_ATTEMPT = 1.0              # the shortest wait for one answer
MAX_ATTEMPTS = 16             # enough for 30 % loss each way at FALSE_ALARM
FALSE_ALARM = 1e-4             # tries enough that a working path at its measured loss fails this rarely
LOSS_Z = 1.645                 # the loss is sized at its one-sided 95 % upper bound, not its point estimate

Addr = tuple[str, int]


class Echoer(Protocol):
    async def echo_test(self, payload: bytes, timeout: float, via: Addr | None = None) -> float | None: ...


def path_name(index: int) -> str:
    return "link_primary" if index == 0 else f"link_backup_{index}"


def loss_upper_bound(loss: float, samples: int, z: float = LOSS_Z) -> float:
    """Wilson score upper bound on a loss share measured over `samples` probes.

    Twenty probes at a true 30 % can show 11 %; sizing the tries from that point estimate
    failed a working path about once in fifty. The bound covers such a low draw.
    """
    if samples <= 0:
        return 1.0
    z2 = z * z / samples
    centre = loss + z2 / 2
    spread = z * math.sqrt(loss * (1 - loss) / samples + z2 / (4 * samples))
    return min(1.0, (centre + spread) / (1 + z2))


def tolerance(rtt: float | None, loss: float | None, unmeasured: float = TIMEOUT_SECONDS,
              samples: int | None = None) -> tuple[int, float]:
    """(tries, seconds per try) for a path with this round trip and probe loss.

    A try needs its request and its answer through: p = (1 - loss)^2. The loss is taken at its
    upper bound over the `samples` probes it was measured on (as exact when `samples` is None).
    The tries make a false alarm on a working path rarer than FALSE_ALARM; each waits four round
    trips (at least MIN_ATTEMPT). With nothing measured: 3 tries within `unmeasured` seconds.
    """
    if rtt is None or loss is None:
        return 3, unmeasured / 3
    if samples is not None:
        loss = loss_upper_bound(loss, samples)
    through = (1 - min(loss, 0.9)) ** 2
    tries = 1 if through >= 1 else math.ceil(math.log(FALSE_ALARM) / math.log(1 - through))
    return max(3, min(MAX_ATTEMPTS, tries)), max(MIN_ATTEMPT, 4 * rtt)


async def _one(echoer: Echoer, index: int, endpoint: Addr, unit: str, timeout: float, quality) -> CheckResult:
    """Tries enough for the path's measured loss, each as long as its round trip needs."""
    where = "%s:%d" % endpoint
    rtt, loss, samples = quality(endpoint)
    tries, wait = tolerance(rtt, loss, timeout, samples)
    payload = PAYLOAD_PREFIX + f"{unit} {path_name(index)} {where}".encode()
    for attempt in range(1, tries + 1):
        answer = await echoer.echo_test(payload, wait, via=endpoint)
        if answer is not None:
            return CheckResult(path_name(index), True,
                               f"peer answered via {where} in {answer * 1000:.1f} ms (attempt {attempt})",
                               {"endpoint": where, "rtt_ms": round(answer * 1000, 3), "attempts": attempt})
    measured = ("" if rtt is None or loss is None else
                f"; the path measured {rtt * 1000:.0f} ms round trip, {loss * 100:.0f} % loss over {samples} "
                f"probes before the test")
    return CheckResult(path_name(index), False, f"no authenticated answer from the peer via {where} "
                                                f"in {tries} tries within {tries * wait:g} s (peer down, path "
                                                f"down, or keys not paired){measured}",
                       {"endpoint": where, "attempts": tries})


async def check_link(echoer: Echoer, endpoints: Sequence[Addr], unit: str = "",
                     timeout: float = TIMEOUT_SECONDS, quality=None) -> list[CheckResult]:
    """One result per endpoint, all tried at once. `quality(endpoint)` -> (rtt s, loss 0..1, probes
    the loss was measured on), Nones when unmeasured (then 3 tries within `timeout`)."""
    quality = quality or getattr(echoer, "path_quality", None) or (lambda endpoint: (None, None, None))
    return list(await asyncio.gather(*(_one(echoer, i, tuple(ep), unit, timeout, quality)
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
