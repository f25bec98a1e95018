"""Config validation: every error at once, each naming file, key and expectation."""

import pytest

from terminal import config
from terminal.errors import ConfigError

KEY = "zZA5Mbv03+XzxHHtbnY485pezsVoqsAvR1cDuSEPtVg="
GOOD = f"""
[unit]
id = "alpha"
key_dir = "keys"
data_dir = "/var/lib/hotline"
[link]
listen = "0.0.0.0:4870"
pairing_id = "moscow-washington"
[peer]
id = "bravo"
static_public = "{KEY}"
signing_public = "{KEY}"
endpoints = ["198.51.100.7:4870", "[2001:db8::7]:4870"]
psk = "{KEY}"
"""


def write(tmp_path, text):
    path = tmp_path / "hotline.toml"
    path.write_text(text)
    return path


def test_good_config_loads_with_types_and_defaults(tmp_path):
    cfg = config.load(write(tmp_path, GOOD))
    assert cfg.unit.key_dir == tmp_path.resolve() / "keys"       # relative to the file
    assert str(cfg.unit.data_dir) == "/var/lib/hotline"
    assert cfg.link.listen == ("0.0.0.0", 4870)
    assert cfg.link.unreachable_after == 15.0
    assert cfg.peer.endpoints == [("198.51.100.7", 4870), ("2001:db8::7", 4870)]
    assert len(cfg.peer.static_public) == 32
    assert config.redacted(cfg)["peer"]["psk"] == "********"


def test_every_error_is_reported_at_once(tmp_path):
    bad = (GOOD.replace('listen = "0.0.0.0:4870"', 'listn = "0.0.0.0:4870"')
               .replace('id = "alpha"', 'id = "no spaces allowed"')
               .replace('["198.51.100.7:4870", "[2001:db8::7]:4870"]', '["198.51.100.7"]')
               .replace(f'psk = "{KEY}"', 'psk = "short"')
           + "[ringer]\nx = 1\n")
    path = write(tmp_path, bad)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    lines = str(err.value).splitlines()
    assert all(line.startswith(str(path)) for line in lines)
    text = str(err.value)
    assert "[link] unknown key 'listn'. Did you mean 'listen'?" in text
    assert "[link] listen: missing; a value is required" in text
    assert "[unit] id: expected 1-32 letters" in text
    assert "[peer] endpoints: expected host:port like 192.0.2.10:4870, got '198.51.100.7'" in text
    assert "[peer] psk: expected the base64 of a 32-byte key" in text
    assert "unknown section [ringer]" in text
    assert len(lines) == 6


@pytest.mark.parametrize("value, message", [
    ("unreachable_after = 0.1", "expected a number from 1.0 to 600.0, got 0.1"),
    ("unreachable_after = true", "expected a number from 1.0 to 600.0, got True"),
    ('unreachable_after = "15"', "expected a number"),
])
def test_typed_numbers(tmp_path, value, message):
    path = write(tmp_path, GOOD.replace('pairing_id = "moscow-washington"', f'pairing_id = "p"\n{value}'))
    with pytest.raises(ConfigError, match=message):
        config.load(path)


def test_unreadable_and_invalid_toml_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        config.load(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match=r"hotline.toml: not valid TOML"):
        config.load(write(tmp_path, "[unit\n"))
