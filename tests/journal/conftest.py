import pytest

from terminal.journal.signatures import SigningKeys
from tests.journal.helpers import FakeClock


@pytest.fixture
def key():
    """The unit's checkpoint signing keys: Ed25519 and ML-DSA-65."""
    return SigningKeys.generate()


@pytest.fixture
def clock():
    return FakeClock()
