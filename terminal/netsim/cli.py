"""``python -m terminal.netsim``: run the impairment relay between two UDP peers.

Percentages and milliseconds on the command line, as netem takes them; the
same impairment applies both ways. Prints per-direction counts as JSON on exit.
"""

import argparse
import asyncio
import json
import sys

from terminal.netsim.errors import NetsimError
from terminal.netsim.impairment import GilbertElliott, Impairment
from terminal.netsim.relay import Address, UdpImpairmentRelay


def parse_address(text: str) -> Address:
    """'HOST:PORT' -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host, int(port)


def parse_window(text: str) -> tuple[float, float]:
    """'START:SECONDS' -> (start, end) in seconds since the relay started."""
    try:
        start, length = (float(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:SECONDS, not {text!r}") from None
    return start, start + length


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m terminal.netsim", description=__doc__.splitlines()[0])
    p.add_argument("--a-listen", type=parse_address, default=("127.0.0.1", 0), help="relay socket for peer A")
    p.add_argument("--b-listen", type=parse_address, default=("127.0.0.1", 0), help="relay socket for peer B")
    p.add_argument("--a-peer", type=parse_address, help="peer A's address (default: learned)")
    p.add_argument("--b-peer", type=parse_address, help="peer B's address (default: learned)")
    p.add_argument("--delay", type=float, default=0.0, metavar="MS", help="one-way delay")
    p.add_argument("--jitter", type=float, default=0.0, metavar="MS", help="uniform +/- around the delay")
    p.add_argument("--loss", type=float, default=0.0, metavar="PCT", help="independent random loss")
    p.add_argument("--burst-loss", type=float, default=0.0, metavar="PCT", help="Gilbert-Elliott burst loss")
    p.add_argument("--burst-length", type=float, default=3.0, metavar="N", help="mean burst length in datagrams")
    p.add_argument("--reorder", type=float, default=0.0, metavar="PCT", help="datagrams held back 30 ms")
    p.add_argument("--duplicate", type=float, default=0.0, metavar="PCT", help="datagrams sent twice")
    p.add_argument("--blackout", type=parse_window, action="append", default=[], metavar="START:SECONDS",
                   help="lose everything in this window (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--duration", type=float, metavar="S", help="stop after this many seconds")
    return p


def impairment_from_args(args: argparse.Namespace) -> Impairment:
    """The Impairment the command-line options describe."""
    burst = GilbertElliott.from_rate(args.burst_loss / 100, args.burst_length) if args.burst_loss else None
    return Impairment(delay=args.delay / 1000, jitter=args.jitter / 1000, loss=args.loss / 100, burst=burst,
                      reorder=args.reorder / 100, duplicate=args.duplicate / 100, blackouts=tuple(args.blackout))


async def run(args: argparse.Namespace) -> dict:
    """Relay until ``--duration`` ends (or Ctrl-C); print the stats as JSON and return them."""
    relay = await UdpImpairmentRelay.open(impairment_from_args(args), seed=args.seed, a_peer=args.a_peer,
                                          b_peer=args.b_peer, a_bind=args.a_listen, b_bind=args.b_listen)
    print(f"relay: A -> {relay.a_address[0]}:{relay.a_address[1]}  B -> {relay.b_address[0]}:{relay.b_address[1]}",
          file=sys.stderr, flush=True)
    try:
        await asyncio.sleep(args.duration if args.duration is not None else float("inf"))
    finally:
        relay.close()
        print(json.dumps(relay.stats, indent=2), flush=True)
    return relay.stats


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(run(args))
    except KeyboardInterrupt:
        return 0
    except (NetsimError, OSError) as exc:
        print(f"netsim: {exc}", file=sys.stderr)
        return 2
    return 0
