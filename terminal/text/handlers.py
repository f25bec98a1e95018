"""Control-socket methods for text messages: msg.send, msg.list, msg.ack.

    msg.send(text, precedence="routine", key=None) -> {"id"}       key: idempotency, see TextService.send
    msg.list(limit=50, cursor=None) -> {"messages": [...], "next": cursor | None}
        newest first; a page also stops before its JSON passes PAGE_BYTES, so no reply grows
        with the store (the control client reads at most 256 KiB a line)
    msg.ack(id) -> {"id"}

    for method, handler in text_handlers(service, after=flush).items():
        server.register(method, handler)

`after` runs once a send or ack has changed the service, so the daemon can
send its payloads and re-arm its timer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from terminal.text.errors import TextRefused
from terminal.text.service import TextService
from terminal.text.store import PAGE_MAX, sort_key

DEFAULT_PAGE = 50
PAGE_BYTES = 128 * 1024


def encode_cursor(key: tuple[float, str, str]) -> str:
    return f"{key[0]!r}/{key[1]}/{key[2]}"


def decode_cursor(cursor: str) -> tuple[float, str, str]:
    try:
        created, direction, id = str(cursor).split("/")
        if direction not in ("in", "out"):
            raise ValueError(direction)
        return float(created), direction, id
    except ValueError:
        raise TextRefused(f"cursor {cursor!r} is not one msg.list returned") from None


def text_handlers(service: TextService, clock: Callable[[], float] = time.time,
                  after: Callable[[], None] = lambda: None) -> dict[str, Callable]:
    def send(text: str, precedence: str = "routine", key: str | None = None) -> dict:
        id = service.send(text, precedence, clock(), key=key)
        after()
        return {"id": id}

    def list_messages(limit: int = DEFAULT_PAGE, cursor: str | None = None) -> dict:
        if not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
            raise TextRefused(f"limit must be a whole number from 1 to {PAGE_MAX}")
        records = service.page(limit + 1, decode_cursor(cursor) if cursor is not None else None)
        page, size = [], 0
        for record in records[:limit]:
            item = record.to_json()
            size += len(json.dumps(item, ensure_ascii=False).encode()) + 2
            if page and size > PAGE_BYTES:
                break
            page.append(item)
        more = len(page) < len(records)
        last = records[len(page) - 1] if page else None
        return {"messages": page, "next": encode_cursor(sort_key(last)) if more and last else None}

    def ack(id: str) -> dict:
        full_id = service.ack(str(id), clock())
        after()
        return {"id": full_id}

    return {"msg.send": send, "msg.list": list_messages, "msg.ack": ack}
