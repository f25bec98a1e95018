"""The embedded known-answer vectors are the published ones, and a wrong answer is caught and named."""

from dataclasses import replace
from pathlib import Path

import cryptography_vectors
import pytest

from terminal.selftest import vectors
from terminal.selftest.kat import KATS, known_answer_test

PACKAGE = Path(cryptography_vectors.__file__).parent


def package_record(vector: vectors.Vector) -> dict[str, str]:
    """The record `vector` names, read from the cryptography-vectors file."""
    lines = (PACKAGE / vector.source).read_text().splitlines()
    field, value = vector.locator
    if field == "line":                       # sign.input: secret+public:public:message:signature+message:
        secret, public, message, signed, _ = lines[int(value) - 1].split(":")
        return {"secret": secret[:64], "public": public, "message": message, "signature": signed[:128]}
    records, current = [], {}
    for line in lines + [""]:
        if " = " in line and not line.startswith("#"):
            k, v = line.split(" = ", 1)
            if k.strip() == "count" and current:    # the FIPS 203/204 KATs run records together
                records.append(current)
                current = {}
            current[k.strip()] = v.strip()
        elif not line.strip() and current:
            records.append(current)
            current = {}
    matches = [r for r in records if r.get(field) == value]
    assert len(matches) == 1, f"{vector.source}: {len(matches)} records with {field} = {value}"
    return matches[0]


@pytest.mark.parametrize("primitive", sorted(vectors.ALL))
def test_embedded_vector_is_the_published_one(primitive):
    vector = vectors.ALL[primitive]
    published = package_record(vector)
    assert {k: published[k] for k in vector.values} == vector.values


def test_every_primitive_has_a_vector_and_a_test():
    assert set(KATS) == set(vectors.ALL) == {"x25519", "chacha20poly1305", "blake2s", "sha256", "ed25519",
                                             "mlkem768", "mldsa65"}


@pytest.mark.parametrize("primitive", sorted(vectors.ALL))
def test_known_answer_test_passes(primitive):
    result = known_answer_test(primitive)
    assert result.passed, result.detail
    assert result.name == f"kat_{primitive}"


def _flip_last_hex_digit(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


WRONG_ANSWER = {"x25519": "OUTPUT_U", "chacha20poly1305": "Ciphertext", "blake2s": "MD", "sha256": "MD",
                "ed25519": "signature", "mlkem768": "ss", "mldsa65": "pk"}


@pytest.mark.parametrize("primitive", sorted(vectors.ALL))
def test_a_wrong_expected_answer_fails_the_test_by_name(primitive):
    vector = vectors.ALL[primitive]
    field = WRONG_ANSWER[primitive]
    wrong = replace(vector, values={**vector.values, field: _flip_last_hex_digit(vector.values[field])})
    result = known_answer_test(primitive, wrong)
    assert not result.passed
    assert result.name == f"kat_{primitive}"
    assert "known-answer test FAILED" in result.detail and vector.source in result.detail


def test_a_vector_the_primitive_refuses_is_a_failure_not_a_crash():
    short_key = replace(vectors.X25519, values={**vectors.X25519.values, "INPUT_U": "00"})
    result = known_answer_test("x25519", short_key)
    assert not result.passed and "refused the vector" in result.detail


def test_a_wrong_rejection_secret_and_a_wrong_signature_are_each_caught():
    for primitive, field, words in (("mlkem768", "ss_n", "implicit rejection"),
                                    ("mldsa65", "sm", "FIPS 204 signature did not verify")):
        vector = vectors.ALL[primitive]
        value = vector.values[field]
        middle = len(value) // 4                              # inside the signature, not the message
        flipped = value[:middle] + ("0" if value[middle] != "0" else "1") + value[middle + 1:]
        result = known_answer_test(primitive, replace(vector, values={**vector.values, field: flipped}))
        assert not result.passed and words in result.detail, result.detail
