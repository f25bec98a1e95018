"""Board profile validation: both shipped profiles load; bad ones fail naming file, key and expectation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from terminal.errors import ConfigError
from terminal.hardware.profile import BOARDS_DIR, load_profile

PI4 = (BOARDS_DIR / "pi4.toml").read_text()


@pytest.mark.parametrize("board", ["pi4", "pizero2w"])
def test_shipped_profiles_load(board):
    profile = load_profile(board)
    pins = [profile.hook.pin, profile.ringer.pin, profile.ringer_feedback.pin, profile.secondary_alert.pin,
            profile.led_link.pin, profile.led_message.pin, profile.led_fault.pin, profile.provisioning_button.pin,
            profile.presence.pin]
    assert len(set(pins)) == 9
    assert profile.handset_device and profile.hook.pull_up and not profile.presence.pull_up


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "board.toml"
    path.write_text(text)
    return path


def edit(old: str, new: str) -> str:
    assert old in PI4
    return PI4.replace(old, new, 1)


@pytest.mark.parametrize("text, message", [
    (edit("[ringer]", "[ringr]"), r"unknown section \[ringr\]\. Did you mean 'ringer'\?"),
    (edit("pin = 27", "pni = 27"), r"\[ringer\] unknown key 'pni'\. Did you mean 'pin'\?"),
    (edit("pin = 27", "pin = 40"), r"\[ringer\] pin: expected a BCM GPIO number from 2 to 27, got 40"),
    (edit("pin = 27", "pin = \"27\""), r"\[ringer\] pin: expected a BCM GPIO number from 2 to 27, got '27'"),
    (edit("pull_up = false", "pull_up = \"no\""), r"\[presence\] pull_up: expected true or false, got 'no'"),
    (edit("debounce = 0.03", "debounce = 2"), r"\[hook\] debounce: expected a number from 0.0 to 0.5, got 2"),
    (edit('handset = "plughw:CARD=handset,DEV=0"', 'handset = ""'),
     r"\[audio\] handset: expected an ALSA device name like plughw:CARD=handset,DEV=0, got ''"),
    (edit("[led_fault]", "[led_fault]\nactive_high = true\n[unused]"), r"\[led_fault\] pin: missing"),
    (edit("pin = 13", "pin = 17"), r"pin 17 is used by both \[hook\] and \[led_fault\]"),
    ("[board\n", r"not valid TOML"),
])
def test_bad_profiles(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert str(path) in str(info.value)
    assert re.search(message, str(info.value)), str(info.value)


def test_every_error_is_reported_at_once(tmp_path):
    path = write(tmp_path, edit("pin = 27", "pin = 99").replace("pin = 5", "pin = 1"))
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    lines = str(info.value).splitlines()
    assert any("[ringer] pin" in line for line in lines) and any("[led_link] pin" in line for line in lines)


def test_unknown_board_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown board 'pi5'; known boards: .*pi4.*pizero2w"):
        load_profile("pi5")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_profile(tmp_path / "absent.toml")
