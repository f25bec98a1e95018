"""The client side of the control socket, used by the console and the CLI."""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import Any

from terminal.control.protocol import MAX_LINE, ControlError, Request, parse_response


def _lost(error: ControlError) -> ControlError:
    """The request may have reached the daemon and its answer was lost: a retry must be idempotent."""
    error.answer_lost = True
    return error


class ControlClient:
    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        self._ids = itertools.count(1)
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        try:
            self._streams = await asyncio.open_unix_connection(self.path, limit=MAX_LINE)
        except FileNotFoundError:
            raise ControlError("unavailable", f"no control socket at {self.path}; "
                               "is the hotline daemon running?") from None
        except PermissionError:
            raise ControlError("unavailable", f"no permission to use {self.path}; "
                               "is this user in the hotline group?") from None
        except ConnectionRefusedError:
            raise ControlError("unavailable", f"nothing listens on {self.path}; "
                               "the hotline daemon is not running") from None

    async def call(self, method: str, **params: Any) -> Any:
        """One request, one answer; an error answer raises ControlError."""
        async with self._lock:
            if self._streams is None:
                await self.connect()
            reader, writer = self._streams
            id = next(self._ids)
            try:
                writer.write(Request(method, params, id).to_line())
                await writer.drain()
                line = await reader.readline()
            except (ConnectionError, ValueError) as e:
                await self.close()
                raise _lost(ControlError("unavailable", f"control connection to {self.path} failed: {e}")) from None
            if not line:
                await self.close()
                raise _lost(ControlError("unavailable", f"the daemon closed the control connection at {self.path}"))
            _, result = parse_response(line)
            return result

    async def close(self) -> None:
        if self._streams is not None:
            _, writer = self._streams
            self._streams = None
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass

    async def __aenter__(self) -> "ControlClient":
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
