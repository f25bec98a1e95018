"""Hotline terminal: the desk unit's firmware."""

from importlib.metadata import PackageNotFoundError, version

try:
    # One place to bump: pyproject.toml's version, also the .deb's (scripts/build-deb).
    __version__ = version("hotline-terminal")
except PackageNotFoundError:   # a source tree on sys.path that was never installed
    __version__ = "0+unknown"
