"""Errors the text layer raises on purpose."""

from terminal.errors import HotlineError


class TextRefused(HotlineError, ValueError):
    """A message the sender may not send as given (too long, not UTF-8, bad precedence)."""


class UnknownMessage(HotlineError, LookupError):
    """No message with this id is in the store."""


class StoreError(HotlineError, RuntimeError):
    """The message database is locked, damaged or unwritable; nothing was changed."""
