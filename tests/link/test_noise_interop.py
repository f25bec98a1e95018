"""Interoperability with an independent Noise implementation (the noiseprotocol package)."""

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from noise.connection import Keypair, NoiseConnection

from terminal.link.noise import HandshakeError, HandshakeState, public_bytes

PROLOGUE = b"hotline interop"


def _raw_private(key):
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def _theirs(initiator, static, remote_static, psk):
    pattern = "IKpsk2" if psk else "IK"
    conn = NoiseConnection.from_name(f"Noise_{pattern}_25519_ChaChaPoly_BLAKE2s".encode())
    conn.set_as_initiator() if initiator else conn.set_as_responder()
    conn.set_keypair_from_private_bytes(Keypair.STATIC, _raw_private(static))
    if remote_static:
        conn.set_keypair_from_public_bytes(Keypair.REMOTE_STATIC, remote_static)
    if psk:
        conn.set_psks(psk)
    conn.set_prologue(PROLOGUE)
    conn.start_handshake()
    return conn


@pytest.mark.parametrize("psk", [None, os.urandom(32)], ids=["IK", "IKpsk2"])
def test_their_initiator_our_responder(psk):
    a, b = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    theirs = _theirs(True, a, public_bytes(b), psk)
    ours = HandshakeState(initiator=False, static=b, prologue=PROLOGUE, psk=psk)

    assert ours.read_initiation(theirs.write_message(b"ring")) == b"ring"
    assert ours.rs == public_bytes(a)
    assert theirs.read_message(ours.write_response(b"ringing")) == b"ringing"
    assert theirs.handshake_finished
    keys = ours.result()
    assert keys.handshake_hash == theirs.get_handshake_hash()
    assert keys.receive.decrypt(b"", theirs.encrypt(b"hello from noiseprotocol")) == b"hello from noiseprotocol"
    assert theirs.decrypt(keys.send.encrypt(b"", b"hello back")) == b"hello back"


@pytest.mark.parametrize("psk", [None, os.urandom(32)], ids=["IK", "IKpsk2"])
def test_our_initiator_their_responder(psk):
    a, b = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    ours = HandshakeState(initiator=True, static=a, remote_static=public_bytes(b), prologue=PROLOGUE, psk=psk)
    theirs = _theirs(False, b, None, psk)

    assert theirs.read_message(ours.write_initiation(b"ring")) == b"ring"
    assert ours.read_response(theirs.write_message(b"ringing")) == b"ringing"
    keys = ours.result()
    assert keys.handshake_hash == theirs.get_handshake_hash()
    assert theirs.decrypt(keys.send.encrypt(b"", b"hello from us")) == b"hello from us"
    assert keys.receive.decrypt(b"", theirs.encrypt(b"reply")) == b"reply"


def test_mismatched_psk_fails_to_authenticate():
    a, b = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    ours = HandshakeState(initiator=True, static=a, remote_static=public_bytes(b), prologue=PROLOGUE, psk=os.urandom(32))
    theirs = _theirs(False, b, None, os.urandom(32))
    theirs.read_message(ours.write_initiation(b""))
    with pytest.raises(HandshakeError, match="failed to authenticate"):
        ours.read_response(theirs.write_message(b""))
