"""Identity bundles, format 2: all four public keys, signed with Ed25519 and ML-DSA-65."""

import base64
import copy
import json

import pytest

from terminal.keys import encode_key, new_keys
from terminal.provisioning.bundle import BundleError, make_bundle, verify_bundle


@pytest.fixture(scope="module")
def keys():
    return new_keys()


@pytest.fixture
def doc(keys):
    return make_bundle(keys, "A", ["192.0.2.10:4870", "[2001:db8::1]:4870"], "pair-1")


def test_round_trip(keys, doc):
    peer = verify_bundle(json.loads(json.dumps(doc)))     # as a file holds it
    assert doc["bundle"]["format"] == "hotline-identity-v2"
    assert peer.unit_id == "A"
    assert peer.static_public == keys.identity.static_public
    assert peer.signing_public == keys.identity.signing_public
    assert peer.mlkem_public == keys.identity.mlkem_public and len(peer.mlkem_public) == 1184
    assert peer.mldsa_public == keys.identity.mldsa_public and len(peer.mldsa_public) == 1952
    assert peer.endpoints == ("192.0.2.10:4870", "[2001:db8::1]:4870")
    assert peer.pairing_id == "pair-1"
    assert peer.fingerprint == keys.identity.fingerprint
    assert len(base64.b64decode(doc["mldsa_signature"])) == 3309


@pytest.mark.parametrize(
    "field, value",
    [("unit_id", "B"), ("endpoints", ["203.0.113.9:4870"]), ("pairing_id", "other"),
     ("static_public", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
     ("mlkem_public", encode_key(new_keys().identity.mlkem_public)),
     ("mldsa_public", encode_key(new_keys().identity.mldsa_public))],
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
    forged = make_bundle(new_keys(), "A", doc["bundle"]["endpoints"], "pair-1")
    assert verify_bundle(forged).fingerprint != verify_bundle(doc).fingerprint


def test_both_signatures_must_verify_and_the_error_says_which_failed(keys, doc):
    other = new_keys()
    message = json.dumps(doc["bundle"], sort_keys=True, separators=(",", ":")).encode()
    only_ed = {**doc, "mldsa_signature": encode_key(other.mldsa.sign(message))}
    with pytest.raises(BundleError, match=r"^A\.bundle\.json: the ML-DSA-65 signature does not verify") as info:
        verify_bundle(only_ed, "A.bundle.json")
    assert info.value.bad_signature
    only_mldsa = {**doc, "signature": encode_key(other.signing.sign(message))}
    with pytest.raises(BundleError, match="the Ed25519 signature does not verify"):
        verify_bundle(only_mldsa)
    # Another unit's ML-DSA-65 key put in this bundle, re-signed by this unit's Ed25519 key: the
    # ML-DSA-65 signature proves possession, so the claim of a key it cannot sign with fails.
    body = {**doc["bundle"], "mldsa_public": encode_key(other.identity.mldsa_public)}
    message = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    stolen = {"bundle": body, "signature": encode_key(keys.signing.sign(message)),
              "mldsa_signature": doc["mldsa_signature"]}
    with pytest.raises(BundleError, match="the ML-DSA-65 signature does not verify"):
        verify_bundle(stolen)


def test_a_format_1_bundle_from_older_firmware_is_refused_by_name(keys):
    body = {"format": "hotline-identity-v1", "unit_id": "A", "static_public": encode_key(keys.identity.static_public),
            "signing_public": encode_key(keys.identity.signing_public), "endpoints": ["192.0.2.10:4870"],
            "pairing_id": None}
    message = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    legacy = {"bundle": body, "signature": encode_key(keys.signing.sign(message))}
    with pytest.raises(BundleError, match=r"^B7\.bundle\.json: format 'hotline-identity-v1' is from firmware without "
                                          r"post-quantum keys .* refused rather than paired classically: upgrade"):
        verify_bundle(legacy, "B7.bundle.json")


_ED_KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("signature"), r"exactly 'bundle', 'signature' and 'mldsa_signature' \(missing \['signature'\]\)"),
        (lambda d: d.pop("mldsa_signature"), r"\(missing \['mldsa_signature'\]\)"),
        (lambda d: d.update(extra=1), r"\(unknown \['extra'\]\)"),
        (lambda d: d.update(bundle=[]), "'bundle' must be a JSON object"),
        (lambda d: d["bundle"].update(format="v0"), "format is 'v0'"),
        (lambda d: d["bundle"].update(extra=1), r"unknown fields \['extra'\]"),
        (lambda d: d["bundle"].update(static_public="abc"), "static_public is not valid base64"),
        (lambda d: d["bundle"].update(signing_public="AAAA"), "signing_public is 3 bytes; expected 32"),
        (lambda d: d["bundle"].update(mlkem_public=_ED_KEY), "mlkem_public is 32 bytes; expected 1184"),
        (lambda d: d["bundle"].update(mldsa_public=_ED_KEY), "mldsa_public is 32 bytes; expected 1952"),
        (lambda d: d["bundle"].update(mldsa_public=None), "'mldsa_public' must be a non-empty string"),
        (lambda d: d["bundle"].update(mlkem_public=encode_key(b"\xff" * 1184)),
         r"mlkem_public is not a valid ML-KEM-768 key \(FIPS 203 modulus check failed\)"),
        (lambda d: d["bundle"].update(endpoints=[]), "'endpoints' must be a non-empty list"),
        (lambda d: d["bundle"].update(endpoints=["nowhere"]), "endpoint 'nowhere': expected host:port"),
        (lambda d: d["bundle"].update(pairing_id=5), "'pairing_id' must be a string or null"),
        (lambda d: d.update(signature="!!"), "signature is not valid base64; the signature does not verify"),
        (lambda d: d.update(mldsa_signature=d["mldsa_signature"][:-8]),
         "mldsa_signature is 3303 bytes; expected 3309: the signature does not verify"),
        (lambda d: d.update(mldsa_signature=7), "'mldsa_signature' must be a non-empty string"),
    ],
)
def test_malformed_bundles_are_refused_specifically(doc, mutate, message):
    mutate(doc)
    with pytest.raises(BundleError, match=r"^B7\.bundle\.json: .*" + message):
        verify_bundle(doc, "B7.bundle.json")


def test_verify_refuses_a_non_object():
    with pytest.raises(BundleError, match="expected a JSON object"):
        verify_bundle(["bundle"])
