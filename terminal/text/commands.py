"""`hotline msg send|list|ack` and `hotline console`: thin clients of the control socket.

The lead's terminal/cli.py calls `register(subparsers)`; each command's
`func(args)` returns an exit code, and a HotlineError (ControlError,
TextRefused) reaching cli.main becomes a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from terminal.console.render import message_row
from terminal.control.client import ControlClient
from terminal.control.protocol import DEFAULT_SOCKET
from terminal.text.precedence import Precedence
from terminal.text.validate import check_text


def _call(socket: str, method: str, **params):
    async def go():
        async with ControlClient(socket) as client:
            return await client.call(method, **params)
    return asyncio.run(go())


def cmd_send(args: argparse.Namespace) -> int:
    raw = args.text if args.text is not None else sys.stdin.buffer.read()
    text = check_text(raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw)
    result = _call(args.socket, "msg.send", text=text, precedence=args.precedence)
    print(json.dumps(result) if args.json else result["id"])
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    messages = _call(args.socket, "msg.list")["messages"]
    if args.json:
        print(json.dumps(messages, ensure_ascii=False))
        return 0
    for message in messages:
        written, arrow, precedence, state, text = message_row(message)
        print(f"{message['id'][:8]}  {written}  {arrow} {precedence:<9} {state:<9} {text}")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    result = _call(args.socket, "msg.ack", id=args.id)
    print(f"acknowledged {result['id']}")
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from terminal.console.app import run_console

    return run_console(args.socket)


def register(subparsers) -> None:
    """Add `msg` (send, list, ack) and `console` to an argparse subparsers object."""
    socket_help = f"the daemon's control socket (default {DEFAULT_SOCKET})"

    msg = subparsers.add_parser("msg", help="send, list and acknowledge text messages")
    sub = msg.add_subparsers(dest="msg_command", required=True)

    p = sub.add_parser("send", help="queue a message for the far unit; prints its id")
    p.add_argument("--precedence", type=str.lower, default="routine",
                   choices=[x.name.lower() for x in Precedence], help="default: routine")
    p.add_argument("--json", action="store_true", help="print {\"id\": ...}")
    p.add_argument("text", nargs="?", help="the message (read from standard input if left out)")
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("list", help="every message, both ways, with its state")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("ack", help="acknowledge (read) a received message; sends a read receipt")
    p.add_argument("id", help="the message id, or its first 6 or more hex digits")
    p.set_defaults(func=cmd_ack)

    p = subparsers.add_parser("console", help="the duty officer's desk console")
    p.set_defaults(func=cmd_console)

    for parser in (*sub.choices.values(), p):
        parser.add_argument("--socket", default=DEFAULT_SOCKET, help=socket_help)
