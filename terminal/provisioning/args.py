"""Checking a request's JSON arguments, with a specific message for each refusal."""

from __future__ import annotations

from terminal.provisioning.errors import CommandFailed
from terminal.provisioning.status import Status

_MISSING = object()


def only(args: dict, *allowed: str) -> None:
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise CommandFailed(Status.BAD_ARGUMENT, f"unknown argument(s) {unknown}; this command takes {sorted(allowed)}")


def get(args: dict, name: str, kind: type | tuple, default=_MISSING, what: str = ""):
    """`args[name]` if it has type `kind` (bool is never an int here), else `default` when absent."""
    if name not in args or args[name] is None:
        if default is _MISSING:
            raise CommandFailed(Status.BAD_ARGUMENT, f"argument '{name}' is required")
        return default
    value = args[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        raise CommandFailed(Status.BAD_ARGUMENT, f"argument '{name}' must be {what or ' or '.join(k.__name__ for k in kinds)}")
    return value


def string_list(args: dict, name: str) -> list[str] | None:
    value = get(args, name, list, None, "a list of strings")
    if value is not None and not all(isinstance(item, str) for item in value):
        raise CommandFailed(Status.BAD_ARGUMENT, f"argument '{name}' must be a list of strings")
    return value
