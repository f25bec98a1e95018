"""End to end over real ptys: two simulated units, the technician's `hotline-host` on the other end.

The last tests build link sessions from exactly what provisioning wrote: a
handshake and a message succeed between the paired units, and fail when one
unit was paired with a wrong bundle. (The lead's simulated call can replace the
bare link with the daemon, from the same `provision_pair` config paths.)
"""

import base64
import json
import logging

from cryptography.hazmat.primitives import serialization

from terminal.config import load
from terminal.keys import generate_keys, load_keys
from terminal.link.constants import CHANNEL_TEXT
from terminal.link.events import DataReceived, HandshakeCompleted
from terminal.link.session import LinkSession
from terminal.provisioning.bundle import make_bundle
from terminal.provisioning.framing import Decoder
from tests.provisioning.harness import PAIRING_ID, hotline_host, provision_pair

PSK = base64.b64encode(bytes(range(100, 132))).decode()


def paired_units(make_unit, tmp_path, **kwargs):
    a = make_unit("A", "192.0.2.10:4870")
    b = make_unit("B", "198.51.100.20:4870")
    return a, b, provision_pair(a, b, tmp_path, **kwargs)


def test_two_units_end_up_pinned_to_each_other(make_unit, tmp_path):
    psk_file = tmp_path / "psk"
    psk_file.write_text(PSK + "\n")
    _, _, (config_a, config_b) = paired_units(make_unit, tmp_path, psk_file=psk_file)
    a, b = load(config_a), load(config_b)
    keys_a, keys_b = load_keys(a.unit.key_dir).identity, load_keys(b.unit.key_dir).identity
    assert (a.peer.id, a.peer.static_public, a.peer.signing_public) == ("B", keys_b.static_public, keys_b.signing_public)
    assert (b.peer.id, b.peer.static_public, b.peer.signing_public) == ("A", keys_a.static_public, keys_a.signing_public)
    assert (a.peer.mlkem_public, a.peer.mldsa_public) == (keys_b.mlkem_public, keys_b.mldsa_public)
    assert (b.peer.mlkem_public, b.peer.mldsa_public) == (keys_a.mlkem_public, keys_a.mldsa_public)
    assert a.peer.endpoints == [("198.51.100.20", 4870)]
    assert b.peer.endpoints == [("192.0.2.10", 4870)]
    assert a.peer.psk == b.peer.psk == base64.b64decode(PSK)
    assert a.link.pairing_id == b.link.pairing_id


def _private_forms(key_dir) -> dict[str, bytes]:
    keys = load_keys(key_dir)
    raw = {
        "static": keys.static_private_bytes(),
        "signing": keys.signing.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()),
        "mlkem": keys.mlkem.private_bytes_raw(),
        "mldsa": keys.mldsa.private_bytes_raw(),
    }
    forms = {}
    for name, value in raw.items():
        forms[f"{name} raw"] = value
        forms[f"{name} base64"] = base64.b64encode(value)
        forms[f"{name} base64 (no padding)"] = base64.b64encode(value).rstrip(b"=")
        forms[f"{name} hex"] = value.hex().encode()
        forms[f"{name} hex spaced"] = value.hex(" ").encode()
    return forms


def test_private_keys_never_leave_the_unit(make_unit, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    a, b, _ = paired_units(make_unit, tmp_path, cli_args=("--trace",))
    out = capsys.readouterr()
    assert "->" in out.err and "<-" in out.err  # the trace really was on
    haystacks = {"stdout": out.out.encode(), "trace/stderr": out.err.encode(), "log": caplog.text.encode()}
    for unit in (a, b):
        wire = bytes(unit.cable.to_unit + unit.cable.to_host)
        haystacks[f"{unit.unit_id} wire"] = wire
        haystacks[f"{unit.unit_id} messages"] = b"".join(m for m in Decoder().feed(wire) if isinstance(m, bytes))
    for path in tmp_path.glob("*.bundle.json"):
        haystacks[path.name] = path.read_bytes()
    for unit in (a, b):
        haystacks[f"{unit.unit_id} config"] = unit.config_path.read_bytes()
    assert haystacks["A messages"]  # something to search
    for unit in (a, b):
        for form, needle in _private_forms(unit.key_dir).items():
            for where, hay in haystacks.items():
                assert needle not in hay, f"{unit.unit_id}'s {form} private key appears in {where}"


# -- the provisioned keys carry a link --------------------------------------

def link_from(config_path):
    """A LinkSession built from exactly what provisioning left in the unit's config and key dir."""
    config = load(config_path)
    return LinkSession(
        static=load_keys(config.unit.key_dir).static,
        peer_static=config.peer.static_public,
        endpoints=config.peer.endpoints,
        pairing_id=config.link.pairing_id,
        psk=config.peer.psk,
    )


def shuttle(a, b, addr_a, addr_b, now) -> None:
    """Carry datagrams both ways until neither side has anything to send."""
    for _ in range(20):
        moved = False
        for src, dst, src_addr in ((a, b, addr_a), (b, a, addr_b)):
            for data, _dest in src.datagrams_to_send(now):
                dst.receive_datagram(data, src_addr, now)
                moved = True
        if not moved:
            return


def events(session) -> list:
    out = []
    while (event := session.next_event()) is not None:
        out.append(event)
    return out


ADDR_A, ADDR_B = ("192.0.2.10", 4870), ("198.51.100.20", 4870)


def test_paired_units_hold_a_link_with_the_provisioned_keys(make_unit, tmp_path):
    psk_file = tmp_path / "psk"
    psk_file.write_text(PSK)
    _, _, (config_a, config_b) = paired_units(make_unit, tmp_path, psk_file=psk_file)
    a, b = link_from(config_a), link_from(config_b)
    a.start(10.0)
    shuttle(a, b, ADDR_A, ADDR_B, 10.0)
    a.send(CHANNEL_TEXT, b"test message", 10.1)
    shuttle(a, b, ADDR_A, ADDR_B, 10.1)
    assert any(isinstance(e, HandshakeCompleted) for e in events(a))
    assert DataReceived(CHANNEL_TEXT, b"test message", 10.1) in events(b)


def test_a_unit_paired_with_the_wrong_bundle_gets_no_link(make_unit, tmp_path):
    _, b, (config_a, config_b) = paired_units(make_unit, tmp_path)
    impostor = make_bundle(generate_keys(tmp_path / "impostor"), "A", ["192.0.2.10:4870"], PAIRING_ID)
    (tmp_path / "impostor.json").write_text(json.dumps(impostor))
    b.press()
    hotline_host(b, "pair", "--yes", "--peer", str(tmp_path / "impostor.json"))  # B now pins the wrong "A"
    link_a, link_b = link_from(config_a), link_from(config_b)
    link_a.start(10.0)
    shuttle(link_a, link_b, ADDR_A, ADDR_B, 10.0)
    assert not any(isinstance(e, HandshakeCompleted) for e in events(link_a) + events(link_b))
    assert link_b.rejected > 0
