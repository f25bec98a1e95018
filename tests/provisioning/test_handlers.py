"""The command set driven directly (no serial line), with a fake clock."""

import base64
import hashlib
import os
import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.config import load
from terminal.keys import generate_keys, load_keys
from terminal.provisioning.bundle import make_bundle
from terminal.provisioning.constants import JOURNAL_CHUNK
from terminal.provisioning.errors import FrameError
from terminal.provisioning.messages import Request
from terminal.provisioning.presence import Presence
from terminal.provisioning.status import Command, Status
from terminal.config import SCHEMA
from tests.provisioning.harness import PAIRING_ID

NOW = 1000.0


def call(unit, command, args=None, now=NOW):
    return list(unit.handle(bytes(Request(3, command, args or {})), now))


def final(unit, command, args=None, now=NOW):
    *_, last = call(unit, command, args, now)
    return last


def ok(unit, command, args=None, now=NOW):
    response = final(unit, command, args, now)
    assert response.status == Status.OK, response.result
    return response.result


def snapshot(root: Path) -> dict:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def peer_bundle(tmp_path, pairing_id=PAIRING_ID):
    keys = generate_keys(tmp_path / "peer-keys")
    return make_bundle(keys, "B", ["198.51.100.20:4870"], pairing_id), keys


def enrolled(unit):
    unit.presence.press(NOW)
    ok(unit, Command.ENROL)
    return unit


PSK = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize("pressed_ago", [None, 60.5, 3600.0])
@pytest.mark.parametrize(
    "command, args",
    [
        (Command.ENROL, {}),
        (Command.INSTALL_PEER, "bundle"),
        (Command.ZEROIZE, {}),
        (Command.SET_CONFIG, {"values": {"unit.key_dir": "other-keys"}}),
    ],
)
def test_presence_guard_refuses_and_changes_nothing(unit, tmp_path, command, args, pressed_ago):
    if command != Command.ENROL:
        enrolled(unit)
    if args == "bundle":
        args = {"bundle": peer_bundle(tmp_path)[0]}
    unit.presence = Presence()
    if pressed_ago is not None:
        unit.presence.press(NOW - pressed_ago)
    before = snapshot(tmp_path)
    response = final(unit, command, args)
    assert response.status == Status.NEEDS_PRESENCE
    assert "changes the unit's keys or peer" in response.result["error"]
    assert snapshot(tmp_path) == before


def test_enrol_with_the_button_creates_keys_once(unit):
    unit.presence.press(NOW - 59)
    first = ok(unit, Command.ENROL)
    assert first["created"] is True
    again = ok(unit, Command.ENROL, now=NOW + 3600)  # keeping keys needs no button
    assert again == {"created": False, "upgraded": False, "identity": first["identity"], "archived_journal": None}
    assert set(first["identity"]) == {"static_public", "signing_public", "mlkem_public", "mldsa_public", "fingerprint"}
    assert load_keys(load(unit.config_path, SCHEMA).unit.key_dir).identity.as_dict() == first["identity"]


def test_hello_reports_each_state(unit, tmp_path):
    assert ok(unit, Command.HELLO)["state"] == "blank"
    assert ok(unit, Command.HELLO)["identity"] is None
    enrolled(unit)
    hello = ok(unit, Command.HELLO)
    assert (hello["state"], hello["unit_id"], hello["button_pressed"]) == ("enrolled", "A", True)
    doc, peer_keys = peer_bundle(tmp_path)
    ok(unit, Command.INSTALL_PEER, {"bundle": doc, "psk": PSK})
    hello = ok(unit, Command.HELLO, now=NOW + 61)
    assert hello["state"] == "paired"
    assert hello["peer"] == {"unit_id": "B", "fingerprint": peer_keys.identity.fingerprint,
                             "endpoints": ["198.51.100.20:4870"], "psk": True}
    assert hello["button_pressed"] is False


def test_install_peer_writes_a_config_the_daemon_loads(unit, tmp_path):
    enrolled(unit)
    doc, peer_keys = peer_bundle(tmp_path)
    ok(unit, Command.INSTALL_PEER, {"bundle": doc, "psk": PSK, "endpoints": ["203.0.113.5:4870"]})
    config = load(unit.config_path)
    assert config.peer.static_public == peer_keys.identity.static_public
    assert config.peer.signing_public == peer_keys.identity.signing_public
    assert config.peer.mlkem_public == peer_keys.identity.mlkem_public     # for the link's later PQ authentication
    assert config.peer.mldsa_public == peer_keys.identity.mldsa_public
    assert config.peer.endpoints == [("203.0.113.5", 4870)]
    assert config.peer.psk == bytes(range(32))
    assert os.stat(unit.config_path).st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "change, status, message",
    [
        (lambda d, own: {"bundle": own}, Status.BAD_ARGUMENT, "this unit's own identity"),
        (lambda d, own: {"bundle": d, "psk": "c2hvcnQ="}, Status.BAD_ARGUMENT, "pre-shared key is 5 bytes; expected 32"),
        (lambda d, own: {"bundle": {**d, "signature": own["signature"]}}, Status.BAD_SIGNATURE, "does not verify"),
        (lambda d, own: {"bundle": d, "color": "red"}, Status.BAD_ARGUMENT, r"unknown argument\(s\) \['color'\]"),
        (lambda d, own: {"bundle": "x"}, Status.BAD_ARGUMENT, "'bundle' must be an identity bundle"),
        (lambda d, own: {"bundle": d, "endpoints": ["nowhere"]}, Status.BAD_CONFIG, r"\[peer\] endpoints"),
    ],
)
def test_install_peer_refusals_change_nothing(unit, tmp_path, change, status, message):
    enrolled(unit)
    doc, _ = peer_bundle(tmp_path)
    own = ok(unit, Command.EXPORT)["bundle"]
    before = snapshot(tmp_path)
    response = final(unit, Command.INSTALL_PEER, change(doc, own))
    assert response.status == status
    assert re.search(message, response.result["error"])
    assert snapshot(tmp_path) == before


def test_install_peer_refuses_another_pairing_id(unit, tmp_path):
    enrolled(unit)
    doc, _ = peer_bundle(tmp_path, pairing_id="someone-else")
    response = final(unit, Command.INSTALL_PEER, {"bundle": doc})
    assert response.status == Status.BAD_ARGUMENT
    assert "pairing ids differ" in response.result["error"]


def test_install_peer_before_enrol_says_so(unit, tmp_path):
    unit.presence.press(NOW)
    response = final(unit, Command.INSTALL_PEER, {"bundle": peer_bundle(tmp_path)[0]})
    assert response.status == Status.NOT_ENROLLED


def test_export_needs_a_dialable_address(unit):
    enrolled(unit)
    ok(unit, Command.SET_CONFIG, {"values": {"link.listen": "0.0.0.0:4870"}})
    response = final(unit, Command.EXPORT)
    assert response.status == Status.BAD_ARGUMENT
    assert "cannot dial" in response.result["error"]
    result = ok(unit, Command.EXPORT, {"endpoints": ["192.0.2.10:4870"]})
    assert result["bundle"]["bundle"]["endpoints"] == ["192.0.2.10:4870"]


@pytest.mark.parametrize(
    "values, status, message",
    [
        ({"link.unreachable_after": 0.1}, Status.BAD_CONFIG, r"\[link\] unreachable_after: expected a number from 1.0 to 600.0"),
        ({"link.unreachble_after": 5.0}, Status.BAD_CONFIG, "Did you mean 'unreachable_after'"),
        ({"peer.id": "X"}, Status.BAD_ARGUMENT, r"\[peer\] section changes only by pairing"),
        ({"listen": "1.2.3.4:5"}, Status.BAD_ARGUMENT, "expected 'section.key'"),
    ],
)
def test_set_config_is_validated_as_the_daemon_validates(unit, tmp_path, values, status, message):
    before = snapshot(tmp_path)
    response = final(unit, Command.SET_CONFIG, {"values": values})
    assert response.status == status
    assert re.search(message, response.result["error"])
    assert snapshot(tmp_path) == before


def test_set_config_writes_a_valid_file(unit):
    assert ok(unit, Command.SET_CONFIG, {"values": {"link.unreachable_after": 30.0}}) == {
        "changed": ["link.unreachable_after"]}
    raw = unit.config_path.read_text()
    assert "unreachable_after = 30.0" in raw


def test_a_failed_write_leaves_the_old_config(unit, tmp_path, monkeypatch):
    enrolled(unit)
    doc, _ = peer_bundle(tmp_path)
    before = snapshot(tmp_path)

    def power_cut(src, dst):
        raise OSError(5, "I/O error")

    monkeypatch.setattr("terminal.keys.os.replace", power_cut)
    response = final(unit, Command.INSTALL_PEER, {"bundle": doc})
    assert response.status == Status.INTERNAL
    assert response.result["error"] == "install_peer: OSError"
    assert snapshot(tmp_path) == before  # no temp file left either


def test_selftest_default_is_clearly_not_available(unit):
    response = final(unit, Command.SELFTEST)
    assert response.status == Status.NOT_AVAILABLE
    assert response.result["error"].startswith("self-test not available")


def test_selftest_results_stream_before_the_summary(unit):
    unit.selftest_runner = lambda: iter([
        {"check": "ringer", "ok": True, "detail": "relay clicks"},
        {"check": "link", "ok": False, "detail": "peer unreachable"},
    ])
    responses = call(unit, Command.SELFTEST)
    assert [r.status for r in responses] == [Status.PROGRESS, Status.PROGRESS, Status.OK]
    assert responses[1].result == {"check": "link", "ok": False, "detail": "peer unreachable"}
    assert responses[2].result == {"passed": 1, "failed": 1, "ok": False}


def test_a_malformed_selftest_result_is_an_internal_error(unit):
    unit.selftest_runner = lambda: iter([{"check": "ringer", "ok": "yes"}])
    response = final(unit, Command.SELFTEST)
    assert response.status == Status.INTERNAL
    assert "malformed result" in response.result["error"]


def make_journal(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER, pad BLOB)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(i, os.urandom(200)) for i in range(rows)])
    db.close()


def test_journal_snapshot_is_consistent_and_read_in_chunks(unit, tmp_path):
    journal = tmp_path / "data" / "journal.sqlite"
    make_journal(journal, 100)
    info = ok(unit, Command.JOURNAL_SNAPSHOT)
    make_journal(journal, 100)  # written after the snapshot: not in it
    assert ok(unit, Command.JOURNAL_SNAPSHOT, {"fresh": False}) == info
    data = b""
    while len(data) < info["size"]:
        chunk = ok(unit, Command.JOURNAL_READ, {"offset": len(data)})
        data += base64.b64decode(chunk["data"])
    assert hashlib.sha256(data).hexdigest() == info["sha256"]
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(data)
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT count(*) FROM t").fetchone() == (100,)
    db.close()


@pytest.mark.parametrize(
    "args, message",
    [
        ({"offset": 10**9}, "past the end"),
        ({"offset": 0, "length": JOURNAL_CHUNK + 1}, f"0 < length <= {JOURNAL_CHUNK}"),
        ({"offset": -1}, "offset >= 0"),
        ({"offset": "0"}, "'offset' must be int"),
        ({"offset": True}, "'offset' must be int"),
    ],
)
def test_journal_read_refuses_bad_ranges(unit, tmp_path, args, message):
    make_journal(tmp_path / "data" / "journal.sqlite", 1)
    ok(unit, Command.JOURNAL_SNAPSHOT)
    response = final(unit, Command.JOURNAL_READ, args)
    assert response.status == Status.BAD_ARGUMENT
    assert message in response.result["error"]


def test_journal_without_a_journal_is_not_available(unit):
    response = final(unit, Command.JOURNAL_SNAPSHOT)
    assert response.status == Status.NOT_AVAILABLE
    assert "no journal at" in response.result["error"]


def test_zeroize_destroys_keys_and_peer(unit, tmp_path, monkeypatch):
    enrolled(unit)
    before = load_keys(tmp_path / "keys").identity
    ok(unit, Command.INSTALL_PEER, {"bundle": peer_bundle(tmp_path)[0]})
    written = []
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, mode="r", *a, **k: (
        written.append((self.name, mode)), real_open(self, mode, *a, **k))[1])
    ok(unit, Command.ZEROIZE)
    assert ("private.keys", "r+b") in written     # overwritten in place before the unlink: all four keys with it
    assert not (tmp_path / "keys" / "private.keys").exists()
    assert (tmp_path / "keys" / "zeroize.pending").exists()    # the daemon destroys the plaintext, now or next start
    assert "[peer]" not in unit.config_path.read_text()
    assert ok(unit, Command.HELLO)["state"] == "blank"
    unit.presence.press(NOW)                          # re-enrol: four new keys, the post-quantum ones too
    after = ok(unit, Command.ENROL)["identity"]
    assert all(after[name] != before.as_dict()[name] for name in ("signing_public", "mlkem_public", "mldsa_public"))


def _legacy_unit(tmp_path):
    """Unit A as firmware before the post-quantum keys left it: two keys, and a journal they signed."""
    from terminal.journal import Journal
    from terminal.journal.signatures import SigningKeys
    from terminal.keys import atomic_write, encode_key, new_keys
    old = new_keys()
    (tmp_path / "keys").mkdir(mode=0o700)
    atomic_write(tmp_path / "keys" / "private.keys",
                 f"static = {encode_key(old.static_private_bytes())}\nsigning = {encode_key(old.signing.private_bytes_raw())}\n".encode())
    with Journal(tmp_path / "data" / "journal.sqlite", SigningKeys(old.signing, None)) as journal:
        journal.append("boot", version="0.9")
    return old


def test_enrol_on_a_unit_from_before_the_post_quantum_keys_adds_them_and_keeps_its_journal(unit, tmp_path):
    old = _legacy_unit(tmp_path)
    hello = ok(unit, Command.HELLO)
    assert (hello["state"], hello["identity"], hello["legacy_keys"]) == ("enrolled", None, True)
    assert final(unit, Command.EXPORT).status == Status.NOT_ENROLLED
    assert final(unit, Command.ENROL).status == Status.NEEDS_PRESENCE      # changing keys needs the button
    unit.presence.press(NOW)
    result = ok(unit, Command.ENROL)
    assert (result["created"], result["upgraded"], result["archived_journal"]) == (True, True, None)
    keys = load_keys(tmp_path / "keys")
    assert keys.identity.signing_public == old.identity.signing_public      # its journal goes on, not archived
    assert keys.identity.static_public == old.identity.static_public        # the peer's pin still names it
    assert result["identity"]["fingerprint"] == keys.identity.fingerprint != old.identity.fingerprint
    assert (tmp_path / "data" / "journal.sqlite").exists()
    assert ok(unit, Command.EXPORT)["bundle"]["bundle"]["format"] == "hotline-identity-v2"


def test_enrol_fails_clearly_when_new_keys_fail_their_pairwise_consistency_test(unit, tmp_path, monkeypatch):
    monkeypatch.setattr("terminal.keys.pairwise_consistency",
                        lambda keys: ["ML-DSA-65: a signature by the new key does not verify with its public key"])
    unit.presence.press(NOW)
    response = final(unit, Command.ENROL)
    assert response.status == Status.INTERNAL
    assert response.result["error"].startswith(
        "enrol: new keys failed the pairwise-consistency test (ML-DSA-65: a signature by the new key does not "
        "verify with its public key); no keys were written")
    assert not (tmp_path / "keys" / "private.keys").exists()
    assert ok(unit, Command.HELLO)["state"] == "blank"


def test_install_peer_refuses_a_format_1_bundle_naming_its_format(unit, tmp_path):
    import json as json_mod
    enrolled(unit)
    doc, peer_keys = peer_bundle(tmp_path)
    body = {k: v for k, v in doc["bundle"].items() if k not in ("mlkem_public", "mldsa_public")}
    body["format"] = "hotline-identity-v1"
    message = json_mod.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    legacy = {"bundle": body, "signature": base64.b64encode(peer_keys.signing.sign(message)).decode()}
    before = snapshot(tmp_path)
    response = final(unit, Command.INSTALL_PEER, {"bundle": legacy})
    assert response.status == Status.BAD_ARGUMENT
    assert response.result["error"].startswith(
        "the identity bundle (argument 'bundle'): format 'hotline-identity-v1' is from firmware without "
        "post-quantum keys")
    assert snapshot(tmp_path) == before


def test_frame_errors_are_answered_with_request_id_zero(unit):
    (response,) = unit.handle(FrameError("CRC-32 mismatch (test)"), NOW)
    assert (response.id, response.status) == (0, Status.BAD_FRAME)
    assert "CRC-32 mismatch" in response.result["error"]


def test_each_change_is_reported_for_the_journal(unit, tmp_path):
    changes = []
    unit.on_change = lambda change, detail: changes.append((change, detail))
    enrolled(unit)
    doc, peer_keys = peer_bundle(tmp_path)
    ok(unit, Command.INSTALL_PEER, {"bundle": doc, "psk": PSK})
    ok(unit, Command.SET_CONFIG, {"values": {"link.unreachable_after": 20.0}})
    ok(unit, Command.ZEROIZE)
    assert [c for c, _ in changes] == ["enrol", "pair", "set_config", "zeroize"]
    assert changes[1][1] == f"peer B, fingerprint {peer_keys.identity.fingerprint}, with pre-shared key"


json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=3), max_leaves=8)
arg_names = st.sampled_from(["bundle", "psk", "endpoints", "values", "fresh", "offset", "length", "link.listen",
                             "unit.id", "peer.id", "x"]) | st.text(max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(Command), st.dictionaries(arg_names, json_values, max_size=3))
def test_any_arguments_get_a_specific_answer_never_an_internal_error(unit, command, args):
    unit.presence.press(NOW)
    responses = call(unit, command, args)
    assert responses[-1].final
    assert responses[-1].status != Status.INTERNAL, responses[-1].result


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=64))
def test_any_bytes_get_exactly_one_answer(unit, data):
    (response,) = unit.handle(data, NOW)
    assert response.final


def test_a_config_with_a_call_section_can_still_be_provisioned(tmp_path):
    """The daemon's schema includes [call]; provisioning checks with the same one (the lab found
    `config set` refusing a unit whose config set its ring timers)."""
    from terminal.provisioning.unitconfig import read_config, write_config

    path = tmp_path / "hotline.toml"
    path.write_text('[unit]\nid = "a"\nkey_dir = "k"\ndata_dir = "d"\n[link]\nlisten = "0.0.0.0:4870"\n'
                    'pairing_id = "p"\n[call]\nring_timeout = 6.0\n')
    raw, config = read_config(path)
    assert config.call.ring_timeout == 6.0 and config.peer is None
    raw["link"]["pairing_id"] = "q"
    assert write_config(path, raw).link.pairing_id == "q"
