"""The relay on real loopback UDP sockets."""

import asyncio
import random


from terminal.netsim.core import Direction, ImpairmentCore
from terminal.netsim.impairment import Impairment
from terminal.netsim.relay import UdpImpairmentRelay


class Peer(asyncio.DatagramProtocol):
    def __init__(self, expect: int):
        self.got: list[bytes] = []
        self.expect = expect
        self.done = asyncio.get_running_loop().create_future()

    def datagram_received(self, data, addr):
        self.got.append(data)
        if len(self.got) >= self.expect and not self.done.done():
            self.done.set_result(None)


async def open_peer(expect: int):
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(lambda: Peer(expect), local_addr=("127.0.0.1", 0))
    return transport, peer


async def test_relays_both_ways_with_delay_and_loss():
    ta, a = await open_peer(expect=10)
    tb, b = await open_peer(expect=1)
    relay = await UdpImpairmentRelay.open(Impairment(delay=0.03), Impairment(), seed=1,
                                          a_peer=ta.get_extra_info("sockname"), b_peer=tb.get_extra_info("sockname"))
    try:
        loop = asyncio.get_running_loop()
        sent_at = loop.time()
        ta.sendto(b"hello B", relay.a_address)
        await asyncio.wait_for(b.done, 2)
        assert b.got == [b"hello B"]
        assert loop.time() - sent_at >= 0.03
        for i in range(10):
            tb.sendto(b"%d" % i, relay.b_address)
        await asyncio.wait_for(a.done, 2)
        assert a.got == [b"%d" % i for i in range(10)]
        assert relay.stats["a_to_b"]["delivered"] == 1 and relay.stats["b_to_a"]["delivered"] == 10
    finally:
        relay.close()
        relay.close()
        ta.close()
        tb.close()


async def test_learns_peer_a_and_loses_what_the_seed_says():
    imp = Impairment(loss=0.5)
    twin = ImpairmentCore(imp, rng=random.Random(3))
    expected = [b"%d" % i for i in range(40) if twin.submit(b"%d" % i, Direction.A_TO_B, 0.0)]
    ta, a = await open_peer(expect=1)
    tb, b = await open_peer(expect=len(expected))
    relay = await UdpImpairmentRelay.open(imp, Impairment(), seed=3, b_peer=tb.get_extra_info("sockname"))
    try:
        for i in range(40):
            ta.sendto(b"%d" % i, relay.a_address)
        await asyncio.wait_for(b.done, 2)
        assert b.got == expected and 8 <= len(expected) <= 32
        tb.sendto(b"reply", relay.b_address)
        await asyncio.wait_for(a.done, 2)
        assert a.got == [b"reply"]
        stats = relay.stats
        assert stats["a_to_b"]["received"] == 40 and stats["a_to_b"]["lost_random"] == 40 - len(expected)
        assert stats["relay"] == {"foreign": 0, "unroutable": 0, "cut_dropped": 0, "bytes_relayed": 75}
    finally:
        relay.close()
        ta.close()
        tb.close()


async def test_foreign_sender_is_dropped_and_counted():
    ta, _ = await open_peer(expect=1)
    tx, _ = await open_peer(expect=1)
    tb, b = await open_peer(expect=1)
    relay = await UdpImpairmentRelay.open(a_peer=ta.get_extra_info("sockname"), b_peer=tb.get_extra_info("sockname"))
    try:
        tx.sendto(b"intruder", relay.a_address)
        ta.sendto(b"friend", relay.a_address)
        await asyncio.wait_for(b.done, 2)
        assert b.got == [b"friend"]
        assert relay.foreign == 1
    finally:
        relay.close()
        for t in (ta, tx, tb):
            t.close()
