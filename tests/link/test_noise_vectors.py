"""Our Noise core reproduces the cacophony IK / IKpsk2 vectors byte for byte.

Vectors: tests/vectors/noise_ik.json, copied from ../shared/vectors (cacophony,
public domain), filtered to IK and IKpsk2 over 25519/ChaChaPoly.
"""

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from terminal.link.noise import HandshakeState, public_bytes

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "noise_ik.json").read_text())["vectors"]


def _key(hex_string):
    return X25519PrivateKey.from_private_bytes(bytes.fromhex(hex_string))


def _sides(v):
    hash_name = v["protocol_name"].rsplit("_", 1)[1]
    psk = bytes.fromhex(v["init_psks"][0]) if "init_psks" in v else None
    resp_psk = bytes.fromhex(v["resp_psks"][0]) if "resp_psks" in v else None
    initiator = HandshakeState(
        initiator=True, static=_key(v["init_static"]), ephemeral=_key(v["init_ephemeral"]),
        remote_static=bytes.fromhex(v["init_remote_static"]),
        prologue=bytes.fromhex(v["init_prologue"]), psk=psk, hash_name=hash_name,
    )
    responder = HandshakeState(
        initiator=False, static=_key(v["resp_static"]), ephemeral=_key(v["resp_ephemeral"]),
        prologue=bytes.fromhex(v["resp_prologue"]), psk=resp_psk, hash_name=hash_name,
    )
    return initiator, responder


def test_all_four_constructions_are_present():
    assert sorted(v["protocol_name"] for v in VECTORS) == [
        "Noise_IK_25519_ChaChaPoly_BLAKE2s", "Noise_IK_25519_ChaChaPoly_SHA256",
        "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s", "Noise_IKpsk2_25519_ChaChaPoly_SHA256",
    ]


@pytest.mark.parametrize("v", VECTORS, ids=[v["protocol_name"] for v in VECTORS])
def test_vector(v):
    initiator, responder = _sides(v)
    assert initiator.protocol_name.decode() == v["protocol_name"]
    m = [(bytes.fromhex(x["payload"]), bytes.fromhex(x["ciphertext"])) for x in v["messages"]]

    assert initiator.write_initiation(m[0][0]) == m[0][1]
    assert responder.read_initiation(m[0][1]) == m[0][0]
    assert responder.write_response(m[1][0]) == m[1][1]
    assert initiator.read_response(m[1][1]) == m[1][0]

    i, r = initiator.result(), responder.result()
    assert i.handshake_hash.hex() == r.handshake_hash.hex() == v["handshake_hash"]
    assert r.remote_static == public_bytes(_key(v["init_static"]))
    for k, (payload, ciphertext) in enumerate(m[2:]):
        sender, receiver = (i, r) if k % 2 == 0 else (r, i)
        assert sender.send.encrypt(b"", payload) == ciphertext
        assert receiver.receive.decrypt(b"", ciphertext) == payload
