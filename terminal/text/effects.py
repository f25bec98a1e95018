"""What the channel core asks its owner to store before any payload leaves.

`MessageSent`, `MessageDelivered` and `MessageRead` (from events.py) are
effects too. The owner applies every effect, in order, before it sends the
payloads the same call produced: that is what makes a receipt a promise.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.text.events import MessageDelivered, MessageRead, MessageSent
from terminal.text.precedence import Precedence


@dataclass(frozen=True)
class Stored:
    """A complete message from the peer: store it (once per id) and hold its slot."""
    stream: bytes
    seq: int
    id: str
    precedence: Precedence
    text: str
    created: float
    at: float


@dataclass(frozen=True)
class Released:
    """Slots `first` .. `next_seq - 1` of `stream` are now in order: show them to the reader."""
    stream: bytes
    first: int
    next_seq: int
    at: float


@dataclass(frozen=True)
class ReceiptConfirmed:
    """The peer stored our read receipt for message `id`; stop resending it."""
    id: str


Effect = MessageSent | MessageDelivered | MessageRead | Stored | Released | ReceiptConfirmed
