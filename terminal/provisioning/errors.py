"""Errors of the provisioning protocol; each carries the status it is answered with."""

from terminal.errors import HotlineError
from terminal.provisioning.status import Status, describe


class ProtocolError(HotlineError, ValueError):
    """Bytes that are not a valid frame or message. `request_id` is 0 when unknown."""

    status = Status.BAD_FRAME

    def __init__(self, message: str, request_id: int = 0):
        super().__init__(message)
        self.request_id = request_id


class FrameError(ProtocolError):
    status = Status.BAD_FRAME


class MessageError(ProtocolError):
    status = Status.BAD_MESSAGE


class VersionError(MessageError):
    status = Status.BAD_VERSION


class UnknownCommand(MessageError):
    status = Status.UNKNOWN_COMMAND


class CommandFailed(HotlineError, RuntimeError):
    """A command the unit refused or could not do: a status code and a specific detail."""

    def __init__(self, status: int, detail: str):
        super().__init__(f"{describe(status)}: {detail}" if detail else describe(status))
        self.status = status
        self.detail = detail
