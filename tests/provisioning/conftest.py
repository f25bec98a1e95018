import pytest

from terminal.provisioning.handlers import Provisioner
from terminal.provisioning.presence import Presence
from tests.provisioning.harness import PAIRING_ID, FakeClock, SimUnit


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def unit(tmp_path):
    """A Provisioner over unit A's files in tmp_path (config, keys/, data/), driven directly."""
    (tmp_path / "data").mkdir()
    config = tmp_path / "hotline.toml"
    config.write_text(
        '[unit]\nid = "A"\nkey_dir = "keys"\ndata_dir = "data"\n\n'
        f'[link]\nlisten = "192.0.2.10:4870"\npairing_id = "{PAIRING_ID}"\n'
    )
    return Provisioner(config, Presence())


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
