"""`hotline console`: the duty officer's desk, a client of the control socket."""

from __future__ import annotations

import argparse

from terminal.control.protocol import DEFAULT_SOCKET


def cmd_console(args: argparse.Namespace) -> int:
    from terminal.console.app import run_console

    return run_console(args.socket, utc=args.utc)


def register(subparsers) -> None:
    p = subparsers.add_parser("console", help="the duty officer's desk console")
    p.add_argument("--utc", action="store_true", help="times in UTC (default: this unit's zone, shown)")
    p.add_argument("--socket", default=DEFAULT_SOCKET, help=f"the daemon's control socket (default {DEFAULT_SOCKET})")
    p.set_defaults(func=cmd_console)
