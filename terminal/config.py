"""The unit's TOML configuration, validated against a typed schema (mopidy style).

Every error is collected before reporting; each names the file, the
`[section] key` and what was expected, and an unknown key gets a "did you
mean" from the known ones. Secrets are shown as ******** in any dump.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from terminal.errors import ConfigError, KeyFileError
from terminal.keys import MLDSA65_PUBLIC_LEN, MLKEM768_PUBLIC_LEN, decode_key

_MISSING = object()


@dataclass(frozen=True)
class Field:
    """One typed value: `parse(raw, base_dir)` returns the value or raises ValueError(expected)."""

    parse: Callable[[Any, Path], Any]
    default: Any = _MISSING
    secret: bool = False


def _string(pattern: str | None = None, hint: str = "") -> Callable[[Any, Path], str]:
    def parse(raw, _base):
        if not isinstance(raw, str):
            raise ValueError(f"expected a string{hint}")
        if pattern and not re.fullmatch(pattern, raw):
            raise ValueError(f"expected {hint.strip(' ,') or 'a string matching ' + pattern}, got {raw!r}")
        return raw
    return parse


def _number(kind: type, low: float, high: float) -> Callable[[Any, Path], Any]:
    name = "a whole number" if kind is int else "a number"

    def parse(raw, _base):
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or (kind is int and isinstance(raw, float)):
            raise ValueError(f"expected {name} from {low} to {high}, got {raw!r}")
        if not low <= raw <= high:
            raise ValueError(f"expected {name} from {low} to {high}, got {raw!r}")
        return kind(raw)
    return parse


def _boolean(raw, _base):
    if not isinstance(raw, bool):
        raise ValueError(f"expected true or false, got {raw!r}")
    return raw


def _path(raw, base: Path) -> Path:
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"expected a path, got {raw!r}")
    path = Path(raw)
    return path if path.is_absolute() else base / path


def parse_host_port(raw: Any) -> tuple[str, int]:
    """'192.0.2.1:4870' or '[2001:db8::1]:4870' -> (host, port)."""
    expected = f"expected host:port like 192.0.2.10:4870, got {raw!r}"
    if not isinstance(raw, str):
        raise ValueError(expected)
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^:\[\]]+):(\d{1,5})", raw)
    if not m:
        raise ValueError(expected)
    host, port = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    if not 0 <= int(port) <= 65535:
        raise ValueError(f"port {port} is out of range 0-65535")
    if m.group(1):
        ipaddress.IPv6Address(host)
    return host, int(port)


def _endpoint(raw, _base):
    return parse_host_port(raw)


def _loopback_endpoint(raw, _base):
    host, port = parse_host_port(raw)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"expected a loopback address like 127.0.0.1:9477 (metrics never face the network), got {raw!r}")
    return host, port


def _endpoints(raw, _base):
    if not isinstance(raw, list) or not raw:
        raise ValueError("expected a non-empty list of host:port strings")
    return [parse_host_port(item) for item in raw]


def _key32(raw, _base) -> bytes:
    if not isinstance(raw, str):
        raise ValueError("expected the base64 of a 32-byte key (44 characters ending in '=')")
    return decode_key(raw, "expected the base64 of a 32-byte key; this value")


def _public_key(length: int, name: str):
    def parse(raw, _base) -> bytes:
        if not isinstance(raw, str):
            raise ValueError(f"expected the base64 of the {length}-byte {name} public key")
        try:
            return decode_key(raw, f"expected the base64 of the {length}-byte {name} public key; this value", length)
        except KeyFileError as exc:
            raise ValueError(str(exc)) from None
    return parse



def _choice(*choices):
    def parse(raw, _base):
        if raw not in choices or isinstance(raw, bool):
            raise ValueError(f"expected one of {', '.join(map(str, choices))}, got {raw!r}")
        return raw
    return parse


def _optional(parse):
    def wrapped(raw, base):
        return None if raw == "" else parse(raw, base)
    return wrapped


# section -> key -> Field. Later layers add their sections here.
SCHEMA: dict[str, dict[str, Field]] = {
    "unit": {
        "id": Field(_string(r"[A-Za-z0-9_-]{1,32}", ", 1-32 letters, digits, '-' or '_'")),
        "key_dir": Field(_path),
        "data_dir": Field(_path),
    },
    "link": {
        "listen": Field(_endpoint),
        "pairing_id": Field(_string(r"[A-Za-z0-9_.-]{1,64}", ", 1-64 letters, digits, '.', '-' or '_'")),
        "unreachable_after": Field(_number(float, 1.0, 600.0), 15.0),
    },
    "peer": {
        "id": Field(_string(r"[A-Za-z0-9_-]{1,32}", ", 1-32 letters, digits, '-' or '_'")),
        "static_public": Field(_key32),
        "signing_public": Field(_key32),
        # Written by pairing with a format-2 bundle. Absent in a pairing made by firmware before the
        # post-quantum keys: the config still loads (so the technician can pair again over USB),
        # but the power-on self-test fails it (selftest/integrity.check_config).
        "mlkem_public": Field(_public_key(MLKEM768_PUBLIC_LEN, "ML-KEM-768"), None),
        "mldsa_public": Field(_public_key(MLDSA65_PUBLIC_LEN, "ML-DSA-65"), None),
        "endpoints": Field(_endpoints),
        "psk": Field(_optional(_key32), None, secret=True),
    },
    "hardware": {
        "board": Field(_string(r"[A-Za-z0-9_./-]{1,200}", ", a board name like 'pi4' or a profile path"), "pi4"),
        # "auto": gpiozero picks the board's; "mock": gpiozero's MockFactory (a machine without GPIO).
        "pin_factory": Field(_choice("auto", "mock"), "auto"),
    },
    "voice": {
        "frame_ms": Field(_choice(10, 20, 40), 20),
        "bitrate": Field(_number(int, 6000, 128000), 24000),
        "fec": Field(_boolean, True),
        "max_redundancy": Field(_number(int, 0, 3), 3),
    },
    "selftest": {
        # seconds between scheduled self-tests run by the daemon itself; 0 leaves it to the systemd timer
        "interval": Field(_number(float, 0.0, 86400.0), 3600.0),
    },
    "presence": {
        # the PIR sensor on the board's presence pin; false: none fitted (the far desk is told "no sensor")
        "sensor": Field(_boolean, True),
        # motion within this many seconds = the desk is staffed
        "staffed_window": Field(_number(float, 5.0, 86400.0), 600.0),
    },
    "metrics": {
        # Prometheus metrics over HTTP on this loopback address ("" = none); a scraper reaches it
        # through the unit's management tunnel, never from the open network
        "listen": Field(_optional(_loopback_endpoint), None),
    },
    "control": {
        "socket": Field(_path, Path("/run/hotline/control.sock")),
        "group": Field(_optional(_string(r"[a-z_][a-z0-9_-]{0,31}", ", a Unix group name")), None),
    },
}


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def full_schema() -> dict[str, dict[str, Field]]:
    """SCHEMA plus the sections that layers above this module define (imported here, not there, to avoid a cycle)."""
    from terminal.call.settings import CONFIG_SECTION as call_section

    return {**SCHEMA, "call": call_section}


# Sections a config may leave out altogether; the namespace then holds None. A unit not yet
# paired has no [peer]: it is "unprovisioned", not misconfigured.
OPTIONAL_SECTIONS = ("peer",)


def validate(data: dict, source: str, base_dir: Path, schema: dict[str, dict[str, Field]] | None = None) -> SimpleNamespace:
    """Check `data` against `schema`; return sections as namespaces or raise one ConfigError listing all errors."""
    schema = schema if schema is not None else full_schema()
    errors: list[str] = []
    result = SimpleNamespace()
    absent = [name for name in OPTIONAL_SECTIONS if name in schema and name not in data]
    schema = {name: fields for name, fields in schema.items() if name not in absent}
    for name in absent:
        setattr(result, name, None)
    for section in data:
        if section not in schema:
            errors.append(f"{source}: unknown section [{section}].{_suggest(section, schema)}")
    for section, fields in schema.items():
        raw_section = data.get(section, {})
        if not isinstance(raw_section, dict):
            errors.append(f"{source}: [{section}] must be a table")
            raw_section = {}
        values = {}
        for key in raw_section:
            if key not in fields:
                errors.append(f"{source}: [{section}] unknown key '{key}'.{_suggest(key, fields)}")
        for key, field in fields.items():
            if key not in raw_section:
                if field.default is _MISSING:
                    errors.append(f"{source}: [{section}] {key}: missing; a value is required")
                else:
                    values[key] = field.default
                continue
            try:
                values[key] = field.parse(raw_section[key], base_dir)
            except ValueError as exc:
                errors.append(f"{source}: [{section}] {key}: {exc}")
        setattr(result, section, SimpleNamespace(**values))
    if errors:
        raise ConfigError("\n".join(errors))
    return result


def load(path: Path | str, schema: dict[str, dict[str, Field]] | None = None) -> SimpleNamespace:
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return validate(data, str(path), path.parent.resolve(), schema)


def salvage(path: Path | str) -> SimpleNamespace:
    """From a config that does not load: its [hardware] and [control] keys that do parse, the
    defaults for the rest, so a unit whose config is broken can still light its fault LED and say
    why on its control socket."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        data = {}
    out = SimpleNamespace()
    for section in ("hardware", "control"):
        raw = data.get(section) if isinstance(data.get(section), dict) else {}
        values = {}
        for key, field in SCHEMA[section].items():
            try:
                values[key] = field.parse(raw[key], path.parent.resolve()) if key in raw else field.default
            except ValueError:
                values[key] = field.default
        setattr(out, section, SimpleNamespace(**values))
    return out


def redacted(config: SimpleNamespace, schema: dict[str, dict[str, Field]] | None = None) -> dict:
    """A printable dump with secrets shown as ********."""
    schema = schema if schema is not None else full_schema()
    out = {}
    for section, fields in schema.items():
        if getattr(config, section, None) is None:
            continue
        values = vars(getattr(config, section))
        out[section] = {
            key: ("********" if fields[key].secret and values[key] is not None else values[key])
            for key in fields
        }
    return out
