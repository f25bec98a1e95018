"""The control API's wire format, sans-I/O: one JSON object per line, each way.

    request   {"v": 1, "id": 7, "method": "msg.send", "params": {"text": "...", "precedence": "flash"}}
    result    {"v": 1, "id": 7, "result": {...}}
    error     {"v": 1, "id": 7, "error": {"code": "refused", "message": "message is 20000 bytes ..."}}

`id` is the client's (any JSON scalar) and is echoed back; `params` is an
object and may be left out. Error codes: parse_error, invalid_request,
unsupported_version, unknown_method, invalid_params, refused, not_found,
failed, internal_error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from terminal.errors import HotlineError

VERSION = 1
DEFAULT_SOCKET = "/run/hotline/control.sock"
MAX_LINE = 256 * 1024         # a 16 KiB message escaped as \uXXXX fits with room to spare


class ControlError(HotlineError, RuntimeError):
    """A request the daemon answered with an error, or one that could not be made at all."""

    def __init__(self, code: str, message: str, id: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.id = code, message, id

    def to_line(self) -> bytes:
        return _line({"v": VERSION, "id": self.id, "error": {"code": self.code, "message": self.message}})


@dataclass(frozen=True)
class Request:
    method: str
    params: dict = field(default_factory=dict)
    id: Any = None

    def to_line(self) -> bytes:
        return _line({"v": VERSION, "id": self.id, "method": self.method, "params": self.params})


def _line(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _object(line: bytes, what: str) -> dict:
    try:
        obj = json.loads(line)
    except (UnicodeDecodeError, ValueError) as e:
        raise ControlError("parse_error", f"{what} is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise ControlError("invalid_request", f"{what} must be a JSON object, not {type(obj).__name__}")
    return obj


def parse_request(line: bytes) -> Request:
    """One request line -> Request; ControlError (with the request's id when known) otherwise."""
    obj = _object(line, "request")
    id = obj.get("id")
    if not isinstance(id, (str, int, float, type(None))) or isinstance(id, bool):
        raise ControlError("invalid_request", "request id must be a string, a number or null")
    if obj.get("v") != VERSION:
        raise ControlError("unsupported_version",
                           f"request speaks version {obj.get('v')!r}; this daemon speaks {VERSION}", id)
    method, params = obj.get("method"), obj.get("params", {})
    if not isinstance(method, str) or not method:
        raise ControlError("invalid_request", "request has no method name", id)
    if not isinstance(params, dict):
        raise ControlError("invalid_request", "request params must be a JSON object", id)
    return Request(method, params, id)


def result_line(id: Any, result: Any) -> bytes:
    return _line({"v": VERSION, "id": id, "result": result})


def parse_response(line: bytes) -> tuple[Any, Any]:
    """One response line -> (id, result); an error response raises its ControlError."""
    obj = _object(line, "response")
    if obj.get("v") != VERSION:
        raise ControlError("unsupported_version",
                           f"daemon speaks version {obj.get('v')!r}; this client speaks {VERSION}")
    if "error" in obj:
        error = obj["error"] if isinstance(obj["error"], dict) else {}
        raise ControlError(str(error.get("code", "failed")), str(error.get("message", obj["error"])),
                           obj.get("id"))
    if "result" not in obj:
        raise ControlError("invalid_request", "response has neither result nor error")
    return obj.get("id"), obj["result"]
