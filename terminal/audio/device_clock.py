"""The handset on its own threads, paced by the sound card's clock: the event loop never
waits for audio (issue 14 part 2).

A capture thread does PortAudio's blocking reads: on a sound card each returns when the
card has recorded a frame, so the card's clock paces the call. Each frame goes into a
queue and the loop is woken for it (`attach`), so the loop's `poll` only takes what has
arrived. A playback thread takes what the loop `write`s and does the blocking writes,
which the card's clock paces too; an underflow PortAudio reports is counted.

The ALSA ``file`` plugin the tests, the simulation and the lab use is not paced: its
reads return at once. `CaptureClock` notices (a read back in under half a frame,
which a card that has to record the frame cannot do) and from then on the capture
thread waits for each frame's due time on the monotonic clock, the one asyncio's
loop uses. It decides on the first fast read: every read let through at once
reaches the loop in a burst, and the peer's frames then pile up in the jitter
buffer for as long (a probe of five reads measured 20 ms more delay and 4 dropped
frames). The capture stream starts in the capture thread, just before its first
read, so thread start-up does not count. Playback follows capture one frame per
tick, so it needs no pacing of its own.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from typing import Callable

from terminal.audio.errors import AudioError
from terminal.audio.format import FrameFormat
from terminal.audio.pyaudio_handset import PyAudioHandset

log = logging.getLogger(__name__)

PROBE_FRAMES = 2          # slow reads in a row that make the device the one pacing capture
FAST_SHARE = 0.5          # a read back within this share of a frame: nobody paced it
PLAYOUT_FRAMES = 3        # frames waiting for the earpiece beyond which the oldest is dropped (after a
                          # stall the backlog would otherwise stay as delay for the rest of the call)
CAPTURE_FRAMES = 50       # frames captured and not yet taken by the loop (1 s at 20 ms) before the oldest goes


class CaptureClock:
    """Who paces capture, from when the reads return (sans-I/O: times are passed in).

    `started(now)` just before the first read of a freshly started stream; `read(now)` after
    each read returns. A read back in under FAST_SHARE of a frame after the one before (or
    after the start) was paced by nobody: the monotonic clock paces from then on ("system").
    PROBE_FRAMES slow reads in a row are a device's ("device"). A fast read cannot come from a
    card that has to record the frame first; a slow one can come from an unpaced PCM whose
    thread waited for the GIL, hence more than one. `due()` is when the next read may start:
    None while the device paces or it is not yet known (read at once), else start + n * frame.
    """

    def __init__(self, frame_seconds: float):
        self.frame_seconds = frame_seconds
        self._start = self._last = 0.0
        self._reads = 0
        self.paced_by: str | None = None          # "device" or "system" once known

    def started(self, now: float) -> None:
        self._start = self._last = now
        self._reads, self.paced_by = 0, None

    def read(self, now: float) -> None:
        self._reads += 1
        if self.paced_by is None:
            if now - self._last < FAST_SHARE * self.frame_seconds:
                self.paced_by = "system"
            elif self._reads >= PROBE_FRAMES:
                self.paced_by = "device"
        self._last = now

    def due(self) -> float | None:
        if self.paced_by != "system":
            return None
        return self._start + self._reads * self.frame_seconds


class DeviceClockHandset:
    """The handset's microphone and earpiece (named ALSA PCMs), each on its own thread.

    The same calls as a PacedHandset, for terminal/audio/pump.py: `attach(wake)` before
    `start(now)`; `poll(now)` gives the frames captured so far; `next_due()` is None, since
    the capture thread wakes the loop. `counts` says what went wrong locally: frames the loop
    did not take in time (`capture_dropped`), frames it wrote faster than the earpiece played
    (`playout_dropped`) and PortAudio's output underflows (`underruns`)."""

    threaded = True
    # The loop writes one earpiece frame per captured frame; the queue between them is a
    # queue.Queue (its own lock), the captured frames a deque (appends and pops are atomic).

    def __init__(self, capture_device: str | None, playback_device: str | None, frame_ms: int = 20,
                 clock: Callable[[], float] = time.monotonic, thread_setup: Callable[[], object] = lambda: None):
        """`thread_setup()` runs first in each audio thread (the daemon raises their priority there)."""
        self.format = FrameFormat(frame_ms)
        self._thread_setup = thread_setup
        self._streams = PyAudioHandset(capture_device, playback_device, frame_ms)
        self._clock = clock
        self.capture_clock = CaptureClock(self.format.seconds)
        self._captured: deque[bytes] = deque()
        self._playout: queue.Queue = queue.Queue()     # kept at most PLAYOUT_FRAMES deep by `write`
        self._wake: Callable[[], None] = lambda: None
        self._running = threading.Event()
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None
        self.counts = {"capture_dropped": 0, "playout_dropped": 0, "underruns": 0}

    def attach(self, wake: Callable[[], None]) -> None:
        """`wake()` is called from the capture thread after each frame (thread-safe on the caller's side)."""
        self._wake = wake

    def start(self, now: float) -> None:
        """Start the threads; each starts its own stream."""
        self._running.set()
        for name, target in (("capture", self._capture), ("playback", self._playback)):
            thread = threading.Thread(target=self._guarded, args=(target,), name=f"handset-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def next_due(self) -> None:
        return None

    @property
    def playout_depth(self) -> int:
        """Earpiece frames written and not yet played (at most PLAYOUT_FRAMES)."""
        return self._playout.qsize()

    def poll(self, now: float) -> list[bytes]:
        if self._error is not None:
            raise AudioError(f"handset audio stopped: {self._error}") from self._error
        frames = []
        while self._captured:
            frames.append(self._captured.popleft())
        return frames

    def write(self, frame: bytes) -> None:
        self.format.check(frame)
        if not self._streams.has_earpiece:
            raise AudioError("this handset was opened without an earpiece")
        while self._playout.qsize() >= PLAYOUT_FRAMES:
            try:
                self._playout.get_nowait()
                self.counts["playout_dropped"] += 1
            except queue.Empty:
                break
        self._playout.put_nowait(frame)

    @property
    def paced_by(self) -> str | None:
        """"device" (the sound card's clock), "system" (an unpaced PCM: the monotonic clock), None: not yet known."""
        return self.capture_clock.paced_by

    # --- the threads ----------------------------------------------------------------

    def _guarded(self, target) -> None:
        try:
            self._thread_setup()
            target()
        except BaseException as exc:      # an unplugged handset: the loop hears it at its next poll
            if self._running.is_set():
                self._error = exc
                try:
                    self._wake()
                except RuntimeError:      # the loop is closed: nobody is left to tell
                    pass

    def _capture(self) -> None:
        clock, frame_clock, read = self._clock, self.capture_clock, self._streams.read_blocking
        self._streams.start_stream(capture=True)
        frame_clock.started(clock())
        while self._running.is_set():
            due = frame_clock.due()
            if due is not None and (wait := due - clock()) > 0:
                time.sleep(wait)
            frame = read()
            known = frame_clock.paced_by
            frame_clock.read(clock())
            if known is None and frame_clock.paced_by is not None:
                log.info("handset capture paced by the %s clock", "sound card's" if frame_clock.paced_by == "device"
                         else "system (the PCM is not paced: an ALSA file plugin?)")
            if len(self._captured) >= CAPTURE_FRAMES:
                self._captured.popleft()
                self.counts["capture_dropped"] += 1
            self._captured.append(frame)
            try:
                self._wake()
            except RuntimeError:          # the loop closed under a call: stop quietly
                return

    def _playback(self) -> None:
        if not self._streams.has_earpiece:
            return
        self._streams.start_stream(capture=False)
        while (frame := self._playout.get()) is not None:
            if self._streams.write_blocking(frame):
                self.counts["underruns"] += 1

    def close(self) -> None:
        """Stop both threads, then the streams; safe to call twice."""
        if self._running.is_set():
            self._running.clear()
            while True:                   # make room for the playback thread's stop mark
                try:
                    self._playout.put_nowait(None)
                    break
                except queue.Full:
                    try:
                        self._playout.get_nowait()
                    except queue.Empty:
                        pass
            for thread in self._threads:
                thread.join(timeout=2.0)
            stuck = [t.name for t in self._threads if t.is_alive()]
            if stuck:           # closing a stream under a thread still in PortAudio could crash the unit
                log.error("handset threads did not stop: %s; leaving their streams open", ", ".join(stuck))
                self._threads = []
                return
        self._threads = []
        self._streams.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
