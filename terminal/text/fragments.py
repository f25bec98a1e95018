"""Split a message into fragments that fit one datagram, and put them back together."""

from __future__ import annotations

from dataclasses import dataclass, field

from terminal.text.constants import CHUNK_BYTES, MAX_TEXT_BYTES


def split(body: bytes) -> list[bytes]:
    """UTF-8 bytes -> chunks of at most CHUNK_BYTES (at least one)."""
    return [body[i:i + CHUNK_BYTES] for i in range(0, max(len(body), 1), CHUNK_BYTES)]


def full(count: int) -> int:
    """The bitmap that says all `count` fragments are held."""
    return (1 << count) - 1


@dataclass
class Reassembly:
    """Fragments of one message so far; first-seen wins for each index."""
    count: int
    chunks: dict[int, bytes] = field(default_factory=dict)

    def add(self, index: int, chunk: bytes) -> None:
        self.chunks.setdefault(index, chunk)

    @property
    def held(self) -> int:
        return sum(1 << i for i in self.chunks)

    def complete(self) -> bool:
        return len(self.chunks) == self.count

    def text(self) -> str:
        """The whole message; ValueError if it is too long or not UTF-8."""
        body = b"".join(self.chunks[i] for i in range(self.count))
        if len(body) > MAX_TEXT_BYTES:
            raise ValueError(f"reassembled message is {len(body)} bytes; limit {MAX_TEXT_BYTES}")
        return body.decode("utf-8")
