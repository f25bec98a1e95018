"""Two units over real loopback UDP sockets, running the daemon's Unit."""

import asyncio
import socket

from terminal.link.events import PeerReachable
from terminal.sim.provision import provision_pair
from terminal.sim.run import load_unit


async def test_two_units_handshake_and_echo_over_loopback(tmp_path):
    a_sim, b_sim = provision_pair(tmp_path)
    a, b = load_unit(a_sim.config_path), load_unit(b_sim.config_path)
    reachable = asyncio.Event()
    a.listeners.append(lambda e: isinstance(e, PeerReachable) and reachable.set())
    try:
        await b.start(b_sim.sock, control=False)
        await a.start(a_sim.sock, control=False)
        await asyncio.wait_for(reachable.wait(), 5)
        rtts = await asyncio.gather(*(a.echo_test(b"msg %d" % i, timeout=5) for i in range(10)))
        assert all(r is not None and r >= 0 for r in rtts)
        assert [r.payload for r in a.echo.results] == [b"msg %d" % i for i in range(10)]
        assert b.echo.answered == 10

        # Garbage into B's socket: dropped, counted, never answered, loop still alive.
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        probe.setblocking(False)
        before = b.session.rejected
        for junk in (b"\x01" + bytes(155), b"\x04\x00\x00\x00" + bytes(40), b"hello?"):
            probe.sendto(junk, b_sim.sock.getsockname())
        assert await a.echo_test(b"after junk", timeout=5) is not None
        assert b.session.rejected == before + 3
        try:
            reply = probe.recv(2048)
        except BlockingIOError:
            reply = None
        assert reply is None
        probe.close()
    finally:
        await a.close()
        await b.close()


async def test_units_journal_boot_link_up_and_shutdown(tmp_path):
    from terminal.journal import load, verify

    a_sim, b_sim = provision_pair(tmp_path)
    a, b = load_unit(a_sim.config_path), load_unit(b_sim.config_path)
    reachable = asyncio.Event()
    a.listeners.append(lambda e: isinstance(e, PeerReachable) and reachable.set())
    await b.start(b_sim.sock, control=False)
    await a.start(a_sim.sock, control=False)
    await asyncio.wait_for(reachable.wait(), 5)
    await a.close()
    await b.close()
    data = load(tmp_path / "A" / "data" / "journal.sqlite")
    verdict = verify(data.records, data.checkpoints, a.keys.identity.journal_public)
    assert verdict.ok and verdict.unsigned_tail == 0
    # B may witness A's first checkpoints; the keys may have gone hybrid before the close, or not yet.
    own = [r.kind for r in data.records if r.kind not in ("peer_checkpoint", "link_mode")]
    assert own == ["boot", "link_up", "shutdown"]
    modes = [r.fields["mode"] for r in data.records if r.kind == "link_mode"]
    assert modes[0] == "classical" and set(modes) <= {"classical", "hybrid-mlkem768"}


async def test_a_repeating_adapter_error_is_logged_once_then_once_a_minute(caplog):
    """A full disk makes every store write fail: one traceback, then one line a minute, not thousands."""
    import logging
    from collections import Counter
    from types import SimpleNamespace

    from terminal.link.endpoint import LinkEndpoint

    endpoint = LinkEndpoint(SimpleNamespace(stats=Counter()))
    clock = [100.0]
    endpoint.loop = SimpleNamespace(time=lambda: clock[0])

    def fail():
        raise OSError(28, "database or disk is full")
    caplog.set_level(logging.ERROR, "terminal.link.endpoint")
    for second in range(0, 120):
        clock[0] = 100.0 + second
        for _ in range(25):                                     # 25 failures a second for two minutes
            endpoint._guard(fail)
    assert endpoint.session.stats["adapter_errors"] == 3000
    assert [bool(r.exc_info) for r in caplog.records] == [True, False]
    assert "1500 more OSError since the last report" in caplog.records[1].getMessage()
