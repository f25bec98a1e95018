"""Hotline terminal: the desk unit's firmware."""

__version__ = "0.1.0"
