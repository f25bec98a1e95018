"""End to end over real ptys: two simulated units, the technician's `hotline-host` on the other end."""

import base64
import logging

from cryptography.hazmat.primitives import serialization

from terminal.config import load
from terminal.keys import load_keys
from terminal.provisioning.framing import Decoder
from tests.provisioning.harness import provision_pair

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
