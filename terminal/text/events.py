"""What the text service tells its owner (`TextService.next_event()`).

Message ids are 32 hex digits, the same on both units. Times are the `now`
the caller passed in (wall-clock seconds, since they are stored).
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.text.precedence import Precedence


@dataclass(frozen=True)
class MessageQueued:
    """A person wrote a message; it is in the outbox and will wait through any outage."""
    id: str
    precedence: Precedence
    at: float


@dataclass(frozen=True)
class MessageSent:
    """The message left this unit for the first time, as number `seq` of its outbox."""
    id: str
    seq: int
    at: float


@dataclass(frozen=True)
class MessageDelivered:
    """Delivery receipt: the peer stored the message."""
    id: str
    at: float


@dataclass(frozen=True)
class MessageRead:
    """Read receipt: a person at the peer acknowledged the message (at `read_at`, their clock)."""
    id: str
    at: float
    read_at: float


@dataclass(frozen=True)
class MessageReceived:
    """A message from the peer is stored and now shown to the reader, once, in order."""
    id: str
    precedence: Precedence
    text: str
    created: float
    at: float


@dataclass(frozen=True)
class MessageAcknowledged:
    """A person here acknowledged (read) a received message; a read receipt is on its way."""
    id: str
    at: float


@dataclass(frozen=True)
class MessageLed:
    """Action: drive the message LED (on while anything is unread)."""
    on: bool
    at: float


@dataclass(frozen=True)
class RingerBurst:
    """Action: a short ringer burst, because an urgent message is still unread."""
    id: str
    precedence: Precedence
    seconds: float
    at: float


Event = (MessageQueued | MessageSent | MessageDelivered | MessageRead | MessageReceived
         | MessageAcknowledged | MessageLed | RingerBurst)
