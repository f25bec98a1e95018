"""hotline-host: the technician's tool for a hotline unit on a USB cable.

A thin layer over host.commands: parse arguments, open the port, call one
function, print the result for a person (or as JSON with --json). One
top-level handler turns every error into a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from contextlib import contextmanager
from pathlib import Path

import serial

from host import commands
from host.device import Device, open_port
from host.listing import list_units
from host.output import hexdump, read_aloud
from host.udev_rule import UDEV_DIR, install_udev
from terminal.errors import HotlineError
from terminal.provisioning.constants import RESPONSE_TIMEOUT

SERIAL_HINT = (
    "check the USB cable (a data cable, not charge-only) and that the unit is powered; that you may open the port "
    "(be in the dialout or plugdev group: `sudo usermod -aG dialout $USER` and log in again, or run "
    "`sudo hotline-host install-udev`); and that the cdc_acm driver is loaded (`lsmod | grep cdc_acm`)"
)


def _print(options, data: dict, text: str) -> None:
    print(json.dumps(data, indent=1, sort_keys=True) if options.json else text)


@contextmanager
def _connect(options, device: Device | None):
    if device is not None:
        yield device
        return
    port = options.port or _only_unit()
    trace = hexdump if options.trace else None
    dev = Device(open_port(port), trace=trace, timeout=options.timeout)
    try:
        yield dev
    finally:
        dev.close()


def _only_unit() -> str:
    units = list_units()
    if not units:
        raise commands.HostError("no hotline unit found: check the cable and `hotline-host list`, or give --port")
    if len(units) > 1:
        found = ", ".join(u["port"] for u in units)
        raise commands.HostError(f"{len(units)} hotline units found ({found}); choose one with --port")
    return units[0]["port"]


def _identity_text(identity: dict | None) -> str:
    if not identity:
        return "  no keys (run `hotline-host enrol`)"
    return "  fingerprint (read it aloud to the far side):\n    " + read_aloud(identity["fingerprint"]).replace("\n", "\n    ")


# -- subcommands -------------------------------------------------------------

def cmd_list(options, device) -> int:
    units = list_units()
    lines = [f"{u['port']}  serial {u['serial'] or '?'}  {' '.join(u['links'])}".rstrip() for u in units]
    _print(options, {"units": units}, "\n".join(lines) or "no hotline units found (is the cable plugged in?)")
    return 0


def cmd_info(options, device) -> int:
    with _connect(options, device) as dev:
        result = commands.info(dev)
    peer = result["peer"]
    text = (
        f"unit {result['unit_id']}  firmware {result['firmware']}  protocol {result['protocol']}  state {result['state']}\n"
        + ("  keys from firmware before the post-quantum keys: press the button and run `hotline-host enrol` "
           "to add ML-KEM-768 and ML-DSA-65" if result.get("legacy_keys") else _identity_text(result["identity"]))
        + (f"\n  peer {peer['unit_id']} at {', '.join(peer['endpoints'])}  fingerprint {peer['fingerprint']}"
           f"{'  (with pre-shared key)' if peer['psk'] else ''}" if peer else "\n  no peer installed")
        + ("\n  provisioning button: pressed within the last minute" if result["button_pressed"] else "")
    )
    _print(options, result, text)
    return 0


def cmd_enrol(options, device) -> int:
    with _connect(options, device) as dev:
        result = commands.enrol(dev)
    head = ("post-quantum keys (ML-KEM-768, ML-DSA-65) added beside the unit's X25519 and Ed25519 keys; the "
            "fingerprint changed: export the bundle and pair both units again" if result.get("upgraded") else
            "new keys generated on the unit" if result["created"] else "the unit already has keys; kept them")
    if result.get("archived_journal"):
        head += f"\nthe journal signed by the old keys was archived on the unit as {result['archived_journal']}"
    _print(options, result, head + "\n" + _identity_text(result["identity"]))
    return 0


def cmd_export(options, device) -> int:
    with _connect(options, device) as dev:
        result = commands.export(dev, options.endpoint)
    text = json.dumps(result["bundle"], indent=1, sort_keys=True) + "\n"
    if options.out:
        Path(options.out).write_text(text, "utf-8")
        _print(options, result, f"identity bundle written to {options.out}\n" + _identity_text(result))
    else:
        sys.stdout.write(text)
        print(_identity_text({"fingerprint": result["fingerprint"]}), file=sys.stderr)
    return 0


def confirm_fingerprint(unit_id: str, fingerprint: str) -> None:
    """The technician reads the fingerprint aloud with the far side, then types y or its last group.
    Anything else (or no answer) installs nothing."""
    print(f"peer {unit_id}: read this fingerprint aloud with the far side's technician:\n    "
          + read_aloud(fingerprint).replace("\n", "\n    "), file=sys.stderr)
    try:
        answer = input("Does it match theirs? Type y, or its last group, to install this peer: ").strip()
    except EOFError:
        answer = ""
    if answer.lower() not in ("y", "yes", fingerprint.split()[-1]):
        raise commands.HostError(f"fingerprint not confirmed ({answer!r}); nothing installed "
                                 "(compare it by phone, or give --yes once you have)")


def cmd_pair(options, device) -> int:
    doc, peer = commands.read_bundle(options.peer)
    psk = commands.read_psk(options.psk_file) if options.psk_file else None
    if not options.yes:
        confirm_fingerprint(peer.unit_id, peer.fingerprint)
    with _connect(options, device) as dev:
        result = commands.pair(dev, doc, psk, options.endpoint)
    installed = result["peer"]
    _print(options, result, f"paired with {installed['unit_id']} at {', '.join(installed['endpoints'])}"
           + ("; pre-shared key installed" if installed["psk"] else ""))
    return 0


def cmd_config_set(options, device) -> int:
    values = {}
    for item in options.assignments:
        name, eq, text = item.partition("=")
        if not eq:
            raise commands.HostError(f"{item!r}: expected section.key=value, like link.listen=0.0.0.0:4870")
        try:
            values[name] = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            values[name] = text  # a bare word is a string
    with _connect(options, device) as dev:
        result = commands.set_config(dev, values)
    _print(options, result, "set " + ", ".join(result["changed"]))
    return 0


def cmd_selftest(options, device) -> int:
    def show(check: dict) -> None:
        if options.json:
            print(json.dumps(check, sort_keys=True))
        else:
            print(f"  {'PASS' if check['ok'] else 'FAIL'}  {check['check']}  {check['detail']}")

    with _connect(options, device) as dev:
        result = commands.selftest(dev, show)
    _print(options, result, f"self-test {'passed' if result['ok'] else 'FAILED'}: "
           f"{result['passed']} passed, {result['failed']} failed")
    return 0 if result["ok"] else 1


def cmd_journal_pull(options, device) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn, TimeRemainingColumn

    with _connect(options, device) as dev:
        if options.no_progress or options.json:
            result = commands.journal_pull(dev, options.out, resume=options.resume)
        else:
            columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                       TransferSpeedColumn(), TimeRemainingColumn())
            with Progress(*columns, transient=False) as bar:
                task = bar.add_task("journal", total=None)
                result = commands.journal_pull(
                    dev, options.out, resume=options.resume,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
    _print(options, result, f"journal: {result['size']} bytes to {result['path']} "
           f"in {result['seconds']:.1f} s ({result['rate'] / 1024:.1f} KiB/s), sha256 {result['sha256']}")
    return 0


def cmd_journal_verify(options, device) -> int:
    try:
        from terminal.journal.audit import audit_file, key_from_bundle, key_from_text
    except ImportError:
        raise commands.HostError("journal verify is not available in this build (terminal.journal is missing)") from None
    if options.bundle:
        expected = key_from_bundle(options.bundle)
    elif options.public_key:
        expected = key_from_text(options.public_key)
    else:
        raise commands.HostError("give the unit's signing key: --bundle its identity bundle, or --public-key KEY")
    result = audit_file(options.file, expected, witness=options.witness)
    _print(options, result.as_dict(), result.describe())
    return result.exit_code


def cmd_report(options, device) -> int:
    try:
        from host.report import build_report
        from terminal.journal.audit import key_from_bundle
    except ImportError:
        raise commands.HostError("report is not available in this build (host.report is missing)") from None
    keys = None
    if options.bundle:
        if len(options.bundle) != len(options.file):
            raise commands.HostError(f"{len(options.file)} journal(s) but {len(options.bundle)} --bundle: give one per journal, in order")
        keys = [key_from_bundle(path) for path in options.bundle]   # the spoken fingerprint names each key
    summary = build_report(options.file, options.out, keys)
    failing = [f"{u['unit']}: {u['verification']['status']}" for u in summary["units"]
               if not u["verification"]["ok"]]
    _print(options, summary, f"report written to {options.out}"
           + (f"; NOT INTACT: {', '.join(failing)}" if failing else ""))
    return 1 if failing else 0          # as `journal verify`: 0 only when every journal is intact


def cmd_zeroize(options, device) -> int:
    if not options.yes:
        raise commands.HostError("zeroize destroys the unit's keys and unpairs it; repeat with --yes to confirm")
    with _connect(options, device) as dev:
        result = commands.zeroize(dev)
    daemon = result.get("daemon") or "the daemon was not reachable: it finds no keys when it next starts"
    _print(options, result, "keys destroyed and peer removed; the journal is kept; "
           f"{daemon}; the unit must be enrolled and paired again")
    return 0


def cmd_install_udev(options, device) -> int:
    try:
        target = install_udev(Path(options.dest))
    except PermissionError:
        raise commands.HostError(f"cannot write to {options.dest}: run `sudo hotline-host install-udev`") from None
    print(f"udev rule written to {target}; unplug and replug the unit")
    return 0


# -- parser and the one error handler -----------------------------------------

def _common(top: bool) -> argparse.ArgumentParser:
    """Options taken before or after the subcommand; after it they only override."""
    def default(value):
        return value if top else argparse.SUPPRESS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--port", default=default(None),
                        help="the unit's serial port, e.g. /dev/hotline-A1 (default: the only unit plugged in)")
    common.add_argument("--trace", action="store_true", default=default(False), help="hex dump every byte on the line to stderr")
    common.add_argument("--json", action="store_true", default=default(False), help="print results as JSON for scripts")
    common.add_argument("--timeout", type=float, default=default(RESPONSE_TIMEOUT), help="seconds to wait for each answer")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common(top=False)
    parser = argparse.ArgumentParser(prog="hotline-host", description="Provision, pair, test and audit a hotline unit over USB.",
                                     parents=[_common(top=True)])
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, func, help):
        p = sub.add_parser(name, help=help, parents=[common])
        p.set_defaults(func=func)
        return p

    add("list", cmd_list, "list hotline units plugged into this computer")
    add("info", cmd_info, "show the unit's id, state, fingerprint and peer")
    add("enrol", cmd_enrol, "generate the unit's keys on the unit (needs the button)")
    p = add("export", cmd_export, "write the unit's signed identity bundle for the far side")
    p.add_argument("--out", "-o", help="file to write (default: standard output)")
    p.add_argument("--endpoint", action="append", help="address the far unit should dial, host:port (repeatable)")
    p = add("pair", cmd_pair, "install the far unit's identity bundle (needs the button)")
    p.add_argument("--peer", required=True, type=Path, help="the far unit's identity bundle (from its `export`)")
    p.add_argument("--psk-file", type=Path, help="optional pre-shared key file (base64 of 32 bytes), same on both units")
    p.add_argument("--endpoint", action="append", help="override the peer's addresses, host:port (repeatable)")
    p.add_argument("--yes", action="store_true",
                   help="the fingerprint is already confirmed with the far side: do not ask")
    config = sub.add_parser("config", help="change the unit's configuration").add_subparsers(dest="config_command", required=True)
    p = config.add_parser("set", help="set section.key=value (TOML value; [unit] needs the button)", parents=[common])
    p.add_argument("assignments", nargs="+", metavar="section.key=value")
    p.set_defaults(func=cmd_config_set)
    add("selftest", cmd_selftest, "run the unit's self-test and show each result")
    journal = sub.add_parser("journal", help="pull or verify the unit's journal").add_subparsers(dest="journal_command", required=True)
    p = journal.add_parser("pull", help="copy a consistent snapshot of the journal", parents=[common])
    p.add_argument("--out", "-o", type=Path, default=Path("journal.sqlite"), help="file to write (default journal.sqlite)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted pull of the same snapshot")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_journal_pull)
    p = journal.add_parser("verify", help="check a pulled journal's hash chain and signatures", parents=[common])
    p.add_argument("file", type=Path, help="a pulled journal (SQLite) or JSON export")
    p.add_argument("--bundle", type=Path, help="the unit's identity bundle (its signing key is trusted)")
    p.add_argument("--public-key", help="the unit's Ed25519 public key (base64, hex or a file); an identity JSON "
                                        "file gives its ML-DSA-65 key too (a bare Ed25519 key gives ED25519 ONLY)")
    p.add_argument("--witness", type=Path, metavar="PEER_JOURNAL",
                   help="the peer unit's pulled journal: check this one against the checkpoints it witnessed")
    p.set_defaults(func=cmd_journal_verify)
    p = add("report", cmd_report, "build an HTML report from pulled journals (one or both units)")
    p.add_argument("file", type=Path, nargs="+", help="pulled journals (SQLite) or JSON exports")
    p.add_argument("--bundle", type=Path, action="append",
                   help="each journal's unit identity bundle, in the same order: verify against its signing key")
    p.add_argument("--out", "-o", type=Path, default=Path("report.html"), help="where to write the report")
    p = add("zeroize", cmd_zeroize, "destroy the unit's keys and peer (needs the button)")
    p.add_argument("--yes", action="store_true", help="confirm")
    p = add("install-udev", cmd_install_udev, "install the udev rule so units appear as /dev/hotline-<serial>")
    p.add_argument("--dest", default=str(UDEV_DIR), help=f"rules directory (default {UDEV_DIR})")
    return parser


def main(argv=None, device: Device | None = None) -> int:
    options = build_parser().parse_args(argv)
    try:
        return options.func(options, device)
    except serial.SerialException as exc:
        print(f"hotline-host: serial port error: {exc} -- {SERIAL_HINT}", file=sys.stderr)
    except (HotlineError, OSError) as exc:
        print(f"hotline-host: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("hotline-host: interrupted", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
