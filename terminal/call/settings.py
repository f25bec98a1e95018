"""The call loop's configurable values, with their defaults (seconds unless named otherwise)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from terminal.call.tones import country_tones
from terminal.errors import ConfigError


@dataclass(frozen=True)
class CallSettings:
    country: str = "EU"                    # ring cadence and tones (terminal.call.tones.COUNTRIES)
    alert_after: float | None = 20.0       # T1: secondary alert on while still ringing; None disables
    ring_timeout: float = 60.0             # T2: ringing stops, outcome "missed"
    no_answer_tone_for: float = 4.0        # the caller hears the no-answer tone this long before recording
    voice_message: bool = True             # offer the caller a voice message after T2
    voice_message_max: float = 60.0        # recording limit
    realert_every: float | None = 300.0    # re-alert a shown missed call this often; None disables
    realert_ring_for: float = 4.0          # each re-alert rings (and alerts) this long
    lift_acknowledges_missed: bool = True  # lifting the handset acknowledges a shown missed call
    retransmit_initial: float = 0.2        # first control-message retransmission after this long
    retransmit_max: float = 2.0            # backoff ceiling
    retransmit_give_up: float = 30.0       # drop an unacknowledged control message after this long

    def __post_init__(self):
        country_tones(self.country)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float | int) and not isinstance(value, bool) and value <= 0:
                raise ConfigError(f"call setting {f.name} must be positive; got {value!r}")
        if self.alert_after is not None and self.alert_after >= self.ring_timeout:
            raise ConfigError(f"call setting alert_after ({self.alert_after}) must be less than "
                              f"ring_timeout ({self.ring_timeout})")
        if self.retransmit_initial > self.retransmit_max:
            raise ConfigError("call setting retransmit_initial must not exceed retransmit_max")
