"""Token bucket per source: caps how much handshake work unauthenticated senders can cost."""

from __future__ import annotations


class TokenBucket:
    """`allow(key, now)` spends one token of `key`'s bucket; buckets refill at `rate` per second."""

    def __init__(self, rate: float, burst: int, max_keys: int = 4096):
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[object, tuple[float, float]] = {}
        self._pruned = float("-inf")
        self.prunes = 0

    def allow(self, key: object, now: float) -> bool:
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if len(self._buckets) >= self.max_keys and key not in self._buckets:
            # Full: drop the buckets that have refilled, at most once per refill time, or a
            # spray of new sources would cost a pass over every key on every packet.
            if now - self._pruned >= self.burst / self.rate:
                self._pruned = now
                self.prunes += 1
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < self.burst / self.rate}
            if len(self._buckets) >= self.max_keys:
                return False
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        return allowed
