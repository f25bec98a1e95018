import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.journal.helpers import FakeClock


@pytest.fixture
def key():
    """The unit's Ed25519 signing key."""
    return Ed25519PrivateKey.generate()


@pytest.fixture
def clock():
    return FakeClock()
