"""The daemon side of the control socket: an asyncio Unix server and a handler registry.

A handler takes the request's params (a dict) and returns a JSON-able result,
or a coroutine of one. What it raises becomes a JSON error:
params that do not fit the handler's signature -> invalid_params,
LookupError -> not_found, ValueError -> refused, other HotlineError -> failed,
anything else -> internal_error (logged). The connection stays open for the next request.
"""

from __future__ import annotations

import asyncio
import grp
import inspect
import logging
import os
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from terminal.control.protocol import MAX_LINE, VERSION, ControlError, parse_request, result_line
from terminal.errors import HotlineError

log = logging.getLogger(__name__)
Handler = Callable[..., Any | Awaitable[Any]]
_ERRORS = [(LookupError, "not_found"), (ValueError, "refused"), (HotlineError, "failed")]


class Dispatcher:
    """Method name -> handler, and one request line -> one response line."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {"version": lambda: {"version": VERSION,
                                                                 "methods": sorted(self.handlers)}}

    def register(self, method: str, handler: Handler) -> None:
        """Handlers are called with the params as keyword arguments."""
        if method in self.handlers:
            raise ValueError(f"control method {method!r} is already registered")
        self.handlers[method] = handler

    async def handle(self, line: bytes) -> bytes:
        try:
            request = parse_request(line)
        except ControlError as e:
            return e.to_line()
        handler = self.handlers.get(request.method)
        if handler is None:
            return ControlError("unknown_method", f"unknown method {request.method!r}; "
                                f"known: {', '.join(sorted(self.handlers))}", request.id).to_line()
        try:
            inspect.signature(handler).bind(**request.params)
        except TypeError as e:
            return ControlError("invalid_params", f"{request.method}: {e}", request.id).to_line()
        try:
            result = handler(**request.params)
            if inspect.isawaitable(result):
                result = await result
        except Exception as e:
            for kind, code in _ERRORS:
                if isinstance(e, kind):
                    return ControlError(code, str(e) or type(e).__name__, request.id).to_line()
            log.exception("control method %s failed", request.method)
            return ControlError("internal_error", f"{request.method} failed: {type(e).__name__}: {e}",
                                request.id).to_line()
        try:
            return result_line(request.id, result)
        except (TypeError, ValueError) as e:
            log.error("control method %s returned something that is not JSON: %s", request.method, e)
            return ControlError("internal_error", f"{request.method} returned something that is not JSON",
                                request.id).to_line()


class ControlServer(Dispatcher):
    def __init__(self, path: str | os.PathLike, *, group: str | int | None = None, mode: int = 0o660) -> None:
        super().__init__()
        self.path, self.group, self.mode = Path(path), group, mode
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Bind the socket (replacing a stale one), then set its mode and group."""
        gid = -1
        if isinstance(self.group, str):
            try:
                gid = grp.getgrnam(self.group).gr_gid
            except KeyError:
                raise ControlError("failed", f"control socket group {self.group!r} does not exist") from None
        elif self.group is not None:
            gid = self.group
        if self.path.exists() or self.path.is_symlink():
            if not stat.S_ISSOCK(self.path.lstat().st_mode):
                raise ControlError("failed", f"{self.path} exists and is not a socket; not replacing it")
            self.path.unlink()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._server = await asyncio.start_unix_server(self._serve, self.path, limit=MAX_LINE)
        os.chmod(self.path, self.mode)
        if gid != -1:
            os.chown(self.path, -1, gid)

    async def close(self) -> None:
        """Stop listening and hang up on connected clients (their handlers belong to what is closing)."""
        for writer in list(self._clients):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            self.path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:                  # longer than MAX_LINE: say so and hang up
                    writer.write(ControlError("invalid_request",
                                              f"request line longer than {MAX_LINE} bytes").to_line())
                    break
                if not line:
                    break
                if line.strip():
                    writer.write(await self.handle(line))
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._clients.discard(writer)
            writer.close()
