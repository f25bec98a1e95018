"""The self-test's own error: it could not run at all (exit code 2), as opposed to a check failing."""

from terminal.errors import HotlineError


class SelfTestError(HotlineError, RuntimeError):
    """The self-test could not be run (for example, the daemon did not answer)."""
