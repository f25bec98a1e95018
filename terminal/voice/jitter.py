"""Sans-I/O adaptive jitter buffer for voice packets.

``push(packet, now)`` on arrival; ``pop(now)`` once per frame tick returns a
``Playout``: which Opus bytes to decode and how they were obtained.

How the delay adapts (a frame at a time, and by preference while the caller
says the last frame played was quiet, where a stretch or a cut is inaudible):

* *Slack* is how long a frame waited between arrival and playout.  The buffer
  needs a guard plus, while loss is seen or the sender adds redundancy, one
  frame per recovery step, so that a later packet's FEC or redundant copy is
  already here when a lost frame is due.  With no loss it never waits for FEC.
* Grow: when the recent slack falls short of that, one concealed frame is
  played without moving on.  An underrun (nothing at or after the frame due)
  does the same at once, whether quiet or not.
* Shrink: when every frame of the last window waited at least a frame longer
  than needed, one frame is skipped.
* A lost frame is taken from a redundant copy when one arrived, else from the
  next packet's in-band FEC when that packet is buffered, else concealed.
"""

import enum
from collections import deque
from dataclasses import dataclass

from terminal.voice.packet import VoicePacket
from terminal.voice.reception import ReceptionStats
from terminal.voice.seqnum import unwrap


class Source(enum.Enum):
    NORMAL = "normal"
    FEC = "fec-recovered"
    REDUNDANCY = "redundancy-recovered"
    CONCEALED = "concealed"
    SILENCE = "silence"            # nothing to play: not started, or the stream stopped


@dataclass(frozen=True)
class Playout:
    source: Source
    data: bytes | None = None      # NORMAL/REDUNDANCY: the frame; FEC: the *next* packet; else None


SILENCE = Playout(Source.SILENCE)
CONCEALED = Playout(Source.CONCEALED)


@dataclass(frozen=True)
class _Arrival:
    at: float
    packet: VoicePacket


class JitterBuffer:
    """Orders, de-duplicates and times voice packets; decides how each frame is produced."""

    def __init__(self, frame_ms: int = 20, guard_ms: float = 4.0, window_frames: int = 100,
                 min_window_frames: int = 25, grow_window_frames: int = 10,
                 loud_shrink_frames: int = 3, max_wait_frames: int = 5,
                 max_delay_ms: float = 500.0, loss_memory_s: float = 10.0,
                 restart_after_late: int = 10):
        self.frame_s = frame_ms / 1000
        self.guard_s = guard_ms / 1000
        self.min_window_frames = min_window_frames
        self.grow_window_frames = grow_window_frames
        self.loud_shrink_frames = loud_shrink_frames
        self.max_wait_frames = max_wait_frames
        self.max_frames = max(2, int(max_delay_ms / frame_ms))
        self.loss_memory_s = loss_memory_s
        self.restart_after_late = restart_after_late
        self._slack = deque(maxlen=window_frames)
        self._depth = 0                # redundancy to allow for; falls after loss_memory_s
        self._depth_since = 0.0
        self._last_loss = None
        self.delay_s = 0.0
        self._delay_total = 0.0
        self.counts = dict.fromkeys(
            ("received", "played", "concealed", "fec_recovered", "redundancy_recovered",
             "late", "duplicate", "dropped", "inserted", "restarts"), 0)
        self._restart()

    def _restart(self) -> None:
        """Forget the stream: the next packet starts a new one (the sender restarted)."""
        self.reception = ReceptionStats()
        self._packets: dict[int, _Arrival] = {}
        self._copies: dict[int, bytes] = {}
        self._seen: set[int] = set()
        self._missed_at: dict[int, float] = {}
        self._slack.clear()
        self._next: int | None = None
        self._highest: int | None = None
        self._idle = True
        self._waits = 0
        self._late_run = 0

    # -- arrival ----------------------------------------------------------

    def push(self, packet: VoicePacket, now: float) -> None:
        """Take one parsed voice packet that arrived at ``now``."""
        ext = packet.seq if self._highest is None else unwrap(packet.seq, self._highest)
        if ext in self._seen:
            self.counts["duplicate"] += 1
            return
        self._seen.add(ext)
        if self._next is not None and ext < self._next:
            self._late_run += 1
            if self._late_run > self.restart_after_late:   # the sender restarted: this one begins anew
                self.counts["restarts"] += 1
                self._restart()
                self.push(packet, now)
                return
            self.counts["late"] += 1
            missed_at = self._missed_at.get(ext)
            if missed_at is not None:
                self._slack.append(missed_at - now)
            return
        self._late_run = 0
        self.counts["received"] += 1
        self._packets[ext] = _Arrival(now, packet)
        self._highest = ext if self._highest is None else max(self._highest, ext)
        self.reception.on_packet(ext, packet.timestamp, now)
        depth = max((offset for offset, _ in packet.redundant), default=0)
        if depth >= self._depth or now - self._depth_since > self.loss_memory_s:
            self._depth, self._depth_since = depth, now
        for offset, frame in packet.redundant:
            seq = ext - offset
            if seq not in self._seen and (self._next is None or seq >= self._next):
                self._copies.setdefault(seq, frame)

    # -- playout ----------------------------------------------------------

    def pop(self, now: float, quiet: bool = True) -> Playout:
        """Decide the frame for this tick; call exactly once per frame period.

        ``quiet``: the frame played last was quiet, so now is a good moment to
        stretch or cut (a caller that cannot tell passes True).
        """
        if self._idle:
            if not self._packets:
                return SILENCE
            self._jump_to(min(self._packets))
            self._idle = False
        if self._highest - self._next >= self.max_frames:
            self._jump_to(self._highest - self.max_frames // 2)
        else:
            needed = self.guard_s + self._recovery_frames(now) * self.frame_s
            if quiet and self._should_grow(needed):
                self._shift_slack(self.frame_s)
                self.counts["inserted"] += 1
                return CONCEALED
            if self._should_shrink(needed, quiet):
                self._drop_next()
        seq = self._next
        arrival = self._packets.pop(seq, None)
        if arrival is not None:
            self._advance()
            slack = now - arrival.at
            self._slack.append(slack)
            self.delay_s = slack
            self._delay_total += slack
            self.counts["played"] += 1
            return Playout(Source.NORMAL, arrival.packet.primary)
        if self._highest < seq:
            return self._underrun()
        self._last_loss = now
        self._missed_at[seq] = now
        copy = self._copies.get(seq)
        following = self._packets.get(seq + 1)
        self._advance()
        if copy is not None:
            self.counts["redundancy_recovered"] += 1
            return Playout(Source.REDUNDANCY, copy)
        if following is not None:
            self.counts["fec_recovered"] += 1
            return Playout(Source.FEC, following.packet.primary)
        self.counts["concealed"] += 1
        return CONCEALED

    def _underrun(self) -> Playout:
        """Nothing at or after the frame due: conceal and keep waiting for it, for a while."""
        self._waits += 1
        if self._waits > self.max_wait_frames:
            self._idle = True
            return SILENCE
        self.counts["concealed"] += 1
        return CONCEALED

    def _recovery_frames(self, now: float) -> int:
        recent_loss = self._last_loss is not None and now - self._last_loss < self.loss_memory_s
        return max(self._depth, 1 if recent_loss else 0)

    def _should_grow(self, needed: float) -> bool:
        recent = list(self._slack)[-self.grow_window_frames:]
        return bool(recent) and min(recent) < needed

    def _should_shrink(self, needed: float, quiet: bool) -> bool:
        if len(self._slack) < self.min_window_frames:
            return False
        if self._next not in self._packets or self._next + 1 not in self._packets:
            return False
        spare_frames = (min(self._slack) - needed) / self.frame_s
        return spare_frames >= (1 if quiet else self.loud_shrink_frames)

    def _shift_slack(self, delta: float) -> None:
        """After a stretch or a cut, every later frame waits ``delta`` longer."""
        for i, slack in enumerate(self._slack):
            self._slack[i] = slack + delta

    def _drop_next(self) -> None:
        """Skip one frame to cut the delay by a frame; later frames will wait that much less."""
        del self._packets[self._next]
        self.counts["dropped"] += 1
        self._advance()
        self._shift_slack(-self.frame_s)

    def _jump_to(self, seq: int) -> None:
        """Restart playout at ``seq``, discarding anything older."""
        if self._next is not None:
            self.counts["dropped"] += sum(1 for s in self._packets if s < seq)
        self._next = seq
        self._packets = {s: a for s, a in self._packets.items() if s >= seq}
        self._copies = {s: c for s, c in self._copies.items() if s >= seq}
        self._slack.clear()
        self._waits = 0

    def _advance(self) -> None:
        self._copies.pop(self._next, None)
        self._next += 1
        self._waits = 0
        if len(self._seen) > 1024:
            floor = self._next - 512
            self._seen = {s for s in self._seen if s >= floor}
            self._missed_at = {s: t for s, t in self._missed_at.items() if s >= floor}

    # -- statistics ---------------------------------------------------------

    @property
    def stats(self) -> dict:
        return {**{f"frames_{name}": n for name, n in self.counts.items()},
                "delay_ms": round(self.delay_s * 1000, 1),
                "mean_delay_ms": round(self._delay_total * 1000 / max(1, self.counts["played"]), 1),
                "jitter_ms": round(self.reception.jitter * 1000, 1)}
