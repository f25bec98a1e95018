"""What a relay does to one direction of traffic, as plain validated values."""

from dataclasses import dataclass

from terminal.netsim.errors import NetsimError


def _probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise NetsimError(f"{name} must be a probability between 0 and 1, not {value!r}")


@dataclass(frozen=True)
class GilbertElliott:
    """Two-state burst loss: per datagram, good->bad with ``p_bad``, bad->good with ``p_good``;
    a datagram is lost with ``loss_good`` or ``loss_bad`` in the state it finds."""

    p_bad: float
    p_good: float
    loss_good: float = 0.0
    loss_bad: float = 1.0

    def __post_init__(self):
        for name in ("p_bad", "p_good", "loss_good", "loss_bad"):
            _probability(f"burst {name}", getattr(self, name))

    @classmethod
    def from_rate(cls, loss: float, mean_burst: float) -> "GilbertElliott":
        """Bursts of ``mean_burst`` datagrams on average, losing ``loss`` of all datagrams."""
        _probability("burst loss", loss)
        if mean_burst < 1.0:
            raise NetsimError(f"mean burst length must be at least 1 datagram, not {mean_burst!r}")
        if loss >= 1.0:
            raise NetsimError("burst loss must be below 1 (every datagram lost is a blackout)")
        p_good = 1.0 / mean_burst
        return cls(p_bad=min(1.0, loss * p_good / (1.0 - loss)), p_good=p_good)

    @property
    def mean_loss(self) -> float:
        """Long-run share of datagrams lost."""
        total = self.p_bad + self.p_good
        bad = self.p_bad / total if total else 0.0
        return bad * self.loss_bad + (1.0 - bad) * self.loss_good


@dataclass(frozen=True)
class Impairment:
    """One direction's impairments; times in seconds, blackouts relative to the relay's start."""

    delay: float = 0.0                 # fixed one-way delay
    jitter: float = 0.0                # uniform +/- around delay; order kept unless reordered
    loss: float = 0.0                  # independent random loss
    burst: GilbertElliott | None = None
    reorder: float = 0.0               # share of datagrams held back by reorder_gap
    reorder_gap: float = 0.03
    duplicate: float = 0.0             # share of datagrams delivered twice
    blackouts: tuple[tuple[float, float], ...] = ()   # (start, end) windows: everything lost

    def __post_init__(self):
        for name in ("delay", "jitter", "reorder_gap"):
            if getattr(self, name) < 0:
                raise NetsimError(f"{name} must not be negative, not {getattr(self, name)!r} s")
        for name in ("loss", "reorder", "duplicate"):
            _probability(name, getattr(self, name))
        for start, end in self.blackouts:
            if not 0 <= start < end:
                raise NetsimError(f"blackout window must be 0 <= start < end, not ({start!r}, {end!r})")
