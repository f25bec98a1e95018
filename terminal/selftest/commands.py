"""`hotline selftest [--json]`: ask the running daemon for a self-test, or run one here.

With the daemon running (the control socket its config names exists) the
daemon runs the full scheduled self-test on its own devices and link. Without
it, this process runs the power-on checks and, if they pass, brings up the
link and the board's devices itself for the relay, hook, disk, clock and
end-to-end link checks. A config that does not load still gets the power-on report.
Exit codes: 0 all passed, 1 a check failed, 2 the self-test could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from terminal import config as config_mod
from terminal.control.protocol import ControlError
from terminal.errors import ConfigError
from terminal.selftest.control import METHOD
from terminal.selftest.errors import SelfTestError
from terminal.selftest.link import TIMEOUT_SECONDS
from terminal.selftest.post import post_results
from terminal.selftest.result import Summary, describe


def register(subparsers) -> None:
    p = subparsers.add_parser("selftest", help="run the self-test; exit 0 passed, 1 a check failed, 2 could not run")
    p.add_argument("--config", type=Path, required=True, help="the unit's TOML config")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--socket", type=Path, help="the daemon's control socket (default: the config's [control] socket)")
    p.add_argument("--standalone", action="store_true",
                   help="run here even if the daemon's socket exists (the daemon must not be running)")
    p.add_argument("--post-only", action="store_true", help="only the power-on checks (no link, no hardware)")
    p.add_argument("--link-timeout", type=float, default=TIMEOUT_SECONDS, metavar="SECONDS",
                   help=f"how long to wait for the peer on each path (default {TIMEOUT_SECONDS:g})")
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    summary = collect(args)
    print(json.dumps(summary, indent=1) if args.json else describe(summary))
    return summary["exit_code"]


def collect(args: argparse.Namespace) -> dict:
    try:
        cfg = config_mod.load(args.config)
    except ConfigError:
        cfg = None
    if args.post_only or cfg is None:
        return Summary("post", tuple(post_results(args.config))).as_dict()
    socket = args.socket or cfg.control.socket
    if socket.exists() and not args.standalone:
        return asyncio.run(ask_daemon(socket))
    from terminal.selftest.standalone import run_standalone
    return asyncio.run(run_standalone(args.config, link_timeout=args.link_timeout)).as_dict()


async def ask_daemon(socket: Path) -> dict:
    from terminal.control.client import ControlClient

    client = ControlClient(socket)
    try:
        return await client.call(METHOD)
    except ControlError as exc:
        raise SelfTestError(f"the daemon did not run the self-test: {exc.message}") from None
    finally:
        await client.close()
