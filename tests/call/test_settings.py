"""Call settings: defaults, bad values, and the [call] config section."""

from __future__ import annotations

import pytest

from terminal.call.settings import CONFIG_SECTION, CallSettings
from terminal.config import validate
from terminal.errors import ConfigError


@pytest.mark.parametrize("kwargs, error", [
    ({"country": "XX"}, "no ring cadence"),
    ({"ring_timeout": 0}, "ring_timeout must be positive"),
    ({"alert_after": 60.0, "ring_timeout": 30.0}, r"alert_after \(60.0\) must be less than ring_timeout \(30.0\)"),
    ({"retransmit_initial": 5.0}, "retransmit_initial must not exceed retransmit_max"),
])
def test_bad_settings(kwargs, error):
    with pytest.raises(ConfigError, match=error):
        CallSettings(**kwargs)


def test_config_section_validates_and_builds_settings(tmp_path):
    ns = validate({"call": {"country": "JP", "alert_after": 0, "ring_timeout": 90}}, "unit.toml", tmp_path,
                  {"call": CONFIG_SECTION})
    settings = CallSettings(**vars(ns.call))
    assert settings.country == "JP" and settings.alert_after is None and settings.ring_timeout == 90.0
    assert settings.realert_every == 300.0                       # defaults come from CallSettings
    with pytest.raises(ConfigError) as info:
        validate({"call": {"country": "XX", "ring_timeot": 5}}, "unit.toml", tmp_path, {"call": CONFIG_SECTION})
    assert "unit.toml: [call] country: no ring cadence for country 'XX'" in str(info.value)
    assert "unknown key 'ring_timeot'. Did you mean 'ring_timeout'?" in str(info.value)
