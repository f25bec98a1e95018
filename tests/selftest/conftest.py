"""Fixtures for the self-test: a real journal, Hardware on MockFactory, file-coupled audio, a loopback pair."""

from __future__ import annotations

import asyncio

import pytest
from terminal.journal.signatures import SigningKeys
from gpiozero.pins.mock import MockFactory

from terminal.audio.wavfile import FileHandset
from terminal.hardware.profile import load_profile
from terminal.hardware.unit import Hardware
from terminal.journal import Journal, load
from terminal.link.events import PeerReachable
from terminal.selftest.couplings import FileCoupling
from terminal.selftest.runner import journal_recorder
from terminal.hardware.mockboard import wire_relay_feedback
from terminal.sim.provision import provision_pair
from terminal.sim.run import load_unit
from tests.hardware.conftest import factory  # noqa: F401  (gpiozero MockFactory fixture)


class JournalSink:
    """A real SQLite journal and the `record` callback that writes self-test results into it."""

    def __init__(self, path):
        self.path = path
        self.journal = Journal(path, SigningKeys.generate())
        self.record = journal_recorder(self.journal.append)

    def selftests(self) -> list[dict]:
        return [r.fields for r in load(self.path).records if r.kind == "selftest"]

    def failures(self) -> dict[str, str]:
        return {f["check"]: f["detail"] for f in self.selftests() if not f["passed"]}


@pytest.fixture
def sink(tmp_path):
    s = JournalSink(tmp_path / "selftest-journal.sqlite")
    yield s
    s.journal.close()


@pytest.fixture
def profile():
    return load_profile("pi4")


@pytest.fixture
def hardware(factory, profile):
    """Every device of a pi4 desk unit; the relay's feedback contact wired as on the board."""
    wire_relay_feedback(factory, profile)
    hw = Hardware(profile, pin_factory=factory)
    yield hw
    hw.close()


@pytest.fixture
def stuck_hardware(factory, profile):
    """The same unit with the feedback contact never reaching its input: stuck open."""
    hw = Hardware(profile, pin_factory=factory)
    yield hw
    hw.close()


@pytest.fixture
def coupled(tmp_path):
    """Earpiece and microphone joined by a file: what the earpiece plays, the microphone hears."""
    ear = tmp_path / "earpiece.wav"
    return FileCoupling(lambda: FileHandset(None, ear), lambda: FileHandset(ear, None))


def wired_pins(board: str = "pi4") -> MockFactory:
    """A MockFactory for one simulated unit, its relay contact wired to the feedback input."""
    pins = MockFactory()
    wire_relay_feedback(pins, load_profile(board))
    return pins


class Pair:
    """Two provisioned units on loopback UDP, the daemon's own Unit on wired mock pins; A is under test."""

    def __init__(self, root):
        self.a_sim, self.b_sim = provision_pair(root)
        self.a = load_unit(self.a_sim.config_path, pin_factory=wired_pins())
        self.b = load_unit(self.b_sim.config_path, pin_factory=wired_pins())

    def reload_a(self) -> None:
        """Load A again from its (edited) config file."""
        self.a = load_unit(self.a_sim.config_path, pin_factory=wired_pins())

    async def start(self, wait: bool = True) -> None:
        up = asyncio.Event()
        self.a.listeners.append(lambda e: isinstance(e, PeerReachable) and up.set())
        await self.b.start(self.b_sim.sock, control=False)
        await self.a.start(self.a_sim.sock, control=False)
        if wait:
            await asyncio.wait_for(up.wait(), 5)

    async def close(self) -> None:
        await self.a.close()
        await self.b.close()


@pytest.fixture
async def pair(tmp_path):
    p = Pair(tmp_path / "pair")
    yield p
    await p.close()
