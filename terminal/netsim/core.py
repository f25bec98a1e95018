"""Sans-I/O impairment core: (datagram, direction, now) in, scheduled deliveries out.

It never reads the clock or touches a socket; randomness comes from the
``random.Random`` it is given, so a seed replays the same run.
"""

import enum
import random
from dataclasses import dataclass, fields

from terminal.netsim.impairment import Impairment

DUPLICATE_GAP = 0.0005   # a duplicate follows its original by half a millisecond


class Direction(enum.Enum):
    A_TO_B = "a_to_b"
    B_TO_A = "b_to_a"


@dataclass(frozen=True)
class Delivery:
    """Send ``datagram`` on towards ``direction``'s receiver at time ``at``."""

    at: float
    direction: Direction
    datagram: bytes


@dataclass
class DirectionStats:
    """Counts for one direction."""

    received: int = 0
    delivered: int = 0           # deliveries scheduled, duplicates included
    lost_random: int = 0
    lost_burst: int = 0
    lost_blackout: int = 0
    reordered: int = 0
    duplicated: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class ImpairmentCore:
    """Applies an ``Impairment`` per direction; ``epoch`` is the time blackouts count from."""

    def __init__(self, a_to_b: Impairment, b_to_a: Impairment | None = None, *,
                 rng: random.Random, epoch: float = 0.0):
        self.impairments = {Direction.A_TO_B: a_to_b, Direction.B_TO_A: b_to_a or a_to_b}
        self.stats = {d: DirectionStats() for d in Direction}
        self.epoch = epoch
        self._rng = rng
        self._bad_state = {d: False for d in Direction}
        self._last_at = {d: float("-inf") for d in Direction}

    def submit(self, datagram: bytes, direction: Direction, now: float) -> list[Delivery]:
        """What becomes of a datagram received at ``now``: zero, one or two deliveries."""
        imp = self.impairments[direction]
        stats = self.stats[direction]
        stats.received += 1
        if self._lost(imp, direction, now):
            return []
        at = now + max(0.0, imp.delay + self._rng.uniform(-imp.jitter, imp.jitter))
        if imp.reorder and self._rng.random() < imp.reorder:
            stats.reordered += 1
            at += imp.reorder_gap
        else:
            at = max(at, self._last_at[direction])
            self._last_at[direction] = at
        deliveries = [Delivery(at, direction, datagram)]
        if imp.duplicate and self._rng.random() < imp.duplicate:
            stats.duplicated += 1
            deliveries.append(Delivery(at + DUPLICATE_GAP, direction, datagram))
        stats.delivered += len(deliveries)
        return deliveries

    def _lost(self, imp: Impairment, direction: Direction, now: float) -> bool:
        stats = self.stats[direction]
        since = now - self.epoch
        if any(start <= since < end for start, end in imp.blackouts):
            stats.lost_blackout += 1
            return True
        if imp.burst is not None:
            bad = self._bad_state[direction]
            flip = imp.burst.p_good if bad else imp.burst.p_bad
            if self._rng.random() < flip:
                bad = not bad
            self._bad_state[direction] = bad
            if self._rng.random() < (imp.burst.loss_bad if bad else imp.burst.loss_good):
                stats.lost_burst += 1
                return True
        if imp.loss and self._rng.random() < imp.loss:
            stats.lost_random += 1
            return True
        return False
