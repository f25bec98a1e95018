"""Jitter buffer, step by step on a fake clock (milliseconds in the tables)."""

import pytest
from hypothesis import given, strategies as st

from terminal.voice.jitter import JitterBuffer, Playout, Source
from terminal.voice.packet import VoicePacket

N, F, R, C, S = Source.NORMAL, Source.FEC, Source.REDUNDANCY, Source.CONCEALED, Source.SILENCE


def packet(seq, redundant=()):
    """Primary b"P<seq>"; a redundant copy of frame s is b"R<s>"."""
    copies = tuple((offset, b"R%d" % ((seq - offset) % 65536)) for offset in redundant)
    return VoicePacket(seq, seq * 960 % 2**32, b"P%d" % seq, copies)


def push(seq, at, redundant=()):
    return ("push", seq, at, tuple(redundant))


def pop(at, source, data=None, quiet=False):
    return ("pop", at, source, data, quiet)


def run(buffer, steps):
    for step in steps:
        if step[0] == "push":
            _, seq, at, redundant = step
            buffer.push(packet(seq, redundant), at / 1000)
        else:
            _, at, source, data, quiet = step
            playout = buffer.pop(at / 1000, quiet=quiet)
            assert (playout.source, playout.data) == (source, data), f"at {at} ms"


CASES = {
    "nothing yet": (
        [pop(5, S), pop(25, S)],
        {"frames_received": 0}),
    "in order": (
        [push(0, 0), pop(5, N, b"P0"), push(1, 20), pop(25, N, b"P1"), push(2, 40),
         pop(45, N, b"P2")],
        {"frames_received": 3, "frames_played": 3, "frames_concealed": 0}),
    "loss, FEC from the next packet": (
        [push(0, 0), pop(5, N, b"P0"),
         pop(25, C),                        # 1 lost, nothing after it yet: wait, do not move on
         push(2, 40), pop(45, F, b"P2"),     # frame 1 rebuilt from packet 2's FEC
         pop(65, N, b"P2")],
        {"frames_concealed": 1, "frames_fec_recovered": 1, "frames_played": 2}),
    "loss, redundant copy preferred to FEC": (
        [push(0, 0), push(1, 20), pop(25, N, b"P0"), pop(45, N, b"P1"),
         push(3, 60, [2, 1]), pop(65, R, b"R2"), pop(85, N, b"P3")],
        {"frames_redundancy_recovered": 1, "frames_fec_recovered": 0, "frames_concealed": 0}),
    "reordering inside the buffer": (
        [push(0, 0), push(2, 18), push(1, 19), pop(25, N, b"P0"), pop(45, N, b"P1"),
         pop(65, N, b"P2")],
        {"frames_late": 0, "frames_duplicate": 0, "frames_played": 3}),
    "duplicates, before and after playout": (
        [push(0, 0), push(0, 1), pop(5, N, b"P0"), push(0, 10), push(1, 20),
         pop(25, N, b"P1")],
        {"frames_duplicate": 2, "frames_received": 2}),
    "late packet after its frame was rebuilt": (
        [push(0, 0), pop(5, N, b"P0"), push(2, 38), pop(45, F, b"P2"), push(1, 50),
         pop(65, N, b"P2")],
        {"frames_late": 1, "frames_fec_recovered": 1}),
    "burst of three, all in the next packet's redundancy": (
        [push(0, 0), pop(5, N, b"P0"), pop(25, C), pop(45, C), pop(65, C),
         push(4, 80, [3, 2, 1]), pop(85, R, b"R1"), pop(105, R, b"R2"), pop(125, R, b"R3"),
         pop(145, N, b"P4")],
        {"frames_redundancy_recovered": 3, "frames_concealed": 3}),
    "burst of three without redundancy": (
        [push(0, 0), push(1, 20), pop(25, N, b"P0"), pop(45, N, b"P1"), push(5, 95),
         pop(105, C), pop(125, C), pop(145, F, b"P5"), pop(165, N, b"P5")],
        {"frames_concealed": 2, "frames_fec_recovered": 1}),
    "sequence numbers wrap": (
        [push(65534, 0), pop(5, N, b"P65534"), push(65535, 20), pop(25, N, b"P65535"),
         push(0, 40), pop(45, N, b"P0"), push(1, 60), pop(65, N, b"P1")],
        {"frames_played": 4, "frames_late": 0}),
    "redundant copy arriving before a reordered primary is not used": (
        [push(0, 0), push(2, 18, [1]), push(1, 19), pop(25, N, b"P0"), pop(45, N, b"P1"),
         pop(65, N, b"P2")],
        {"frames_redundancy_recovered": 0}),
    "stream stops: conceal a while, then silence, then restart at the next packet": (
        [push(0, 0), pop(5, N, b"P0")]
        + [pop(25 + 20 * i, C) for i in range(5)]
        + [pop(125, S), pop(145, S), push(40, 790), pop(805, N, b"P40"), push(41, 810),
           pop(825, N, b"P41")],
        {"frames_concealed": 5, "frames_played": 3}),
    "far jump ahead skips to the recent frames": (
        [push(0, 0), push(60, 1), pop(5, C), pop(25, C)],
        {"frames_dropped": 1}),
    "sender restarted with an older sequence number": (
        [push(1000, 0), pop(5, N, b"P1000")]
        + [push(10 + i, 20 + i) for i in range(11)]
        + [pop(45, N, b"P20"), push(21, 50), pop(65, N, b"P21")],
        {"frames_late": 10, "frames_restarts": 1, "frames_received": 3}),   # the 11th began anew
}


@pytest.mark.parametrize("steps, counts", CASES.values(), ids=CASES.keys())
def test_steps(steps, counts):
    buffer = JitterBuffer()
    run(buffer, steps)
    assert {key: buffer.stats[key] for key in counts} == counts


def test_no_loss_no_jitter_plays_each_frame_at_the_first_tick():
    buffer = JitterBuffer()
    for i in range(200):
        buffer.push(packet(i), (i * 20 + 13) / 1000)
        assert buffer.pop((i * 20 + 19) / 1000).source is N
    assert buffer.stats["mean_delay_ms"] == pytest.approx(6.0)
    assert buffer.stats["frames_inserted"] == buffer.stats["frames_dropped"] == 0


def test_after_a_loss_it_grows_by_a_frame_while_quiet():
    buffer = JitterBuffer()
    run(buffer, [push(0, 0), pop(10, N, b"P0"), pop(30, C), push(2, 40), pop(50, F, b"P2"),
                 push(3, 60), pop(70, C, quiet=True), push(4, 80), pop(90, N, b"P2", quiet=True),
                 pop(110, N, b"P3", quiet=True)])
    assert buffer.stats["frames_inserted"] == 1
    assert buffer.stats["delay_ms"] == pytest.approx(50.0)


def test_grows_only_while_quiet():
    buffer = JitterBuffer()
    run(buffer, [push(0, 0), pop(10, N, b"P0"), pop(30, C), push(2, 40), pop(50, F, b"P2"),
                 push(3, 60), pop(70, N, b"P2"), push(4, 80), pop(90, N, b"P3")])
    assert buffer.stats["frames_inserted"] == 0


def steady(buffer, redundant=(), quiet=True, frames=40, first_tick_ms=105):
    """Packet i arrives at 20 i ms; ticks from ``first_tick_ms`` on: all events in time order."""
    events = [(i * 20, "push", i) for i in range(frames)]
    events += [(first_tick_ms + k * 20, "pop", k) for k in range(frames - 6)]
    sources = []
    for at, kind, i in sorted(events):
        if kind == "push":
            buffer.push(packet(i, redundant if i else ()), at / 1000)
        else:
            sources.append(buffer.pop(at / 1000, quiet=quiet).source)
    return sources


@pytest.mark.parametrize("quiet, spare_needed", [(True, 1), (False, 3)])
def test_shrinks_excess_delay_one_frame_at_a_time(quiet, spare_needed):
    buffer = JitterBuffer(min_window_frames=2)
    assert set(steady(buffer, quiet=quiet)) == {N}      # 105 ms of delay to start with
    assert buffer.stats["frames_dropped"] == 6 - spare_needed
    assert buffer.stats["delay_ms"] == pytest.approx(105 - 20 * (6 - spare_needed))


def test_redundancy_seen_keeps_room_for_recovery():
    buffer = JitterBuffer(min_window_frames=2)
    assert set(steady(buffer, redundant=(2, 1))) == {N}
    # guard 4 ms + 2 frames of recovery = 44 ms kept: 105 -> 85 -> 65 -> 45 and no further
    assert buffer.stats["delay_ms"] == pytest.approx(45.0)


def test_late_arrivals_make_it_grow():
    buffer = JitterBuffer()
    run(buffer, [push(0, 0), pop(10, N, b"P0"), push(2, 25), pop(30, F, b"P2"), push(1, 35)])
    assert buffer.pop(0.050, quiet=True).source is C
    assert buffer.stats["frames_inserted"] == 1


def test_delay_is_capped_at_max_delay():
    buffer = JitterBuffer(max_delay_ms=200)
    for i in range(30):
        buffer.push(packet(i), 0.0)
    buffer.pop(0.001, quiet=False)
    assert buffer.stats["frames_dropped"] >= 20


events = st.lists(st.one_of(
    st.tuples(st.just("push"), st.integers(0, 0xFFFF), st.lists(st.integers(1, 8), unique=True)),
    st.tuples(st.just("pop"), st.booleans())), max_size=200)


@given(events, st.integers(0, 0xFFFF))
def test_any_arrival_pattern_is_handled_and_accounted(steps, base):
    buffer = JitterBuffer()
    now, pushes = 0.0, 0
    for step in steps:
        now += 0.007
        if step[0] == "push":
            buffer.push(packet((base + step[1] % 64) % 65536, step[2]), now)
            pushes += 1
        else:
            assert isinstance(buffer.pop(now, quiet=step[1]), Playout)
    stats = buffer.stats
    assert stats["frames_received"] + stats["frames_duplicate"] + stats["frames_late"] == pushes
    assert stats["frames_played"] + stats["frames_dropped"] <= stats["frames_received"]


def test_a_restarted_sender_is_counted_once_not_as_late_and_received():
    """Found by the property test above: the packet that restarts the stream was
    counted both late and received."""
    buffer, pushes = JitterBuffer(), 0
    for i, seq in enumerate(range(100, 121)):
        buffer.push(packet(seq), i * 0.02)
        pushes += 1
        buffer.pop(i * 0.02 + 0.005)
    for seq in range(buffer.restart_after_late + 1):          # the far unit rebooted: numbering from 0
        buffer.push(packet(seq), 0.5)
        pushes += 1
    stats = buffer.stats
    assert stats["frames_restarts"] == 1 and stats["frames_late"] == buffer.restart_after_late
    assert stats["frames_received"] + stats["frames_duplicate"] + stats["frames_late"] == pushes


@pytest.mark.parametrize("ppm", [-500, -100, 100, 500])
def test_clock_drift_between_the_units_keeps_the_delay_bounded(ppm):
    """The far unit's sound card runs `ppm` fast (+) or slow (-) against ours, for ten
    minutes of frames on a fake clock: the buffer cuts or stretches a frame now and
    then and the delay neither grows without bound nor underruns into silence."""
    buffer = JitterBuffer()
    period = 0.020 * (1 - ppm * 1e-6)      # how often the far side's frames arrive, on our clock
    frames = 30_000                          # 10 minutes of frames
    sent, delays, sources = 0, [], []
    for tick in range(frames):
        now = 0.015 + tick * 0.020
        while 0.010 + sent * period <= now:                         # everything that has arrived by now
            buffer.push(packet(sent % 65536), 0.010 + sent * period)
            sent += 1
        sources.append(buffer.pop(now, quiet=True).source)
        if tick > 100:
            delays.append(buffer.delay_s)
    drift_frames = abs(ppm) * 1e-6 * frames                        # frames' worth of drift
    stats = buffer.stats
    assert Source.SILENCE not in sources[10:]
    assert max(delays) < 0.030 and min(delays) >= 0.0             # bounded: guard plus at most a frame
    adjustments = stats["frames_dropped"] if ppm > 0 else stats["frames_inserted"]
    assert drift_frames - 1 <= adjustments <= drift_frames + 1     # it tracked the drift, no more
    assert stats["frames_concealed"] == 0                          # and lost nothing doing it
