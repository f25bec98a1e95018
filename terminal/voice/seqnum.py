"""16-bit sequence-number arithmetic with wraparound (RFC 3550 / RFC 1982 style)."""

SEQ_MODULO = 1 << 16


def seq_add(seq: int, delta: int) -> int:
    """``seq + delta`` on the 16-bit circle."""
    return (seq + delta) % SEQ_MODULO


def seq_diff(a: int, b: int) -> int:
    """Signed distance from ``b`` to ``a``, in -32768..32767 (positive: ``a`` is newer)."""
    return (a - b + SEQ_MODULO // 2) % SEQ_MODULO - SEQ_MODULO // 2


def unwrap(seq: int, reference: int) -> int:
    """The unbounded index of 16-bit ``seq`` nearest to the unbounded ``reference``."""
    return reference + seq_diff(seq, reference % SEQ_MODULO)
