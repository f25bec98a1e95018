"""Errors of the audio layer."""

from terminal.errors import HotlineError


class AudioError(HotlineError, ValueError):
    """An audio format, device or file is not usable as asked."""
