import random

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.netsim.core import Direction, ImpairmentCore
from terminal.netsim.impairment import GilbertElliott, Impairment

probability = st.floats(0.0, 1.0)
seconds = st.floats(0.0, 0.5)
impairments = st.builds(
    Impairment, delay=seconds, jitter=seconds, loss=probability,
    burst=st.none() | st.builds(GilbertElliott, p_bad=probability, p_good=probability),
    reorder=probability, duplicate=probability,
    blackouts=st.lists(st.tuples(st.floats(0, 5), st.floats(0.01, 2)).map(lambda w: (w[0], w[0] + w[1])),
                       max_size=2).map(tuple))


@settings(max_examples=200, deadline=None)
@given(imp=impairments, seed=st.integers(0, 2**32), gaps=st.lists(st.floats(0.0, 0.1), min_size=1, max_size=60))
def test_accounting_and_ordering_hold_for_any_impairment(imp, seed, gaps):
    core = ImpairmentCore(imp, rng=random.Random(seed))
    now, kept_order = 0.0, []
    for i, gap in enumerate(gaps):
        now += gap
        out = core.submit(bytes([i]), Direction.A_TO_B, now)
        assert all(d.at >= now and d.datagram == bytes([i]) for d in out)
        assert len(out) <= 2
        if out:
            kept_order.append(out[0])
    s = core.stats[Direction.A_TO_B]
    lost = s.lost_random + s.lost_burst + s.lost_blackout
    assert s.received == len(gaps)
    assert s.delivered == s.received - lost + s.duplicated
    assert len(kept_order) == s.received - lost
    if s.reordered == 0:
        assert [d.at for d in kept_order] == sorted(d.at for d in kept_order)
    assert core.stats[Direction.B_TO_A].received == 0
