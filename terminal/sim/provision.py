"""Make a simulated pair: keys, configs and pre-bound loopback UDP sockets for units A and B."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path

from terminal.keys import encode_key, generate_keys

LOOPBACK = "127.0.0.1"


@dataclass
class SimUnit:
    name: str
    config_path: Path
    sock: socket.socket


def _toml_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))   # a TOML basic string for ASCII text


def write_config(path: Path, sections: dict[str, dict]) -> None:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items() if value is not None]
        lines.append("")
    path.write_text("\n".join(lines))


def provision_pair(out_dir: Path, *, unreachable_after: float = 15.0, psk: bytes | None = None,
                   extra: dict[str, dict] | None = None,
                   endpoints: dict[str, list[tuple[str, int]]] | None = None) -> tuple[SimUnit, SimUnit]:
    """Two units that pin each other's keys, each with a bound UDP socket on loopback.

    `endpoints` overrides where a unit sends to reach its peer: one address per path (an
    impairment relay each).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    names = ("A", "B")
    socks = {}
    for name in names:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((LOOPBACK, 0))
        socks[name] = sock
    identities = {}
    for name in names:
        unit_dir = out_dir / name
        identities[name] = generate_keys(unit_dir / "keys", overwrite=True).identity
    units = []
    for name, peer in zip(names, reversed(names)):
        unit_dir = out_dir / name
        (unit_dir / "data").mkdir(exist_ok=True)
        sections = {
            "unit": {"id": name, "key_dir": "keys", "data_dir": "data"},
            "link": {
                "listen": f"{LOOPBACK}:{socks[name].getsockname()[1]}",
                "pairing_id": "sim-pair",
                "unreachable_after": unreachable_after,
            },
            "peer": {
                "id": peer,
                "static_public": encode_key(identities[peer].static_public),
                "signing_public": encode_key(identities[peer].signing_public),
                "mlkem_public": encode_key(identities[peer].mlkem_public),
                "mldsa_public": encode_key(identities[peer].mldsa_public),
                "endpoints": ["%s:%d" % tuple(ep) for ep in
                              ((endpoints or {}).get(name) or [socks[peer].getsockname()])],
                "psk": encode_key(psk) if psk else None,
            },
            "control": {"socket": "control.sock"},
            "hardware": {"board": "pi4", "pin_factory": "mock"},
        }
        for section, values in (extra or {}).items():
            sections.setdefault(section, {}).update(values)
        config_path = unit_dir / "hotline.toml"
        write_config(config_path, sections)
        config_path.chmod(0o600)
        units.append(SimUnit(name, config_path, socks[name]))
    return units[0], units[1]
