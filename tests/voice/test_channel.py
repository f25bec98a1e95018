"""The test channel's loss models: the seeded Gilbert-Elliott bursts and the payload bookkeeping."""

import random

import pytest

from tests.voice.channel import GilbertElliott, read_speech, simulate, speech_through

PACKETS = 200_000


def bursts(losses: list[bool]) -> list[int]:
    """Lengths of the runs of consecutive lost packets."""
    runs, run = [], 0
    for lost in losses:
        if lost:
            run += 1
        elif run:
            runs.append(run)
            run = 0
    return runs + [run] if run else runs


@pytest.mark.parametrize("loss, mean_burst", [(0.10, 4), (0.20, 3)])
def test_gilbert_elliott_loses_the_asked_share_in_bursts_of_the_asked_length(loss, mean_burst):
    model = GilbertElliott.with_bursts(loss, mean_burst, random.Random(5))
    losses = [model.lost() for _ in range(PACKETS)]
    runs = bursts(losses)
    # Over 200 000 packets one standard error is about 0.002 on the loss and 0.05 on
    # the mean burst; independent loss at the same rate would give bursts of 1.1 to 1.25.
    assert sum(losses) / PACKETS == pytest.approx(loss, abs=0.006)
    assert sum(runs) / len(runs) == pytest.approx(mean_burst, abs=0.2)


def test_gilbert_elliott_is_reproducible_from_its_seed():
    first, second = (GilbertElliott.with_bursts(0.1, 4, random.Random(9)) for _ in range(2))
    assert [first.lost() for _ in range(1000)] == [second.lost() for _ in range(1000)]


@pytest.mark.parametrize("loss, mean_burst", [(0.0, 4), (1.0, 4), (0.1, 0.5), (0.8, 1)])
def test_gilbert_elliott_refuses_what_it_cannot_model(loss, mean_burst):
    with pytest.raises(ValueError):
        GilbertElliott.with_bursts(loss, mean_burst, random.Random(1))


def test_channel_counts_what_the_sender_sent_and_what_it_lost():
    speech = read_speech("speech_a.wav")
    whole = simulate(speech, loss=0.1, burst=4, seed=3)
    assert sum(whole.sent_bytes) == whole.sender["bytes_sent"]
    assert len(whole.lost) == whole.sender["frames_sent"]
    part = speech_through(speech, loss=0.1, burst=4, seed=3)
    assert len(part.sent_bytes) == len(part.lost) == -(-len(speech) // 1920)
    assert 0.05 < sum(part.lost) / len(part.lost) < 0.2
