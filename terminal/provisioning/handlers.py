"""The command set, run on the unit over its config, key and journal files.

`Provisioner.handle(item, now)` takes one item from `framing.Decoder.feed`
(a message or a FrameError) and the clock value, and yields the responses to
send: one final response, after PROGRESS responses for a streamed command.
Nothing here reads the clock or the port; `now` is compared with the
provisioning button's last press for key- and peer-changing commands, and
`wall_clock` (injected) names the archive of a journal signed by old keys.
`on_change(change, detail)` is called after each change is on disk (the
daemon journals it as a "provisioning" record).
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Callable, Generator
from pathlib import Path

from terminal import __version__
from terminal.config import parse_host_port
from terminal.errors import ConfigError, KeyFileError
from terminal.keys import (PRIVATE_KEYS_FILE, KeyGenerationFailed, LegacyKeyFile, add_post_quantum_keys, decode_key,
                           encode_key, fingerprint, fsync_dir, generate_keys, load_keys)
from terminal.provisioning import args as A
from terminal.provisioning.bundle import BundleError, make_bundle, verify_bundle
from terminal.journal.store import JOURNAL_FILE
from terminal.provisioning.constants import JOURNAL_CHUNK, JOURNAL_SNAPSHOT_FILE, PROTOCOL_VERSION
from terminal.provisioning.errors import CommandFailed, ProtocolError
from terminal.provisioning.journal_export import describe_snapshot, read_chunk, take_snapshot
from terminal.provisioning.messages import Request, Response
from terminal.provisioning.presence import Presence
from terminal.provisioning.rotation import archive_foreign_journal
from terminal.provisioning.selftest_hook import SelfTestRunner, check_result, selftest_unavailable
from terminal.provisioning.status import Command, Status
from terminal.provisioning.zeroize import mark_pending
from terminal.provisioning.unitconfig import read_config, write_config

log = logging.getLogger(__name__)

# [section] names set-config may not touch: the peer changes only through pairing.
_PAIR_ONLY = {"peer"}
# Sections whose change needs the button: [unit] holds key_dir.
_PRESENCE_SECTIONS = {"unit"}


class Provisioner:
    def __init__(
        self,
        config_path: Path | str,
        presence: Presence,
        *,
        selftest: SelfTestRunner = selftest_unavailable,
        firmware: str = __version__,
        on_change: Callable[[str, str], None] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ):
        self.config_path = Path(config_path)
        self.presence = presence
        self.selftest_runner = selftest
        self.firmware = firmware
        self.on_change = on_change
        self.wall_clock = wall_clock
        self._handlers = {
            Command.HELLO: self._hello,
            Command.ENROL: self._enrol,
            Command.EXPORT: self._export,
            Command.INSTALL_PEER: self._install_peer,
            Command.SET_CONFIG: self._set_config,
            Command.SELFTEST: self._selftest,
            Command.JOURNAL_SNAPSHOT: self._journal_snapshot,
            Command.JOURNAL_READ: self._journal_read,
            Command.ZEROIZE: self._zeroize,
        }

    # -- dispatch ---------------------------------------------------------

    def handle(self, item: bytes | ProtocolError, now: float) -> Generator[Response, None, None]:
        if isinstance(item, ProtocolError):
            log.info("dropped a frame: %s", item)
            yield Response.error(item.request_id, item.status, str(item))
            return
        try:
            request = Request.parse(item)
        except ProtocolError as exc:
            log.info("refused a request: %s", exc)
            yield Response.error(exc.request_id, exc.status, str(exc))
            return
        try:
            result = self._handlers[request.command](request.args, now)
            if isinstance(result, Generator):
                result = yield from self._stream(request.id, result)
            yield Response(request.id, Status.OK, result)
        except CommandFailed as exc:
            yield Response.error(request.id, exc.status, exc.detail)
        except ConfigError as exc:
            yield Response.error(request.id, Status.BAD_CONFIG, str(exc))
        except BundleError as exc:
            yield Response.error(request.id, Status.BAD_SIGNATURE if exc.bad_signature else Status.BAD_ARGUMENT, str(exc))
        except Exception as exc:  # the service must answer and live on
            log.exception("command %s failed", request.command.name)
            yield Response.error(request.id, Status.INTERNAL, f"{request.command.name.lower()}: {type(exc).__name__}")

    @staticmethod
    def _stream(request_id: int, steps: Generator):
        while True:
            try:
                item = next(steps)
            except StopIteration as stop:
                return stop.value
            yield Response(request_id, Status.PROGRESS, item)

    # -- state ------------------------------------------------------------

    def _config(self):
        return read_config(self.config_path)

    @staticmethod
    def _key_file(config) -> Path:
        return config.unit.key_dir / PRIVATE_KEYS_FILE

    def _keys(self, config):
        if not self._key_file(config).exists():
            raise CommandFailed(Status.NOT_ENROLLED, f"no keys in {config.unit.key_dir}")
        try:
            return load_keys(config.unit.key_dir)
        except LegacyKeyFile as exc:
            raise CommandFailed(Status.NOT_ENROLLED, str(exc)) from None
        except KeyFileError as exc:
            raise CommandFailed(Status.INTERNAL, str(exc)) from None

    def _require_presence(self, now: float, action: str) -> None:
        if not self.presence.is_recent(now):
            raise CommandFailed(Status.NEEDS_PRESENCE, f"{action} changes the unit's keys or peer")

    def _changed(self, change: str, detail: str) -> str | None:
        """Tell the daemon; what it said it did, if it says."""
        log.warning("provisioning %s: %s", change, detail)
        if self.on_change:
            return self.on_change(change, detail)
        return None

    def _peer_summary(self, config) -> dict | None:
        peer = getattr(config, "peer", None)
        if peer is None:
            return None
        return {
            "unit_id": peer.id,
            "fingerprint": (fingerprint(peer.static_public, peer.signing_public, peer.mlkem_public, peer.mldsa_public)
                            if peer.mlkem_public is not None and peer.mldsa_public is not None else
                            "none: paired by firmware before the post-quantum keys; pair again"),
            "endpoints": [_join(host, port) for host, port in peer.endpoints],
            "psk": peer.psk is not None,
        }

    # -- commands ---------------------------------------------------------

    def _hello(self, args: dict, now: float) -> dict:
        A.only(args)
        _, config = self._config()
        enrolled = self._key_file(config).exists()
        peer = self._peer_summary(config)
        identity, legacy = None, False
        if enrolled:
            try:
                identity = self._keys(config).identity.as_dict()
            except CommandFailed as exc:
                if exc.status != Status.NOT_ENROLLED:
                    raise
                legacy = True        # keys from before ML-KEM-768 and ML-DSA-65: enrol adds them
        return {
            "protocol": PROTOCOL_VERSION,
            "firmware": self.firmware,
            "unit_id": config.unit.id,
            "state": "paired" if enrolled and peer else "enrolled" if enrolled else "blank",
            "identity": identity,
            "legacy_keys": legacy,
            "peer": peer,
            "button_pressed": self.presence.is_recent(now),
        }

    def _enrol(self, args: dict, now: float) -> dict:
        A.only(args)
        _, config = self._config()
        upgraded = False
        try:
            if not self._key_file(config).exists():
                self._require_presence(now, "enrol")
                keys, created = generate_keys(config.unit.key_dir), True
            else:
                try:
                    keys, created = load_keys(config.unit.key_dir), False
                except LegacyKeyFile:
                    # Firmware before the post-quantum keys: keep X25519 and Ed25519 (the peer pins one,
                    # the journal is signed by the other), add ML-KEM-768 and ML-DSA-65.
                    self._require_presence(now, "adding post-quantum keys")
                    keys, created, upgraded = add_post_quantum_keys(config.unit.key_dir), True, True
                except KeyFileError as exc:
                    raise CommandFailed(Status.INTERNAL, str(exc)) from None
        except KeyGenerationFailed as exc:
            raise CommandFailed(Status.INTERNAL, f"enrol: {exc}") from None
        # A journal signed by keys the unit no longer has fails the power-on self-test: move it aside.
        # Also when the keys were already here, to finish a rotation an earlier enrol left half done;
        # and before telling the daemon, whose reload opens the journal.
        try:
            archived = archive_foreign_journal(config.unit.data_dir, keys.identity.signing_public, self.wall_clock(),
                                               mldsa_public=keys.identity.mldsa_public)
        finally:
            if upgraded:
                self._changed("enrol", "post-quantum keys added (ML-KEM-768, ML-DSA-65) beside the X25519 and "
                                       f"Ed25519 keys, fingerprint {keys.identity.fingerprint}: pair both units again")
            elif created:
                self._changed("enrol", f"new keys, fingerprint {keys.identity.fingerprint}")
        if archived:
            self._changed("journal_archived", f"the journal signed by the old keys is now {archived}")
        return {"created": created, "upgraded": upgraded, "identity": keys.identity.as_dict(),
                "archived_journal": archived}

    def _export(self, args: dict, now: float) -> dict:
        A.only(args, "endpoints")
        _, config = self._config()
        keys = self._keys(config)
        endpoints = A.string_list(args, "endpoints")
        if endpoints is None:
            host, port = config.link.listen
            if host in ("0.0.0.0", "::", ""):
                raise CommandFailed(
                    Status.BAD_ARGUMENT,
                    f"[link] listen is {_join(host, port)}, which the far unit cannot dial; give the address it should use",
                )
            endpoints = [_join(host, port)]
        for endpoint in endpoints:
            try:
                parse_host_port(endpoint)
            except ValueError as exc:
                raise CommandFailed(Status.BAD_ARGUMENT, f"endpoint {endpoint!r}: {exc}") from None
        doc = make_bundle(keys, config.unit.id, endpoints, config.link.pairing_id)
        return {"bundle": doc, "fingerprint": keys.identity.fingerprint}

    def _install_peer(self, args: dict, now: float) -> dict:
        A.only(args, "bundle", "psk", "endpoints")
        raw, config = self._config()
        own = self._keys(config).identity
        self._require_presence(now, "pairing")
        peer = verify_bundle(A.get(args, "bundle", dict, what="an identity bundle (JSON object)"),
                             "the identity bundle (argument 'bundle')")
        if peer.static_public == own.static_public:
            raise CommandFailed(Status.BAD_ARGUMENT, "that bundle is this unit's own identity; install the far unit's")
        if peer.pairing_id is not None and peer.pairing_id != config.link.pairing_id:
            raise CommandFailed(
                Status.BAD_ARGUMENT,
                f"pairing ids differ: this unit has {config.link.pairing_id!r}, the bundle {peer.pairing_id!r}; "
                "set the same [link] pairing_id on both units",
            )
        psk = A.get(args, "psk", str, None, "the base64 of a 32-byte key")
        if psk is not None:
            _check_psk(psk)
        section = {
            "id": peer.unit_id,
            "static_public": encode_key(peer.static_public),
            "signing_public": encode_key(peer.signing_public),
            "mlkem_public": encode_key(peer.mlkem_public),
            "mldsa_public": encode_key(peer.mldsa_public),
            "endpoints": A.string_list(args, "endpoints") or list(peer.endpoints),
        }
        if psk is not None:
            section["psk"] = psk
        new_config = write_config(self.config_path, {**raw, "peer": section})
        self._changed("pair", f"peer {peer.unit_id}, fingerprint {peer.fingerprint}" + (", with pre-shared key" if psk else ""))
        return {"peer": self._peer_summary(new_config)}

    def _set_config(self, args: dict, now: float) -> dict:
        A.only(args, "values")
        values = A.get(args, "values", dict, what="an object of 'section.key': value")
        raw, _ = self._config()
        raw = {section: dict(table) if isinstance(table, dict) else table for section, table in raw.items()}
        for name, value in values.items():
            section, dot, key = name.partition(".")
            if not dot or not key:
                raise CommandFailed(Status.BAD_ARGUMENT, f"{name!r}: expected 'section.key', like 'link.listen'")
            if section in _PAIR_ONLY:
                raise CommandFailed(Status.BAD_ARGUMENT, f"{name!r}: the [peer] section changes only by pairing")
            if section in _PRESENCE_SECTIONS:
                self._require_presence(now, f"setting {name}")
            table = raw.setdefault(section, {})
            if not isinstance(table, dict):
                raise CommandFailed(Status.BAD_ARGUMENT, f"{name!r}: '{section}' in the config is not a [section]")
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
        write_config(self.config_path, raw)
        self._changed("set_config", ", ".join(sorted(values)))
        return {"changed": sorted(values)}

    def _selftest(self, args: dict, now: float):
        A.only(args)
        passed = failed = 0
        for result in self.selftest_runner():
            checked = check_result(result)
            passed += checked["ok"]
            failed += not checked["ok"]
            yield checked
        return {"passed": passed, "failed": failed, "ok": failed == 0}

    def _snapshot_path(self, config) -> Path:
        return config.unit.data_dir / JOURNAL_SNAPSHOT_FILE

    def _journal_snapshot(self, args: dict, now: float) -> dict:
        A.only(args, "fresh")
        _, config = self._config()
        snapshot = self._snapshot_path(config)
        if A.get(args, "fresh", bool, True) or not snapshot.exists():
            return take_snapshot(config.unit.data_dir / JOURNAL_FILE, snapshot)
        return describe_snapshot(snapshot)

    def _journal_read(self, args: dict, now: float) -> dict:
        A.only(args, "offset", "length")
        offset = A.get(args, "offset", int)
        length = A.get(args, "length", int, JOURNAL_CHUNK)
        if offset < 0 or not 0 < length <= JOURNAL_CHUNK:
            raise CommandFailed(Status.BAD_ARGUMENT, f"need offset >= 0 and 0 < length <= {JOURNAL_CHUNK}")
        _, config = self._config()
        data = read_chunk(self._snapshot_path(config), offset, length)
        return {"offset": offset, "data": base64.b64encode(data).decode("ascii")}

    def _zeroize(self, args: dict, now: float) -> dict:
        A.only(args)
        raw, config = self._config()
        self._require_presence(now, "zeroize")
        mark_pending(config.unit.key_dir)        # the daemon destroys the plaintext, now or when it next starts
        _destroy(self._key_file(config))
        raw.pop("peer", None)
        write_config(self.config_path, raw)
        self._snapshot_path(config).unlink(missing_ok=True)
        daemon = self._changed("zeroize", "keys destroyed and peer removed")
        return {"zeroized": True, "daemon": daemon}


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_psk(psk: str) -> None:
    try:
        decode_key(psk, "the pre-shared key")
    except KeyFileError as exc:
        raise CommandFailed(Status.BAD_ARGUMENT, str(exc)) from None


def _destroy(path: Path) -> None:
    """Overwrite the key file with zeros, then unlink it; durable once this returns."""
    if not path.exists():
        return
    with path.open("r+b") as f:
        f.write(bytes(path.stat().st_size))
        f.flush()
        os.fsync(f.fileno())
    path.unlink()
    fsync_dir(path.parent)
