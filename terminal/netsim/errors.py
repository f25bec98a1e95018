"""Errors of the impairment relay."""

from terminal.errors import HotlineError


class NetsimError(HotlineError, ValueError):
    """An impairment setting or relay address that cannot be used."""
