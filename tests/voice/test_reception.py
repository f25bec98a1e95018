import pytest

from terminal.voice.reception import ReceptionStats


def test_steady_packets_have_no_jitter():
    stats = ReceptionStats()
    for i in range(50):
        stats.on_packet(i, (2**32 - 4800 + i * 960) % 2**32, 1.0 + i * 0.020)   # timestamp wraps
    assert stats.jitter == pytest.approx(0.0, abs=1e-9)


def test_alternating_five_ms_offsets_converge_to_five_ms():
    stats = ReceptionStats()
    for i in range(300):
        stats.on_packet(i, i * 960, i * 0.020 + (0.005 if i % 2 else 0.0))
    assert stats.jitter == pytest.approx(0.005, rel=0.01)


def test_interval_loss():
    stats = ReceptionStats()
    assert stats.take_interval_loss() is None
    for seq in (10, 11, 13, 14, 16, 17, 18, 19, 20, 12):      # 15 lost, 12 late but counted
        stats.on_packet(seq, seq * 960, seq * 0.02)
    assert stats.take_interval_loss() == pytest.approx(1 / 11)
    assert stats.take_interval_loss() is None                  # nothing expected, nothing came
    for seq in (21, 22, 25):
        stats.on_packet(seq, seq * 960, seq * 0.02)
    assert stats.interval_loss() == pytest.approx(2 / 5)           # a look, no new interval
    assert stats.take_interval_loss() == pytest.approx(2 / 5)
    stats.on_packet(15, 15 * 960, 0.6)                         # only a very late one
    assert stats.take_interval_loss() == 0.0
