"""How the host tool shows things to a person: fingerprints, hex dumps."""

from __future__ import annotations

import sys


def read_aloud(fingerprint: str) -> str:
    """Six groups of five digits as two lines of three, for reading over the phone."""
    groups = fingerprint.split()
    return "   ".join(groups[:3]) + "\n" + "   ".join(groups[3:])


def hexdump(direction: str, data: bytes, out=None) -> None:
    """`--trace`: every byte on the line, 16 to a row, with its direction."""
    out = out or sys.stderr
    for offset in range(0, len(data), 16):
        row = data[offset:offset + 16]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        print(f"{direction} {offset:04x}  {row.hex(' '):<47}  {text}", file=out)
