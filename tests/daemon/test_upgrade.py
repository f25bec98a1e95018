"""A unit upgraded from firmware before the post-quantum keys: it waits as unprovisioned and says
what to do (enrol adds the keys; both units pair again), and its power-on check agrees."""

from __future__ import annotations

import tomllib

import tomli_w

from terminal import config as config_mod
from terminal.daemon.main import _provisioned
from terminal.keys import PRIVATE_KEYS_FILE, add_post_quantum_keys, atomic_write, encode_key, load_keys
from terminal.selftest.integrity import check_config
from terminal.sim.provision import provision_pair


def test_legacy_keys_then_a_legacy_pairing_each_leave_the_unit_unprovisioned_saying_why(tmp_path):
    a_sim, b_sim = provision_pair(tmp_path)
    a_sim.sock.close()
    b_sim.sock.close()
    cfg = config_mod.load(a_sim.config_path)
    assert _provisioned(cfg) is None
    keys = load_keys(cfg.unit.key_dir)
    atomic_write(cfg.unit.key_dir / PRIVATE_KEYS_FILE,       # as the old firmware wrote it
                 f"static = {encode_key(keys.static_private_bytes())}\n"
                 f"signing = {encode_key(keys.signing.private_bytes_raw())}\n".encode())
    assert _provisioned(cfg).startswith("keys from firmware before the post-quantum keys (add ML-KEM-768 and "
                                        "ML-DSA-65: `hotline-host enrol`")
    add_post_quantum_keys(cfg.unit.key_dir)
    raw = tomllib.loads(a_sim.config_path.read_text())
    del raw["peer"]["mlkem_public"], raw["peer"]["mldsa_public"]    # a [peer] the old firmware paired
    a_sim.config_path.write_text(tomli_w.dumps(raw))
    cfg = config_mod.load(a_sim.config_path)                        # still loads: the technician can pair over USB
    assert _provisioned(cfg) == ("peer B was paired by firmware before the post-quantum keys "
                                 "(pair again: `hotline-host pair --peer FAR.bundle.json`, a format-2 bundle)")
    result, _ = check_config(a_sim.config_path)
    assert not result.passed and "paired by firmware before the post-quantum keys" in result.detail
