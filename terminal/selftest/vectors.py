"""Known-answer vectors for the power-on self-test, copied from published test sets.

Each vector names where it comes from inside the `cryptography-vectors`
package (file and the record's key field), and tests/selftest checks every
value here against that file, so none is invented or mistyped.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Vector:
    source: str                 # path inside cryptography_vectors
    locator: tuple[str, str]    # (field, value) naming the record, e.g. ("COUNT", "1"); ("line", "2") for sign.input
    values: dict[str, str]      # hex strings as they appear in the file


X25519 = Vector(            # RFC 7748 section 5.2, first test
    "asymmetric/X25519/rfc7748.txt", ("COUNT", "1"), {
        "INPUT_SCALAR": "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "INPUT_U": "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "OUTPUT_U": "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    })

CHACHA20_POLY1305 = Vector(  # RFC 7539 appendix A.5
    "ciphers/ChaCha20Poly1305/openssl.txt", ("COUNT", "1"), {
        "Key": "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
        "IV": "000000000102030405060708",
        "AAD": "f33388860000000000004e91",
        "Tag": "eead9d67890cbb22392336fea1851f38",
        "Plaintext": (
            "496e7465726e65742d4472616674732061726520647261667420646f63756d656e74732076616c696420666f722061"
            "206d6178696d756d206f6620736978206d6f6e74687320616e64206d617920626520757064617465642c207265706c"
            "616365642c206f72206f62736f6c65746564206279206f7468657220646f63756d656e747320617420616e79207469"
            "6d652e20497420697320696e617070726f70726961746520746f2075736520496e7465726e65742d44726166747320"
            "6173207265666572656e6365206d6174657269616c206f7220746f2063697465207468656d206f7468657220746861"
            "6e206173202fe2809c776f726b20696e2070726f67726573732e2fe2809d"),
        "Ciphertext": (
            "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26"
            "b0bdb7b73c321b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37"
            "c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4b9166c767b804d46a59b5216cd"
            "e7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273"
            "f548271a0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0"
            "ff77987130305beaba2eda04df997b714d6c6f2c29a6ad5cb4022b02709b"),
    })

BLAKE2S = Vector(            # BLAKE2s-256 of "abc"
    "hashes/blake2/blake2s.txt", ("Len", "24"), {
        "Msg": "616263",
        "MD": "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
    })

SHA256 = Vector(             # NIST CAVS SHA256ShortMsg, a full 64-byte block (padding spills into a second)
    "hashes/SHA2/SHA256ShortMsg.rsp", ("Len", "512"), {
        "Msg": "5a86b737eaea8ee976a0a24da63e7ed7eefad18a101c1211e2b3650c5187c2a8"
               "a650547208251f6d4237e661c7bf4c77f335390394c37fa1a9f9be836ac28509",
        "MD": "42e61e174fbb3897d6dd6cef3dd2802fe67b331953b06114a65c772859dfc1aa",
    })

ED25519 = Vector(            # RFC 8032 section 7.1 TEST 2 (sign.input line 2: secret+public:public:msg:sig+msg:)
    "asymmetric/Ed25519/sign.input", ("line", "2"), {
        "secret": "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "public": "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "message": "72",
        "signature": "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    })

ALL = {"x25519": X25519, "chacha20poly1305": CHACHA20_POLY1305, "blake2s": BLAKE2S, "sha256": SHA256,
       "ed25519": ED25519}
