"""The provisioning service on a real pty, spoken to with raw bytes through pyserial."""

import os
import time

import pytest
import serial

from host import commands
from terminal.config import load
from terminal.keys import load_keys
from terminal.provisioning.constants import MAX_MESSAGE
from terminal.provisioning.framing import Decoder, encode_frame
from terminal.provisioning.messages import Request, Response
from terminal.provisioning.status import Command, Status
from tests.provisioning.harness import provision_pair
from tests.provisioning.test_handlers import peer_bundle, snapshot


def exchange(path: str, data: bytes, count: int = 1, timeout: float = 5.0) -> list[Response]:
    """Write raw bytes to the unit; read until `count` responses arrive."""
    decoder = Decoder()
    out: list[Response] = []
    with serial.Serial(path, timeout=0.05) as port:
        port.write(data)
        deadline = time.monotonic() + timeout
        while len(out) < count:
            assert time.monotonic() < deadline, f"only {len(out)} of {count} responses arrived"
            out += [Response.parse(item) for item in decoder.feed(port.read(max(1, port.in_waiting)))]
    return out


def frame(request: Request) -> bytes:
    return encode_frame(bytes(request))


def test_garbage_is_answered_and_the_unit_still_works(make_unit, tmp_path):
    unit = make_unit()
    before = snapshot(tmp_path)
    garbage = bytes(range(1, 256)) * 3 + b"\x00" + os.urandom(64).replace(b"\x00", b"\x01") + b"\x00"
    first, second = exchange(unit.cable.host_path, garbage, count=2)
    assert (first.id, first.status) == (0, Status.BAD_FRAME)
    assert second.status == Status.BAD_FRAME
    assert snapshot(tmp_path) == before
    (hello,) = exchange(unit.cable.host_path, frame(Request(9, Command.HELLO)))
    assert (hello.id, hello.status, hello.result["state"]) == (9, Status.OK, "blank")


def test_a_corrupted_enrol_changes_nothing(make_unit, tmp_path):
    unit = make_unit()
    unit.press()
    data = bytearray(frame(Request(4, Command.ENROL)))
    data[3] ^= 0x40
    (response,) = exchange(unit.cable.host_path, bytes(data))
    assert response.status == Status.BAD_FRAME
    assert "CRC-32 mismatch" in response.result["error"] or "COBS" in response.result["error"]
    assert not unit.key_dir.exists()


def test_an_oversize_frame_is_refused(make_unit):
    unit = make_unit()
    (response,) = exchange(unit.cable.host_path, b"\x01" * (MAX_MESSAGE * 2) + b"\x00" + frame(Request(1, Command.HELLO)),
                           count=2)[:1]
    assert response.status == Status.BAD_FRAME
    assert f"longer than the maximum of {MAX_MESSAGE} bytes" in response.result["error"]


def test_a_wrong_protocol_version_is_answered_with_the_request_id(make_unit):
    unit = make_unit()
    unit.press()
    message = bytearray(bytes(Request(77, Command.ENROL)))
    message[0] = 1          # a hotline-host from before format-2 bundles
    (response,) = exchange(unit.cable.host_path, encode_frame(bytes(message)))
    assert (response.id, response.status) == (77, Status.BAD_VERSION)
    assert "protocol version 1; this side speaks version 2" in response.result["error"]
    assert not unit.key_dir.exists()


def test_the_service_reopens_after_the_cable_is_pulled(make_unit):
    unit = make_unit()
    unit.replug()
    (response,) = exchange(unit.cable.host_path, frame(Request(5, Command.HELLO)))
    assert response.status == Status.OK


def test_pulling_the_cable_mid_command_leaves_the_old_keys(make_unit, tmp_path):
    a, b = make_unit("A"), make_unit("B", "198.51.100.20:4870")
    provision_pair(a, b, tmp_path)
    keys_before = load_keys(a.key_dir).identity
    config_before = a.config_path.read_bytes()
    other, _ = peer_bundle(tmp_path / "C")

    a.press()
    half = frame(Request(6, Command.INSTALL_PEER, {"bundle": other}))
    with serial.Serial(a.cable.host_path) as port:
        port.write(half[: len(half) // 2])
        port.flush()
        a.cable.cut()
    a.stop()
    assert a.config_path.read_bytes() == config_before
    assert load_keys(load(a.config_path).unit.key_dir).identity == keys_before
    assert load(a.config_path).peer.id == "B"


@pytest.mark.parametrize("cut_after", [0, 1, 2])
def test_zeroize_cut_off_before_it_is_complete_changes_nothing(make_unit, tmp_path, cut_after):
    unit = make_unit()
    unit.press()
    device = unit.device()
    commands.enrol(device)
    device.close()
    before = snapshot(tmp_path)
    data = frame(Request(8, Command.ZEROIZE))
    unit.press()
    with serial.Serial(unit.cable.host_path) as port:
        port.write(data[: len(data) - 1 - cut_after])  # never the delimiter
        port.flush()
        unit.cable.cut()
    unit.stop()
    assert snapshot(tmp_path) == before


def test_a_half_frame_left_behind_is_forgotten_before_the_next_request(make_unit):
    unit = make_unit()
    unit.service.frame_timeout = 0.05
    half = frame(Request(1, Command.HELLO))[:5]
    with serial.Serial(unit.cable.host_path, timeout=0.05) as port:
        port.write(half)
        port.flush()
        deadline = time.monotonic() + 5
        while unit.service.frames_forgotten == 0:
            assert time.monotonic() < deadline, "the unit never forgot the half frame"
            assert port.read(1) == b""  # a half frame gets no answer
    (response,) = exchange(unit.cable.host_path, frame(Request(2, Command.HELLO)))
    assert (response.id, response.status) == (2, Status.OK)


def test_cable_pulled_while_the_unit_pairs_leaves_old_or_new_never_a_mix(make_unit, tmp_path):
    a, b = make_unit("A"), make_unit("B", "198.51.100.20:4870")
    provision_pair(a, b, tmp_path)
    keys_before = load_keys(a.key_dir).identity
    old_config = a.config_path.read_bytes()
    other, other_keys = peer_bundle(tmp_path / "C")
    a.press()
    with serial.Serial(a.cable.host_path) as port:
        port.write(frame(Request(6, Command.INSTALL_PEER, {"bundle": other})))
        port.flush()
        a.cable.cut()  # whether the unit got the whole request, and answered, is a race
    a.stop()
    config = load(a.config_path)
    assert load_keys(config.unit.key_dir).identity == keys_before
    if a.config_path.read_bytes() != old_config:
        assert config.peer.static_public == other_keys.identity.static_public
    assert not [p for p in a.root.iterdir() if p.name.startswith(".hotline.toml.")]
