"""Control-socket methods for text messages: msg.send, msg.list, msg.ack.

    for method, handler in text_handlers(service, after=flush).items():
        server.register(method, handler)

`after` runs once a send or ack has changed the service, so the daemon can
send its payloads and re-arm its timer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from terminal.text.service import TextService


def text_handlers(service: TextService, clock: Callable[[], float] = time.time,
                  after: Callable[[], None] = lambda: None) -> dict[str, Callable]:
    def send(text: str, precedence: str = "routine") -> dict:
        id = service.send(text, precedence, clock())
        after()
        return {"id": id}

    def list_messages() -> dict:
        return {"messages": [record.to_json() for record in service.list()]}

    def ack(id: str) -> dict:
        full_id = service.ack(str(id), clock())
        after()
        return {"id": full_id}

    return {"msg.send": send, "msg.list": list_messages, "msg.ack": ack}
