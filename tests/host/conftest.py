"""The simulated units of tests/provisioning, shared."""

from tests.provisioning.conftest import clock, make_unit  # noqa: F401
