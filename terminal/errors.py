"""The project's exception base, so callers can catch ours apart from others."""


class HotlineError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(HotlineError, ValueError):
    """A configuration file or value is not what was expected."""


class KeyFileError(HotlineError, ValueError):
    """A key file is missing, malformed, or has unsafe permissions."""
