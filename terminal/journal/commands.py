"""`hotline journal verify|export`: argparse wiring over load, verify and export.

`register(subparsers)` adds the `journal` command; each handler is stored as
`func` and returns an exit code (0 intact, 1 tampering found). Fatal errors
raise HotlineError subclasses for the CLI's top-level catch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from terminal.journal import export
from terminal.journal.load import load, load_sqlite
from terminal.journal.pubkey import parse_public_key
from terminal.journal.verify import Verdict, verify


def register(subparsers) -> None:
    journal = subparsers.add_parser("journal", help="verify or export the ring/answer journal")
    sub = journal.add_subparsers(dest="journal_command", required=True, metavar="{verify,export}")

    v = sub.add_parser("verify", help="check the hash chain and signed checkpoints; exit 1 if tampered")
    source = v.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", type=Path, help="the journal's SQLite file")
    source.add_argument("--export", type=Path, metavar="FILE", help="a JSON export instead of the database")
    key = v.add_mutually_exclusive_group(required=True)
    key.add_argument("--public-key", metavar="KEY",
                     help="the unit's Ed25519 public key: base64, hex, or a file (identity JSON accepted)")
    key.add_argument("--key-dir", type=Path, help="the unit's key directory (on the unit itself)")
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


def _public_key(args) -> bytes:
    if args.key_dir is not None:
        from terminal.keys import load_keys
        return load_keys(args.key_dir).identity.signing_public
    return parse_public_key(args.public_key)


def run_verify(args: argparse.Namespace) -> int:
    data = load_sqlite(args.db) if args.db is not None else load(args.export)
    checkpoints = list(data.checkpoints)
    for earlier in args.checkpoints_from:
        checkpoints += load(earlier).checkpoints
    verdict = verify(data.records, checkpoints, _public_key(args))
    print(json.dumps(verdict.as_dict(), indent=1) if args.json else describe(verdict))
    return 0 if verdict.ok else 1


def describe(verdict: Verdict) -> str:
    """The verdict in words, one problem a line."""
    span = f"records {verdict.first_seq}..{verdict.last_seq}" if verdict.records else "no records"
    signed = (f"last signed checkpoint at record {verdict.last_checkpoint_seq}"
              if verdict.last_checkpoint_seq else "no valid signed checkpoint")
    head = f"{verdict.records} records ({span}), {verdict.checkpoints} checkpoints, {signed}"
    if verdict.unsigned_tail:
        head += f"; {verdict.unsigned_tail} records after it are not yet signed"
    if verdict.ok:
        return "intact: " + head
    lines = [f"TAMPERED: {verdict.problem_count} problem(s); " + head]
    lines += [f"  {p}" for p in verdict.problems]
    if verdict.problem_count > len(verdict.problems):
        lines.append(f"  ... and {verdict.problem_count - len(verdict.problems)} more")
    return "\n".join(lines)


def run_export(args: argparse.Namespace) -> int:
    data = load_sqlite(args.db)
    text = export.to_json(data) if args.format == "json" else export.to_csv(data)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, "utf-8")
    return 0
