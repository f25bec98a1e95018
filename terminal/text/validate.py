"""Checks on message text before it is queued: refused, never truncated."""

from __future__ import annotations

from terminal.text.constants import MAX_TEXT_BYTES
from terminal.text.errors import TextRefused


def check_text(text: str | bytes) -> str:
    """Return `text` as str if it may be sent; raise TextRefused saying why not."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise TextRefused(f"message is not valid UTF-8 (byte {e.start}: {e.reason})") from None
    if not isinstance(text, str):
        raise TextRefused(f"message text must be a string, not {type(text).__name__}")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as e:
        raise TextRefused(f"message is not valid UTF-8 (character {e.start}: {e.reason})") from None
    if not text.strip():
        raise TextRefused("message is empty")
    if size > MAX_TEXT_BYTES:
        raise TextRefused(f"message is {size} bytes of UTF-8; the limit is {MAX_TEXT_BYTES}")
    return text
