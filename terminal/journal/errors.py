"""Errors the journal raises on purpose."""

from terminal.errors import HotlineError


class JournalFieldError(HotlineError, ValueError):
    """A record's kind, call id or fields do not match the kinds table."""


class JournalFormatError(HotlineError, ValueError):
    """A journal file or export cannot be read as records and checkpoints."""


class JournalRewritten(JournalFormatError):
    """The journal no longer holds the record this unit last wrote (its head file says which):
    it was cut or rewritten behind the unit's back, and the unit must not sign it."""
