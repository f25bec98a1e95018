import random

import pytest

from terminal.netsim.core import DUPLICATE_GAP, Delivery, Direction, ImpairmentCore
from terminal.netsim.impairment import GilbertElliott, Impairment

AB, BA = Direction.A_TO_B, Direction.B_TO_A


def run(imp: Impairment, count: int = 2000, seed: int = 1, interval: float = 0.02, epoch: float = 0.0):
    """Submit ``count`` numbered datagrams A->B every ``interval`` s; return core and deliveries."""
    core = ImpairmentCore(imp, rng=random.Random(seed), epoch=epoch)
    out = []
    for i in range(count):
        out += core.submit(i.to_bytes(4, "big"), AB, epoch + i * interval)
    return core, out


def numbers(deliveries):
    return [int.from_bytes(d.datagram, "big") for d in sorted(deliveries, key=lambda d: d.at)]


def test_no_impairment_delivers_at_once_in_order():
    core, out = run(Impairment(), count=5)
    assert out == [Delivery(i * 0.02, AB, i.to_bytes(4, "big")) for i in range(5)]
    assert core.stats[AB].as_dict() == dict(received=5, delivered=5, lost_random=0, lost_burst=0,
                                            lost_blackout=0, reordered=0, duplicated=0)


@pytest.mark.parametrize("imp,check", [
    (Impairment(delay=0.08), lambda core, out: all(d.at == pytest.approx(int.from_bytes(d.datagram, "big") * 0.02 + 0.08)
                                                   for d in out)),
    (Impairment(delay=0.08, jitter=0.02), lambda core, out: all(
        0.06 - 1e-9 <= d.at - int.from_bytes(d.datagram, "big") * 0.02 <= 0.1 + 1e-9 for d in out)),
    (Impairment(delay=0.08, jitter=0.05), lambda core, out: numbers(out) == list(range(2000))),
    (Impairment(jitter=0.05), lambda core, out: all(d.at >= int.from_bytes(d.datagram, "big") * 0.02 for d in out)),
    (Impairment(loss=0.1), lambda core, out: 160 <= core.stats[AB].lost_random <= 240 and len(out) == 2000 - core.stats[AB].lost_random),
    (Impairment(loss=1.0), lambda core, out: out == [] and core.stats[AB].lost_random == 2000),
    (Impairment(duplicate=0.05), lambda core, out: 60 <= core.stats[AB].duplicated <= 140 and len(out) == 2000 + core.stats[AB].duplicated),
    (Impairment(reorder=0.05), lambda core, out: 60 <= core.stats[AB].reordered <= 140 and numbers(out) != list(range(2000))
     and sorted(numbers(out)) == list(range(2000))),
    (Impairment(blackouts=((10.0, 12.0),)), lambda core, out: core.stats[AB].lost_blackout == 100
     and not any(10.0 <= d.at < 12.0 for d in out)),
], ids=["delay", "jitter-bounds", "jitter-keeps-order", "jitter-never-early", "loss-10pct", "loss-all",
        "duplicate", "reorder", "blackout"])
def test_impairments(imp, check):
    core, out = run(imp)
    assert check(core, out)
    assert core.stats[AB].delivered == len(out)


def test_duplicate_follows_original():
    _, out = run(Impairment(duplicate=1.0), count=3)
    assert [d.at for d in out] == pytest.approx([0.0, DUPLICATE_GAP, 0.02, 0.02 + DUPLICATE_GAP, 0.04, 0.04 + DUPLICATE_GAP])
    assert out[0].datagram == out[1].datagram


def test_reordered_datagram_is_held_by_the_gap():
    _, out = run(Impairment(delay=0.01, reorder=1.0, reorder_gap=0.05), count=2)
    assert [d.at for d in out] == pytest.approx([0.06, 0.08])


def test_blackout_counts_from_epoch():
    core, out = run(Impairment(blackouts=((0.0, 1.0),)), count=100, epoch=500.0)
    assert core.stats[AB].lost_blackout == 50 and len(out) == 50
    assert min(d.at for d in out) == pytest.approx(501.0)


def test_burst_loss_comes_in_runs():
    burst = GilbertElliott.from_rate(0.1, mean_burst=5.0)
    core, out = run(Impairment(burst=burst), count=20000)
    lost = core.stats[AB].lost_burst
    assert 1500 <= lost <= 2500
    got = set(numbers(out))
    runs, length = [], 0
    for i in range(20000):
        if i in got:
            if length:
                runs.append(length)
            length = 0
        else:
            length += 1
    assert 3.5 <= sum(runs) / len(runs) <= 6.5


def test_same_seed_same_run_other_seed_differs():
    imp = Impairment(delay=0.05, jitter=0.02, loss=0.1, reorder=0.05, duplicate=0.05)
    assert run(imp, seed=9)[1] == run(imp, seed=9)[1]
    assert run(imp, seed=9)[1] != run(imp, seed=10)[1]


def test_directions_have_their_own_impairment_and_stats():
    core = ImpairmentCore(Impairment(delay=0.1), Impairment(loss=1.0), rng=random.Random(0))
    assert core.submit(b"x", AB, 1.0) == [Delivery(1.1, AB, b"x")]
    assert core.submit(b"y", BA, 1.0) == []
    assert core.stats[AB].delivered == 1 and core.stats[BA].lost_random == 1
