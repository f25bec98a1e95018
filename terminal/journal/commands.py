"""`hotline journal verify|export`: argparse wiring over load, verify and export.

`register(subparsers)` adds the `journal` command; each handler is stored as
`func` and returns an exit code (0 intact, 1 any other verdict). Fatal errors
raise HotlineError subclasses for the CLI's top-level catch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from terminal.journal import export
from terminal.journal.audit import ExpectedKey, audit, key_from_bundle, key_from_text
from terminal.journal.load import load, load_sqlite


def register(subparsers) -> None:
    journal = subparsers.add_parser("journal", help="verify or export the ring/answer journal")
    sub = journal.add_subparsers(dest="journal_command", required=True, metavar="{verify,export}")

    v = sub.add_parser("verify", help="check the hash chain, the Ed25519 and ML-DSA-65 signatures and the "
                                      "peer's witness; exit 0 only if intact, 1 if not, 2 on unusable input")
    source = v.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", type=Path, help="the journal's SQLite file")
    source.add_argument("--export", type=Path, metavar="FILE", help="a JSON export instead of the database")
    key = v.add_mutually_exclusive_group(required=True)
    key.add_argument("--bundle", type=Path, help="the unit's identity bundle (the key its fingerprint names)")
    key.add_argument("--public-key", metavar="KEY",
                     help="the unit's Ed25519 public key: base64, hex, or a file; an identity JSON gives its "
                          "ML-DSA-65 key too (a bare Ed25519 key can only give ED25519 ONLY)")
    key.add_argument("--key-dir", type=Path, help="the unit's key directory (on the unit itself)")
    v.add_argument("--witness", type=Path, metavar="PEER_JOURNAL",
                   help="the peer unit's journal: hold this journal to the checkpoints the peer witnessed")
    v.add_argument("--checkpoints-from", type=Path, action="append", default=[], metavar="FILE",
                   help="also hold the journal to the checkpoints of an earlier export or copy "
                        "(detects records cut off since then); repeatable")
    v.add_argument("--json", action="store_true", help="print the verdict as JSON")
    v.set_defaults(func=run_verify)

    e = sub.add_parser("export", help="write the journal as CSV or JSON")
    e.add_argument("--db", type=Path, required=True, help="the journal's SQLite file")
    e.add_argument("--format", choices=("csv", "json"), required=True)
    e.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    e.set_defaults(func=run_export)


def expected_key(args) -> ExpectedKey:
    if args.key_dir is not None:
        from terminal.keys import load_keys
        identity = load_keys(args.key_dir).identity
        return ExpectedKey.of_identity(identity, str(args.key_dir))
    if args.bundle is not None:
        return key_from_bundle(args.bundle)
    return key_from_text(args.public_key)


def run_verify(args: argparse.Namespace) -> int:
    data = load_sqlite(args.db) if args.db is not None else load(args.export)
    for earlier in args.checkpoints_from:
        data.checkpoints += load(earlier).checkpoints
    result = audit(data, expected_key(args), witness=None if args.witness is None else load(args.witness))
    print(json.dumps(result.as_dict(), indent=1) if args.json else result.describe())
    return result.exit_code


def run_export(args: argparse.Namespace) -> int:
    data = load_sqlite(args.db)
    text = export.to_json(data) if args.format == "json" else export.to_csv(data)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, "utf-8")
    return 0
