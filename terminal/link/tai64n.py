"""TAI64N timestamps (12 bytes, big-endian): what an initiation carries against replay."""

TAI64_BASE = 2**62 + 10   # TAI64 label of 1970-01-01 (with the 10 s TAI-UTC offset WireGuard uses)
LEN = 12


def encode(unix_seconds: float) -> bytes:
    seconds = int(unix_seconds)
    nanos = int((unix_seconds - seconds) * 1e9)
    return (TAI64_BASE + seconds).to_bytes(8, "big") + nanos.to_bytes(4, "big")


def is_newer(candidate: bytes, last: bytes | None) -> bool:
    """Big-endian fixed width, so byte order is time order."""
    return len(candidate) == LEN and (last is None or candidate > last)
