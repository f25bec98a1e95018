"""A connected unit: send a request, collect its responses (host side, over pyserial)."""

from __future__ import annotations

import time
from typing import Callable

import serial

from terminal.errors import HotlineError
from terminal.provisioning.constants import DELIMITER, RESPONSE_TIMEOUT
from terminal.provisioning.errors import CommandFailed, ProtocolError
from terminal.provisioning.framing import Decoder, encode_frame
from terminal.provisioning.messages import Request, Response
from terminal.provisioning.status import Command, Status

Trace = Callable[[str, bytes], None]


class UnitTimeout(HotlineError, TimeoutError):
    """The unit did not answer in time."""


def open_port(path: str) -> serial.Serial:
    """Open a unit's serial port (CDC-ACM ignores the baud rate)."""
    return serial.Serial(path, baudrate=115200, timeout=0.1, exclusive=True)


class Device:
    """Requests and responses over an open serial port. `trace(direction, bytes)` sees every byte."""

    def __init__(self, port: serial.Serial, *, trace: Trace | None = None, timeout: float = RESPONSE_TIMEOUT):
        self.port = port
        self.trace = trace
        self.timeout = timeout
        self._decoder = Decoder()
        self._next_id = 1

    def close(self) -> None:
        self.port.close()

    def request(
        self, command: Command, args: dict | None = None, on_progress: Callable[[dict], None] | None = None
    ) -> dict:
        """Send one request; return the final result, or raise CommandFailed with the unit's words."""
        request_id = self._next_id
        self._next_id = self._next_id % 0xFFFF + 1
        # Stale answers are dropped; a leading delimiter flushes anything half-received on the unit's side.
        self.port.reset_input_buffer()
        self._decoder = Decoder()
        self._write(DELIMITER + encode_frame(bytes(Request(request_id, command, args or {}))))
        deadline = time.monotonic() + self.timeout
        while True:
            for response in self._responses(deadline, command):
                if response.id == 0 and response.status != Status.OK:
                    raise CommandFailed(response.status, response.result.get("error", ""))
                if response.id != request_id:
                    continue  # a late answer to an earlier request
                if response.final:
                    if response.status != Status.OK:
                        raise CommandFailed(response.status, response.result.get("error", ""))
                    return response.result
                if on_progress:
                    on_progress(response.result)
                deadline = time.monotonic() + self.timeout

    def _responses(self, deadline: float, command: Command) -> list[Response]:
        if time.monotonic() > deadline:
            raise UnitTimeout(
                f"no answer to {command.name.lower()} within {self.timeout:g} s; "
                "is the provisioning service running on the unit (systemctl status hotline-provisioning)?"
            )
        data = self.port.read(max(1, self.port.in_waiting))
        if data and self.trace:
            self.trace("<-", data)
        out = []
        for item in self._decoder.feed(data):
            if isinstance(item, ProtocolError):
                raise CommandFailed(Status.BAD_FRAME, f"garbled answer from the unit: {item}")
            try:
                out.append(Response.parse(item))
            except ProtocolError as exc:
                raise CommandFailed(exc.status, f"unreadable answer from the unit: {exc}") from None
        return out

    def _write(self, data: bytes) -> None:
        if self.trace:
            self.trace("->", data)
        self.port.write(data)
        self.port.flush()
