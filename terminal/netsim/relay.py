"""The impairment core on asyncio: A <-> relay <-> B over UDP, one relay socket per side.

Peer A sends to ``a_address`` and hears B from it; peer B likewise with
``b_address``. A peer address left None is learned from the latest datagram on
its side; datagrams from anyone else on a side with a fixed peer are dropped
and counted in ``foreign``, as are datagrams for a side whose peer is not yet
known (``unroutable``).
"""

import asyncio
import itertools
import random

from terminal.netsim.core import Delivery, Direction, ImpairmentCore
from terminal.netsim.impairment import Impairment

Address = tuple[str, int]


class _Side(asyncio.DatagramProtocol):
    def __init__(self, relay: "UdpImpairmentRelay", direction: Direction):
        self.relay = relay
        self.direction = direction      # where datagrams arriving on this side go
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Address):
        self.relay._received(self, data, addr)


class UdpImpairmentRelay:
    """Relays datagrams between two UDP peers through an ``ImpairmentCore``."""

    def __init__(self, core: ImpairmentCore, loop: asyncio.AbstractEventLoop,
                 a_peer: Address | None, b_peer: Address | None):
        self.core = core
        self._loop = loop
        self._fixed = {Direction.A_TO_B: a_peer is not None, Direction.B_TO_A: b_peer is not None}
        self._peer = {Direction.A_TO_B: a_peer, Direction.B_TO_A: b_peer}   # keyed by the sender's side
        self._sides: dict[Direction, _Side] = {}
        self._pending: dict[int, asyncio.TimerHandle] = {}
        self._tokens = itertools.count()
        self.foreign = 0
        self.unroutable = 0
        self.is_cut = False             # a cable pulled: everything arriving from now on is lost
        self.cut_dropped = 0
        self.bytes_relayed = 0

    @classmethod
    async def open(cls, a_to_b: Impairment = Impairment(), b_to_a: Impairment | None = None, *,
                   seed: int = 0, a_peer: Address | None = None, b_peer: Address | None = None,
                   a_bind: Address = ("127.0.0.1", 0), b_bind: Address = ("127.0.0.1", 0)) -> "UdpImpairmentRelay":
        """Bind both relay sockets and start relaying."""
        loop = asyncio.get_running_loop()
        core = ImpairmentCore(a_to_b, b_to_a, rng=random.Random(seed), epoch=loop.time())
        relay = cls(core, loop, a_peer, b_peer)
        try:
            for direction, bind in ((Direction.A_TO_B, a_bind), (Direction.B_TO_A, b_bind)):
                _, side = await loop.create_datagram_endpoint(lambda d=direction: _Side(relay, d), local_addr=bind)
                relay._sides[direction] = side
        except BaseException:
            relay.close()
            raise
        return relay

    @property
    def a_address(self) -> Address:
        """Where peer A sends (and hears B from)."""
        return self._sides[Direction.A_TO_B].transport.get_extra_info("sockname")[:2]

    @property
    def b_address(self) -> Address:
        """Where peer B sends (and hears A from)."""
        return self._sides[Direction.B_TO_A].transport.get_extra_info("sockname")[:2]

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        """Per-direction counts, plus the relay's own drops."""
        out = {d.value: s.as_dict() for d, s in self.core.stats.items()}
        out["relay"] = {"foreign": self.foreign, "unroutable": self.unroutable, "cut_dropped": self.cut_dropped,
                        "bytes_relayed": self.bytes_relayed}
        return out

    def cut(self) -> None:
        """The path goes dark both ways (datagrams already in flight still arrive)."""
        self.is_cut = True

    def _received(self, side: _Side, data: bytes, addr: Address) -> None:
        if self.is_cut:
            self.cut_dropped += 1
            return
        self.bytes_relayed += len(data)
        sender = side.direction
        if self._fixed[sender]:
            if tuple(addr[:2]) != tuple(self._peer[sender]):
                self.foreign += 1
                return
        else:
            self._peer[sender] = tuple(addr[:2])
        for delivery in self.core.submit(data, sender, self._loop.time()):
            token = next(self._tokens)
            self._pending[token] = self._loop.call_at(delivery.at, self._deliver, token, delivery)

    def _deliver(self, token: int, delivery: Delivery) -> None:
        del self._pending[token]
        receiver = Direction.B_TO_A if delivery.direction is Direction.A_TO_B else Direction.A_TO_B
        address = self._peer[receiver]
        side = self._sides.get(receiver)
        if address is None or side is None or side.transport is None:
            self.unroutable += 1
            return
        side.transport.sendto(delivery.datagram, address)

    def close(self) -> None:
        """Drop datagrams in flight and close both sockets; safe to call twice."""
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        for side in self._sides.values():
            if side.transport is not None:
                side.transport.close()
        self._sides.clear()
