"""Requests and responses as small value classes with `parse` and `__bytes__`.

Header (5 bytes, big-endian): version u8 | kind u8 | id u16 | code u8, then a
UTF-8 JSON object. The version and id come first and keep their place in every
version, so a unit can answer a request it cannot read with the right id.
For a request `code` is the command; for a response it is the status.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

from terminal.provisioning.constants import PROTOCOL_VERSION
from terminal.provisioning.errors import MessageError, UnknownCommand, VersionError
from terminal.provisioning.status import Command, Status

_HEADER = struct.Struct(">BBHB")
KIND_REQUEST = 1
KIND_RESPONSE = 2


def _body(data: bytes, what: str, request_id: int) -> dict:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError(f"{what} body is not UTF-8 JSON: {exc}", request_id) from None
    if not isinstance(value, dict):
        raise MessageError(f"{what} body must be a JSON object, got {type(value).__name__}", request_id)
    return value


def _header(data: bytes, kind: int, what: str) -> tuple[int, int]:
    if len(data) < _HEADER.size:
        raise MessageError(f"{what} is {len(data)} bytes; shorter than the {_HEADER.size}-byte header")
    version, got_kind, request_id, code = _HEADER.unpack_from(data)
    if version != PROTOCOL_VERSION:
        raise VersionError(
            f"{what} has protocol version {version}; this side speaks version {PROTOCOL_VERSION}", request_id
        )
    if got_kind != kind:
        raise MessageError(f"expected a {what} (kind {kind}), got kind {got_kind}", request_id)
    return request_id, code


def _encode(kind: int, request_id: int, code: int, body: dict) -> bytes:
    return _HEADER.pack(PROTOCOL_VERSION, kind, request_id, code) + json.dumps(
        body, separators=(",", ":"), sort_keys=True
    ).encode("utf-8")


@dataclass(frozen=True)
class Request:
    id: int
    command: Command
    args: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes) -> Request:
        request_id, code = _header(data, KIND_REQUEST, "request")
        try:
            command = Command(code)
        except ValueError:
            raise UnknownCommand(f"unknown command {code}", request_id) from None
        return cls(request_id, command, _body(data[_HEADER.size:], "request", request_id))

    def __bytes__(self) -> bytes:
        return _encode(KIND_REQUEST, self.id, self.command, self.args)


@dataclass(frozen=True)
class Response:
    id: int
    status: int
    result: dict = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status != Status.PROGRESS

    @classmethod
    def parse(cls, data: bytes) -> Response:
        request_id, code = _header(data, KIND_RESPONSE, "response")
        return cls(request_id, code, _body(data[_HEADER.size:], "response", request_id))

    @classmethod
    def error(cls, request_id: int, status: int, detail: str) -> Response:
        return cls(request_id, status, {"error": detail})

    def __bytes__(self) -> bytes:
        return _encode(KIND_RESPONSE, self.id, self.status, self.result)
