"""Sliding replay window for transport counters, RFC 6479 style.

A ring of 64-bit blocks: advancing the window clears whole blocks instead of
shifting a bitmap. One block is kept spare so the window always covers at
least WINDOW_SIZE - 64 counters behind the highest seen. The zero value is
ready to use. Update it only after a packet has authenticated, or a forger
could move the window.
"""

from __future__ import annotations

from terminal.link.constants import REJECT_AFTER_MESSAGES, REPLAY_WINDOW_SIZE

BLOCK_BITS = 64
BLOCKS = REPLAY_WINDOW_SIZE // BLOCK_BITS
WINDOW = REPLAY_WINDOW_SIZE - BLOCK_BITS      # counters accepted behind the highest


class ReplayFilter:
    def __init__(self) -> None:
        self.highest = -1
        self.blocks = [0] * BLOCKS

    def check(self, counter: int) -> bool:
        """Could `counter` be fresh? Pure: call before decrypting, changes nothing."""
        if counter >= REJECT_AFTER_MESSAGES:
            return False
        if counter > self.highest:
            return True
        if counter + WINDOW <= self.highest:
            return False
        return not self.blocks[(counter // BLOCK_BITS) % BLOCKS] >> (counter % BLOCK_BITS) & 1

    def accept(self, counter: int) -> bool:
        """Mark `counter` seen after it authenticated; False if it is old, repeated or past the limit."""
        if not self.check(counter):
            return False
        block = counter // BLOCK_BITS
        if counter > self.highest:
            top = self.highest // BLOCK_BITS          # -1 while nothing has been seen
            for b in range(top + 1, top + 1 + min(block - top, BLOCKS)):
                self.blocks[b % BLOCKS] = 0
            self.highest = counter
        self.blocks[block % BLOCKS] |= 1 << (counter % BLOCK_BITS)
        return True

    def seen(self, counter: int) -> bool:
        """Was `counter` already accepted, and is it still inside the window (a copy, not an old replay)?"""
        if counter > self.highest or counter + WINDOW <= self.highest:
            return False
        return bool(self.blocks[(counter // BLOCK_BITS) % BLOCKS] >> (counter % BLOCK_BITS) & 1)
