"""Ringer cadences and call-progress tones per country, from ITU-T E.180 and its Supplement 2.

One table: the ringer relay's on/off pattern and the tones the handset plays
(ringback with the same pattern, busy, congestion for "unreachable"), plus the
international special information tone for "no answer". Country keys are
ISO 3166 alpha-2 codes, with EU for the CEPT/ETSI harmonised European tones.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.call.cadence import Pattern
from terminal.errors import ConfigError


@dataclass(frozen=True)
class Step:
    """One part of a tone: these frequencies summed for `seconds` (no frequencies: silence)."""

    frequencies: tuple[float, ...]
    seconds: float


@dataclass(frozen=True)
class Tone:
    """A repeating sequence of steps; `modulation_hz` amplitude-modulates it (Japan's 400*16 Hz)."""

    steps: tuple[Step, ...]
    modulation_hz: float = 0.0

    @classmethod
    def on_off(cls, frequencies: tuple[float, ...], pattern: Pattern, modulation_hz: float = 0.0) -> "Tone":
        """The frequencies during a pattern's 'on' segments, silence during its 'off' segments."""
        steps = tuple(Step(frequencies if i % 2 == 0 else (), s) for i, s in enumerate(pattern.segments))
        return cls(steps, modulation_hz)


@dataclass(frozen=True)
class CountryTones:
    name: str
    ring: Pattern          # the ringer relay cadence
    ringback: Tone         # what the caller hears while the far unit rings (same pattern as `ring`)
    busy: Tone             # after the far side has hung up
    congestion: Tone       # the far unit cannot be reached


def _tones(name, ring_freqs, ring, busy_freqs, busy, congestion_freqs, congestion, modulation_hz=0.0) -> CountryTones:
    ring = Pattern(ring)
    return CountryTones(
        name,
        ring,
        Tone.on_off(ring_freqs, ring, modulation_hz),
        Tone.on_off(busy_freqs, Pattern(busy)),
        Tone.on_off(congestion_freqs, Pattern(congestion)),
    )


COUNTRIES: dict[str, CountryTones] = {
    "EU": _tones("European default (CEPT/ETSI)", (425.0,), (1.0, 4.0), (425.0,), (0.5, 0.5), (425.0,), (0.25, 0.25)),
    "US": _tones("United States", (440.0, 480.0), (2.0, 4.0), (480.0, 620.0), (0.5, 0.5), (480.0, 620.0), (0.25, 0.25)),
    "GB": _tones("United Kingdom", (400.0, 450.0), (0.4, 0.2, 0.4, 2.0),
                 (400.0,), (0.375, 0.375), (400.0,), (0.4, 0.35, 0.225, 0.525)),
    "CN": _tones("China", (450.0,), (1.0, 4.0), (450.0,), (0.35, 0.35), (450.0,), (0.7, 0.7)),
    "RU": _tones("Russian Federation", (425.0,), (0.8, 3.2), (425.0,), (0.35, 0.35), (425.0,), (0.175, 0.175)),
    "JP": _tones("Japan", (400.0,), (1.0, 2.0), (400.0,), (0.5, 0.5), (400.0,), (0.5, 0.5), modulation_hz=16.0),
    "DE": _tones("Germany", (425.0,), (1.0, 4.0), (425.0,), (0.48, 0.48), (425.0,), (0.24, 0.24)),
    "FR": _tones("France", (440.0,), (1.5, 3.5), (440.0,), (0.5, 0.5), (440.0,), (0.25, 0.25)),
}
ALIASES = {"UK": "GB"}
DEFAULT_COUNTRY = "EU"

# E.180 section 7: 950, 1400, 1800 Hz for 330 ms each, then 1 s of silence. Country-independent.
SPECIAL_INFORMATION = Tone((Step((950.0,), 0.33), Step((1400.0,), 0.33), Step((1800.0,), 0.33), Step((), 1.0)))


def country_tones(code: str) -> CountryTones:
    """The table entry for a country code (case-insensitive; 'UK' means GB)."""
    key = ALIASES.get(code.upper(), code.upper())
    try:
        return COUNTRIES[key]
    except KeyError:
        known = ", ".join(sorted(COUNTRIES))
        raise ConfigError(f"no ring cadence for country {code!r}; known: {known}") from None
