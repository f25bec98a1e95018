"""Errors the journal raises on purpose."""

from terminal.errors import HotlineError


class JournalFieldError(HotlineError, ValueError):
    """A record's kind, call id or fields do not match the kinds table."""


class JournalFormatError(HotlineError, ValueError):
    """A journal file or export cannot be read as records and checkpoints."""
