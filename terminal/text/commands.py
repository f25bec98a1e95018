"""`hotline msg send|list|ack`: thin clients of the control socket (`hotline console` is
terminal/console's).

The lead's terminal/cli.py calls `register(subparsers)`; each command's
`func(args)` returns an exit code, and a HotlineError (ControlError,
TextRefused) reaching cli.main becomes a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid

from terminal.control.client import ControlClient
from terminal.control.protocol import DEFAULT_SOCKET, ControlError
from terminal.text.precedence import Precedence
from terminal.text.store import PAGE_MAX

RETRY_WITHIN = 15.0     # seconds `hotline msg send` waits for the daemon to come back for its one retry
from terminal.text.validate import check_text
from terminal.text.words import LIST_HEADER, list_line


def _call(socket: str, method: str, **params):
    async def go():
        async with ControlClient(socket) as client:
            return await client.call(method, **params)
    return asyncio.run(go())


def cmd_send(args: argparse.Namespace) -> int:
    raw = args.text if args.text is not None else sys.stdin.buffer.read()
    text = check_text(raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw)
    key = uuid.uuid4().hex          # the same key on the retry: the daemon queues it once
    try:
        result = _call(args.socket, "msg.send", text=text, precedence=args.precedence, key=key)
    except ControlError as exc:
        if not getattr(exc, "answer_lost", False):
            raise
        print(f"hotline msg send: the answer was lost ({exc}); retrying once with the same key",
              file=sys.stderr)
        result = _retry(args.socket, RETRY_WITHIN, "msg.send", text=text, precedence=args.precedence, key=key)
    print(json.dumps(result) if args.json else result["id"])
    return 0


def _retry(socket: str, within: float, method: str, **params):
    """One more try, once the daemon answers again (systemd restarts it within seconds)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return _call(socket, method, **params)
        except ControlError as exc:
            if getattr(exc, "answer_lost", False) or time.monotonic() >= deadline:
                raise
            time.sleep(0.5)          # the socket is not back yet: a person's command, paced


def pages(socket: str, limit: int | None):
    """Messages newest first, page by page, until `limit` (None: all of them)."""
    cursor, shown = None, 0
    while True:
        want = PAGE_MAX if limit is None else min(PAGE_MAX, limit - shown)
        reply = _call(socket, "msg.list", limit=want, cursor=cursor)
        for message in reply["messages"]:
            yield message
            shown += 1
        cursor = reply["next"]
        if cursor is None or (limit is not None and shown >= limit):
            return


def cmd_list(args: argparse.Namespace) -> int:
    messages = pages(args.socket, None if args.all else args.limit)
    if args.json:
        print(json.dumps(list(messages), ensure_ascii=False))
        return 0
    print(LIST_HEADER)
    for message in messages:
        print(list_line(message, utc=args.utc))
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    result = _call(args.socket, "msg.ack", id=args.id)
    print(f"acknowledged {result['id']}")
    return 0


def register(subparsers) -> None:
    """Add `msg` (send, list, ack) to an argparse subparsers object."""
    socket_help = f"the daemon's control socket (default {DEFAULT_SOCKET})"

    msg = subparsers.add_parser("msg", help="send, list and acknowledge text messages")
    sub = msg.add_subparsers(dest="msg_command", required=True)

    p = sub.add_parser("send", help="queue a message for the far unit; prints its id")
    p.add_argument("--precedence", type=str.lower, default="routine",
                   choices=[x.name.lower() for x in Precedence], help="default: routine")
    p.add_argument("--json", action="store_true", help="print {\"id\": ...}")
    p.add_argument("text", nargs="?", help="the message (read from standard input if left out)")
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("list", help="messages both ways, newest first, with precedence, state and times")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.add_argument("--limit", type=int, default=50, help="show at most this many (default 50)")
    p.add_argument("--all", action="store_true", help="every message in the store")
    p.add_argument("--utc", action="store_true", help="times in UTC (default: this unit's zone)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("ack", help="acknowledge (read) a received message; sends a read receipt")
    p.add_argument("id", help="the message id, or its first 6 or more hex digits")
    p.set_defaults(func=cmd_ack)

    for parser in sub.choices.values():
        parser.add_argument("--socket", default=DEFAULT_SOCKET, help=socket_help)
