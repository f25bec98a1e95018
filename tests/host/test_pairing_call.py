"""Acceptance: units enrolled and paired over USB (real ptys, `hotline-host`)
hold a real call with exactly those keys: the daemon's own Unit on loopback."""

import asyncio
import socket

from gpiozero.pins.mock import MockFactory

from terminal.call import actions as act
from terminal.sim.call import bring_up, connect_call, replace
from terminal.sim.run import file_handsets, load_unit
from tests.provisioning.harness import provision_pair


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_units_paired_over_usb_hold_a_call(make_unit, tmp_path):
    a_usb = make_unit("A", f"127.0.0.1:{free_port()}")
    b_usb = make_unit("B", f"127.0.0.1:{free_port()}")
    config_a, config_b = await asyncio.to_thread(provision_pair, a_usb, b_usb, tmp_path)
    a, b = (load_unit(path, pin_factory=MockFactory(), handset_factory=file_handsets(path.parent, [None]))
            for path in (config_a, config_b))
    try:
        await bring_up(a, b)
        wa, wb = await connect_call(a, b)
        replace(a)
        (ended, _) = await wb.wait_for(act.CallEnded, 5)
        assert ended.who_hung_up == "peer"
        assert a.session.peer_static == b.keys.identity.static_public
        assert b.session.peer_static == a.keys.identity.static_public
        assert a.session.drops == b.session.drops == {}, (a.session.drops, b.session.drops)
    finally:
        replace(b)
        await a.close()
        await b.close()
