"""What the journal says about dropped datagrams: one record per span, at most one a minute.

Pure: the owner calls `tick(drops, wall_us)` every SUMMARY_EVERY seconds (and once
at shutdown) with the session's per-reason totals; it returns the fields of a
`link_drops` record when anything was dropped since the last tick, else None. An
auditor then reads "under attack from 14:02 to 14:20" as consecutive records.
"""

from __future__ import annotations

SUMMARY_EVERY = 60.0


class DropLedger:
    def __init__(self, wall_us: int, drops: dict[str, int] | None = None):
        self._seen = dict(drops or {})
        self._since = wall_us

    def tick(self, drops: dict[str, int], wall_us: int) -> dict | None:
        delta = {reason: n - self._seen.get(reason, 0) for reason, n in drops.items()
                 if n > self._seen.get(reason, 0)}
        self._seen = dict(drops)
        since, self._since = self._since, wall_us
        if not delta:
            return None
        return {"dropped": sum(delta.values()),
                "reasons": ",".join(f"{reason}:{n}" for reason, n in sorted(delta.items())),
                "from_us": since, "to_us": wall_us}
