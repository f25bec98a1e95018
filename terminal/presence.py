"""Is a desk staffed? The unit's own PIR sensor, and what the peer says of its desk. Pure.

Here: motion (the PIR input going active) within `window` seconds means staffed. The
unit tells its peer on the presence channel whenever that changes and every
REPORT_EVERY seconds besides (so a far view is never older than that while the link
is up), and a change again after 0.3, 0.7, 1.5, 3 and 5 s (a report is one datagram: at
30 % loss all six are lost one time in 1400). There: the peer's last report, with its age.

    report  version 1 | flags u8 (1 staffed, 2 has sensor) | motion age ms u32 (max = never) | window s u32

`outputs()` yields what the owner does: SendReport(payload), and Changed(where, staffed,
motion_age) when "here" or "far" changes, for the journal and the link LED.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from terminal.link.messages import MalformedPacket

REPORT_EVERY = 60.0
REPEAT_CHANGE = (0.3, 0.7, 1.5, 3.0, 5.0)   # a change is said again after these many seconds: reports are datagrams
VERSION = 1
NEVER = 0xFFFFFFFF
STAFFED, HAS_SENSOR = 1, 2
_REPORT = struct.Struct("!BBII")


@dataclass(frozen=True)
class SendReport:
    payload: bytes


@dataclass(frozen=True)
class Changed:
    where: str                    # "here" or "far"
    staffed: bool | None          # None: no sensor there
    motion_age: float | None      # seconds since the last motion, None if never


@dataclass(frozen=True)
class FarDesk:
    staffed: bool | None          # None: the far unit has no sensor
    last_motion: float | None     # on our clock (now - the age it reported), None if never
    window: float
    heard: float                  # when the report arrived


class Presence:
    def __init__(self, *, sensor: bool, window: float, now: float):
        self.sensor = sensor
        self.window = window
        self.last_motion: float | None = None
        self.far: FarDesk | None = None
        self._staffed = False if sensor else None
        self._next_report = now
        self._repeats: list[float] = []
        self._out: list = []

    # --- inputs --------------------------------------------------------------------

    def motion(self, now: float) -> None:
        """The PIR saw someone."""
        self.last_motion = now
        self._check(now)

    def on_payload(self, payload: bytes, now: float) -> None:
        if len(payload) != _REPORT.size:
            raise MalformedPacket(f"presence report is {len(payload)} bytes; expected {_REPORT.size}")
        version, flags, age_ms, window = _REPORT.unpack(payload)
        if version != VERSION:
            raise MalformedPacket(f"presence report version {version}; this unit reads {VERSION}")
        staffed = bool(flags & STAFFED) if flags & HAS_SENSOR else None
        last = None if age_ms == NEVER else now - age_ms / 1000
        before = self.far.staffed if self.far is not None else "unknown"
        self.far = FarDesk(staffed, last, float(window), now)
        if staffed != before:
            self._out.append(Changed("far", staffed, None if last is None else now - last))

    def peer_reachable(self, now: float) -> None:
        """Tell a peer that just came back at once."""
        self._next_report = now

    # --- outputs ------------------------------------------------------------------

    @property
    def staffed(self) -> bool | None:
        return self._staffed

    def motion_age(self, now: float) -> float | None:
        return None if self.last_motion is None else now - self.last_motion

    def get_timer(self) -> float | None:
        times = [self._next_report, *self._repeats[:1]]
        if self._staffed and self.last_motion is not None:
            times.append(self.last_motion + self.window)
        return min(times)

    def handle_timer(self, now: float) -> None:
        self._check(now)
        due = bool(self._repeats) and now >= self._repeats[0]
        while self._repeats and now >= self._repeats[0]:
            self._repeats.pop(0)
        if due or now >= self._next_report:
            self._report(now)

    def outputs(self) -> list:
        out, self._out = self._out, []
        return out

    def far_view(self, now: float) -> dict:
        """What `hotline status` and the console show of the far desk."""
        far = self.far
        if far is None:
            return {"known": False, "staffed": None, "last_motion_ago": None, "report_age": None}
        return {"known": True, "staffed": far.staffed, "window": far.window,
                "last_motion_ago": None if far.last_motion is None else round(now - far.last_motion, 1),
                "report_age": round(now - far.heard, 1)}

    def here_view(self, now: float) -> dict:
        age = self.motion_age(now)
        return {"sensor": self.sensor, "staffed": self._staffed, "window": self.window,
                "last_motion_ago": None if age is None else round(age, 1)}

    # --- inside -------------------------------------------------------------------

    def _check(self, now: float) -> None:
        if not self.sensor:
            return
        staffed = self.last_motion is not None and now < self.last_motion + self.window
        if staffed != self._staffed:
            self._staffed = staffed
            self._out.append(Changed("here", staffed, self.motion_age(now)))
            self._report(now)
            self._repeats = [now + after for after in REPEAT_CHANGE]

    def _report(self, now: float) -> None:
        age = self.motion_age(now)
        flags = (HAS_SENSOR if self.sensor else 0) | (STAFFED if self._staffed else 0)
        age_ms = NEVER if age is None else min(NEVER - 1, int(age * 1000))
        self._out.append(SendReport(_REPORT.pack(VERSION, flags, age_ms, int(self.window))))
        self._next_report = now + REPORT_EVERY
