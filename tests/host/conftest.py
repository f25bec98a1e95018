import pytest

from tests.provisioning.harness import FakeClock, SimUnit


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_unit(tmp_path, clock):
    units = []

    def make(unit_id="A", listen="192.0.2.10:4870", **kwargs):
        unit = SimUnit(tmp_path / unit_id, unit_id, listen, clock, **kwargs)
        units.append(unit)
        return unit

    yield make
    for unit in units:
        unit.close()
