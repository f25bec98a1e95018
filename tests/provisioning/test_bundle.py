import copy

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from terminal.keys import UnitKeys
from terminal.provisioning.bundle import BundleError, make_bundle, verify_bundle


@pytest.fixture(scope="module")
def keys():
    return UnitKeys(X25519PrivateKey.generate(), Ed25519PrivateKey.generate())


@pytest.fixture
def doc(keys):
    return make_bundle(keys, "A", ["192.0.2.10:4870", "[2001:db8::1]:4870"], "pair-1")


def test_round_trip(keys, doc):
    peer = verify_bundle(doc)
    assert peer.unit_id == "A"
    assert peer.static_public == keys.identity.static_public
    assert peer.signing_public == keys.identity.signing_public
    assert peer.endpoints == ("192.0.2.10:4870", "[2001:db8::1]:4870")
    assert peer.pairing_id == "pair-1"
    assert peer.fingerprint == keys.identity.fingerprint


@pytest.mark.parametrize(
    "field, value",
    [("unit_id", "B"), ("endpoints", ["203.0.113.9:4870"]), ("pairing_id", "other"),
     ("static_public", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")],
)
def test_any_edit_breaks_the_signature(doc, field, value):
    edited = copy.deepcopy(doc)
    edited["bundle"][field] = value
    with pytest.raises(BundleError, match="signature does not verify") as info:
        verify_bundle(edited)
    assert info.value.bad_signature


def test_a_bundle_resigned_with_another_key_names_that_key(doc):
    # Signature valid for the substituted signing key: the bundle verifies, but the
    # fingerprint changes, which is what the technicians compare over the phone.
    other = UnitKeys(X25519PrivateKey.generate(), Ed25519PrivateKey.generate())
    forged = make_bundle(other, "A", doc["bundle"]["endpoints"], "pair-1")
    assert verify_bundle(forged).fingerprint != verify_bundle(doc).fingerprint


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("signature"), "exactly 'bundle' and 'signature'"),
        (lambda d: d.update(bundle=[]), "'bundle' must be a JSON object"),
        (lambda d: d["bundle"].update(format="v0"), "format is 'v0'"),
        (lambda d: d["bundle"].update(extra=1), r"unknown fields \['extra'\]"),
        (lambda d: d["bundle"].update(static_public="abc"), "static_public is not valid base64"),
        (lambda d: d["bundle"].update(signing_public="AAAA"), "signing_public is 3 bytes; expected 32"),
        (lambda d: d["bundle"].update(endpoints=[]), "'endpoints' must be a non-empty list"),
        (lambda d: d["bundle"].update(endpoints=["nowhere"]), "endpoint 'nowhere': expected host:port"),
        (lambda d: d["bundle"].update(pairing_id=5), "'pairing_id' must be a string or null"),
        (lambda d: d.update(signature="!!"), "signature does not verify"),
    ],
)
def test_malformed_bundles_are_refused_specifically(doc, mutate, message):
    mutate(doc)
    with pytest.raises(BundleError, match=message):
        verify_bundle(doc)


def test_verify_refuses_a_non_object():
    with pytest.raises(BundleError, match="expected a JSON object"):
        verify_bundle(["bundle"])
