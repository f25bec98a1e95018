"""Command and status codes, and the table that turns a status into words."""

from enum import IntEnum


class Command(IntEnum):
    HELLO = 1
    ENROL = 2
    EXPORT = 3
    INSTALL_PEER = 4
    SET_CONFIG = 5
    SELFTEST = 6
    JOURNAL_SNAPSHOT = 7
    JOURNAL_READ = 8
    ZEROIZE = 9


class Status(IntEnum):
    OK = 0
    PROGRESS = 1  # a streamed partial result; more responses follow
    BAD_FRAME = 16
    BAD_MESSAGE = 17
    BAD_VERSION = 18
    UNKNOWN_COMMAND = 19
    BAD_ARGUMENT = 20
    NEEDS_PRESENCE = 32
    NOT_ENROLLED = 33
    BAD_SIGNATURE = 34
    BAD_CONFIG = 35
    NOT_AVAILABLE = 36
    ALREADY_EXISTS = 37
    INTERNAL = 48


WORDS = {
    Status.OK: "ok",
    Status.PROGRESS: "in progress",
    Status.BAD_FRAME: "the unit could not read the frame (corrupted, truncated or too large)",
    Status.BAD_MESSAGE: "the unit could not parse the request",
    Status.BAD_VERSION: "protocol version mismatch between hotline-host and the unit",
    Status.UNKNOWN_COMMAND: "the unit does not know this command (firmware too old?)",
    Status.BAD_ARGUMENT: "the unit refused an argument",
    Status.NEEDS_PRESENCE: "press the provisioning button on the unit, then retry within 60 s",
    Status.NOT_ENROLLED: "the unit has no keys yet (run `hotline-host enrol`)",
    Status.BAD_SIGNATURE: "the identity bundle's signature does not verify",
    Status.BAD_CONFIG: "the unit's configuration would not be valid",
    Status.NOT_AVAILABLE: "not available on this unit",
    Status.ALREADY_EXISTS: "already exists",
    Status.INTERNAL: "internal error on the unit (see its journal: journalctl -u hotline-provisioning)",
}


def describe(code: int) -> str:
    """Words for a status code, including codes a newer unit might send."""
    try:
        return WORDS[Status(code)]
    except ValueError:
        return f"unknown status {code} (firmware newer than hotline-host?)"
