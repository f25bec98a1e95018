"""gpiozero's own MockFactory and a fake clock for the hardware tests."""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory


class FakeClock:
    def __init__(self, now: float = 0.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def factory():
    f = MockFactory()
    yield f
    f.reset()


@pytest.fixture
def clock():
    return FakeClock()
