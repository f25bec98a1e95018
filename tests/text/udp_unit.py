"""A test-side harness: one TextService on a real loopback UDP socket, reporting on stdout.

    python -m tests.text.udp_unit --db A.db --port 4001 --peer 4002 [--send TEXT] [--auto-ack]

Prints one JSON line per event ({"event": "MessageSent", "id": ...}), and
{"event": "send-returned", "id": ...} the moment send() has returned.
The peer is taken as reachable from the start: there is no link session here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from terminal.text.events import MessageReceived
from terminal.text.service import TextService


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


class Unit(asyncio.DatagramProtocol):
    def __init__(self, service: TextService, peer: tuple[str, int], auto_ack: bool) -> None:
        self.service, self.peer, self.auto_ack = service, peer, auto_ack
        self.transport: asyncio.DatagramTransport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.service.on_payload(data, time.time())
        self.flush()

    def error_received(self, exc: Exception) -> None:
        pass                                   # the peer is down: retransmission covers it

    def on_timer(self) -> None:
        self.service.handle_timer(time.time())
        self.flush()

    def flush(self) -> None:
        now = time.time()
        while (event := self.service.next_event()) is not None:
            emit(event=type(event).__name__, id=getattr(event, "id", None))
            if self.auto_ack and isinstance(event, MessageReceived):
                self.service.ack(event.id, now)
        for payload in self.service.payloads_to_send(now):
            self.transport.sendto(payload, self.peer)
        if self.timer:
            self.timer.cancel()
        deadline = self.service.get_timer()
        if deadline is not None:
            self.timer = asyncio.get_running_loop().call_later(max(0.0, deadline - now), self.on_timer)


async def main(args: argparse.Namespace) -> None:
    service = TextService(args.db, initial_rto=0.2, max_rto=1.0)
    service.start(time.time())
    loop = asyncio.get_running_loop()
    _, unit = await loop.create_datagram_endpoint(
        lambda: Unit(service, ("127.0.0.1", args.peer), args.auto_ack), local_addr=("127.0.0.1", args.port))
    service.on_peer_reachable(time.time())
    if args.auto_ack:                          # the person reads what is already on the screen
        for message in service.list():
            if message.state == "received":
                service.ack(message.id, time.time())
    emit(event="ready")
    for text in args.send:
        emit(event="send-returned", id=service.send(text, "flash", time.time()))
    unit.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--peer", type=int, required=True)
    parser.add_argument("--send", action="append", default=[])
    parser.add_argument("--auto-ack", action="store_true")
    asyncio.run(main(parser.parse_args()))
