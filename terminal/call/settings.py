"""The call loop's configurable values, with their defaults (seconds unless named otherwise)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from terminal.call.tones import country_tones
from terminal.config import Field, _boolean, _number
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


def _country(raw, _base) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"expected a country code like 'GB' or 'EU', got {raw!r}")
    country_tones(raw)
    return raw


def _seconds_or_off(low: float, high: float):
    """Seconds, or 0 to switch the step off (TOML has no null)."""
    seconds = _number(float, low, high)

    def parse(raw, base):
        return None if raw == 0 and not isinstance(raw, bool) else seconds(raw, base)
    return parse


_PARSERS = {
    "country": _country,
    "alert_after": _seconds_or_off(1.0, 3600.0),
    "ring_timeout": _number(float, 5.0, 3600.0),
    "no_answer_tone_for": _number(float, 0.5, 30.0),
    "voice_message": _boolean,
    "voice_message_max": _number(float, 1.0, 600.0),
    "realert_every": _seconds_or_off(10.0, 86400.0),
    "realert_ring_for": _number(float, 0.5, 60.0),
    "lift_acknowledges_missed": _boolean,
    "retransmit_initial": _number(float, 0.01, 5.0),
    "retransmit_max": _number(float, 0.05, 30.0),
    "retransmit_give_up": _number(float, 1.0, 600.0),
}

# The unit config's [call] section: `terminal.config.SCHEMA["call"] = CONFIG_SECTION`, then
# `CallSettings(**vars(config.call))` (which adds the cross-field checks).
CONFIG_SECTION: dict[str, Field] = {f.name: Field(_PARSERS[f.name], f.default) for f in fields(CallSettings)}
