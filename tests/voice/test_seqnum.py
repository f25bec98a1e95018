import pytest
from hypothesis import given, strategies as st

from terminal.voice.seqnum import seq_add, seq_diff, unwrap


@pytest.mark.parametrize("a, b, diff", [
    (5, 3, 2), (3, 5, -2), (0, 65535, 1), (65535, 0, -1), (32767, 0, 32767), (32768, 0, -32768),
    (100, 100, 0),
])
def test_seq_diff(a, b, diff):
    assert seq_diff(a, b) == diff


@pytest.mark.parametrize("seq, delta, result", [(65535, 1, 0), (0, -1, 65535), (10, 5, 15)])
def test_seq_add(seq, delta, result):
    assert seq_add(seq, delta) == result


@pytest.mark.parametrize("seq, reference, index", [
    (0, 65535, 65536), (65535, 65536, 65535), (10, 131070, 131082), (5, 7, 5),
])
def test_unwrap(seq, reference, index):
    assert unwrap(seq, reference) == index


@given(st.integers(0, 2**40), st.integers(-32768, 32767))
def test_unwrap_inverts_add_within_half_the_circle(reference, delta):
    assert unwrap(seq_add(reference % 65536, delta), reference) == reference + delta
