"""A call between two units on loopback, driven at the hook switches, and what
happens when the far unit dies mid-call."""

import asyncio

from gpiozero.pins.mock import MockFactory

from terminal.call import actions as act
from terminal.journal import load, verify
from terminal.link.events import PeerUnreachable
from terminal.sim.call import bring_up, connect_call, replace
from terminal.sim.provision import provision_pair
from terminal.sim.run import SIM_TIMERS, file_handsets, load_unit


async def start_pair(tmp_path):
    a_sim, b_sim = provision_pair(tmp_path, extra=SIM_TIMERS)
    units = []
    for s in (a_sim, b_sim):
        unit = load_unit(s.config_path, pin_factory=MockFactory(), handset_factory=file_handsets(tmp_path / s.name, [None]))
        units.append(unit)
    a, b = units
    await bring_up(a, b, (a_sim.sock, b_sim.sock))
    return a, b


async def test_peer_dying_mid_call_ends_the_call_within_two_seconds(tmp_path):
    a, b = await start_pair(tmp_path)
    gone = asyncio.Event()
    a.listeners.append(lambda e: isinstance(e, PeerUnreachable) and gone.set())
    try:
        wa, wb = await connect_call(a, b)
        assert a.session.unreachable_after <= 2.0          # tightened while voice flows
        b.endpoint.close()                                  # B loses power: nothing more from it
        b.endpoint = None
        await asyncio.wait_for(gone.wait(), 5)
        ended, _ = await wa.wait_for(act.CallEnded, 5)
        assert ended.who_hung_up == "link"                  # how fast: tests/bench/bench_call.py
        replace(a)
        await wa.wait_for(act.StopVoice, 5)
        assert a.session.unreachable_after == a.config.link.unreachable_after
    finally:
        await a.close()
        await b.close()
    records = load(tmp_path / "A" / "data" / "journal.sqlite")
    assert verify(records.records, records.checkpoints, a.keys.identity.journal_public).ok
    kinds = [r.kind for r in records.records]
    for kind in ("ring_started", "peer_ringing", "answered", "link_down", "call_ended"):
        assert kind in kinds
    ended = [r for r in records.records if r.kind == "call_ended"][0]
    assert ended.fields["who_hung_up"] == "link"
