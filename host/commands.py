"""What the technician can do with a connected unit: plain functions over a Device."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Callable

from terminal.errors import HotlineError
from terminal.keys import decode_key
from terminal.provisioning.bundle import PeerBundle, verify_bundle
from terminal.provisioning.constants import JOURNAL_CHUNK
from terminal.provisioning.status import Command

from host.device import Device


class HostError(HotlineError, ValueError):
    """A problem on the laptop's side: a file, an argument."""


def info(device: Device) -> dict:
    return device.request(Command.HELLO)


def enrol(device: Device) -> dict:
    return device.request(Command.ENROL)


def export(device: Device, endpoints: list[str] | None = None) -> dict:
    """The unit's signed identity bundle, checked here before anyone carries it away."""
    result = device.request(Command.EXPORT, {"endpoints": endpoints} if endpoints else {})
    verify_bundle(result["bundle"])
    return result


def read_bundle(path: Path) -> tuple[dict, PeerBundle]:
    try:
        doc = json.loads(Path(path).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HostError(f"{path}: cannot read the identity bundle: {exc}") from None
    return doc, verify_bundle(doc, f"{path}")


def read_psk(path: Path) -> str:
    """A pre-shared key file: the base64 of 32 bytes (e.g. `head -c32 /dev/urandom | base64`)."""
    try:
        text = Path(path).read_text("ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise HostError(f"{path}: cannot read the pre-shared key: {exc}") from None
    decode_key(text, f"{path}: pre-shared key")
    return text.strip()


def pair(device: Device, bundle_doc: dict, psk: str | None = None, endpoints: list[str] | None = None) -> dict:
    """Install the far unit's bundle (and PSK) on this unit. Needs the unit's button."""
    verify_bundle(bundle_doc)
    args = {"bundle": bundle_doc}
    if psk:
        args["psk"] = psk
    if endpoints:
        args["endpoints"] = endpoints
    return device.request(Command.INSTALL_PEER, args)


def set_config(device: Device, values: dict) -> dict:
    return device.request(Command.SET_CONFIG, {"values": values})


def selftest(device: Device, on_result: Callable[[dict], None] | None = None) -> dict:
    return device.request(Command.SELFTEST, on_progress=on_result)


def zeroize(device: Device) -> dict:
    return device.request(Command.ZEROIZE)


def journal_pull(
    device: Device,
    out: Path,
    *,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Copy a consistent snapshot of the unit's journal to `out`, chunk by chunk.

    The download goes to `out`.part; with `resume`, an existing .part of the
    same snapshot (same SHA-256) continues where it stopped. The whole file is
    checked against the unit's SHA-256 before it is renamed to `out`.
    """
    out = Path(out)
    part = out.with_name(out.name + ".part")
    meta = out.with_name(out.name + ".part.sha256")
    snapshot = device.request(Command.JOURNAL_SNAPSHOT, {"fresh": not resume})
    size, sha256 = snapshot["size"], snapshot["sha256"]
    offset = 0
    if resume and part.exists() and meta.exists() and meta.read_text().strip() == sha256:
        offset = min(part.stat().st_size, size)
    else:
        part.write_bytes(b"")
        meta.write_text(sha256 + "\n")
    started = time.monotonic()
    first = offset
    with part.open("r+b") as f:
        f.truncate(offset)
        f.seek(offset)
        while offset < size:
            chunk = base64.b64decode(
                device.request(Command.JOURNAL_READ, {"offset": offset, "length": JOURNAL_CHUNK})["data"]
            )
            if not chunk:
                raise HostError(f"the unit's snapshot ended at {offset} of {size} bytes")
            f.write(chunk)
            offset += len(chunk)
            if progress:
                progress(offset, size)
    digest = hashlib.sha256(part.read_bytes()).hexdigest()
    if digest != sha256:
        part.unlink()
        meta.unlink()
        raise HostError(f"journal download is corrupt (SHA-256 {digest[:16]}…, unit says {sha256[:16]}…); pull again")
    part.replace(out)
    meta.unlink()
    seconds = max(time.monotonic() - started, 1e-9)
    return {"path": str(out), "size": size, "sha256": sha256, "seconds": seconds, "rate": (size - first) / seconds}
