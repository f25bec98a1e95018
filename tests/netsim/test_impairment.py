import pytest

from terminal.netsim.errors import NetsimError
from terminal.netsim.impairment import GilbertElliott, Impairment


@pytest.mark.parametrize("kwargs,message", [
    (dict(delay=-0.1), "delay must not be negative"),
    (dict(jitter=-1), "jitter must not be negative"),
    (dict(loss=1.5), "loss must be a probability"),
    (dict(duplicate=-0.1), "duplicate must be a probability"),
    (dict(reorder=2), "reorder must be a probability"),
    (dict(blackouts=((3.0, 2.0),)), "blackout window"),
    (dict(blackouts=((-1.0, 2.0),)), "blackout window"),
])
def test_bad_impairments_are_refused(kwargs, message):
    with pytest.raises(NetsimError, match=message):
        Impairment(**kwargs)


@pytest.mark.parametrize("loss,burst", [(0.05, 3.0), (0.1, 1.0), (0.2, 8.0)])
def test_gilbert_elliott_from_rate_hits_the_rate(loss, burst):
    ge = GilbertElliott.from_rate(loss, burst)
    assert ge.mean_loss == pytest.approx(loss)
    assert ge.p_good == pytest.approx(1 / burst)


@pytest.mark.parametrize("args,message", [
    ((0.1, 0.5), "mean burst length"),
    ((1.0, 3.0), "below 1"),
    ((-0.1, 3.0), "burst loss must be a probability"),
])
def test_bad_burst_settings_are_refused(args, message):
    with pytest.raises(NetsimError, match=message):
        GilbertElliott.from_rate(*args)


def test_bad_state_probability_is_refused():
    with pytest.raises(NetsimError, match="burst p_bad"):
        GilbertElliott(p_bad=1.2, p_good=0.5)
