"""What the receiver measures for its reports: interarrival jitter and packet loss."""

from terminal.voice.codec import SAMPLE_RATE

_TS_MODULO = 1 << 32


class ReceptionStats:
    """RFC 3550 section 6.4.1 jitter and per-interval loss, fed with unbounded sequence numbers."""

    def __init__(self):
        self.jitter = 0.0                 # seconds, smoothed with gain 1/16
        self._last = None                 # (arrival, timestamp) of the previous packet
        self._highest = None
        self._interval_base = None        # highest sequence number at the start of the interval
        self._interval_received = 0

    def on_packet(self, ext_seq: int, timestamp: int, now: float) -> None:
        """Call for every packet that is neither a duplicate nor too late."""
        if self._last is not None:
            arrival, previous_ts = self._last
            ts_delta = (timestamp - previous_ts + _TS_MODULO // 2) % _TS_MODULO - _TS_MODULO // 2
            d = abs((now - arrival) - ts_delta / SAMPLE_RATE)
            self.jitter += (d - self.jitter) / 16
        self._last = (now, timestamp)
        if self._interval_base is None:
            self._interval_base = ext_seq - 1
        self._highest = ext_seq if self._highest is None else max(self._highest, ext_seq)
        self._interval_received += 1

    def interval_loss(self) -> float | None:
        """Fraction lost so far in this interval (before any recovery); None if none expected."""
        if self._highest is None:
            return None
        expected = self._highest - self._interval_base
        if expected <= 0:
            return 0.0 if self._interval_received else None
        return max(0, expected - self._interval_received) / expected

    def take_interval_loss(self) -> float | None:
        """``interval_loss``, then start a new interval."""
        loss = self.interval_loss()
        if self._highest is not None:
            self._interval_base = self._highest
            self._interval_received = 0
        return loss
