"""Child process for the SIGKILL test: appends in bursts and reports each returned seq on stdout.

    python -m tests.journal.appender JOURNAL_PATH SIGNING_KEY_HEX SEED

The journal signs every append and keeps its head file beside it, as the daemon's does; reopening
after each kill also checks that the head file and the journal still agree.
"""

import random
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.journal import Journal


def main(path: str, key_hex: str, seed: str) -> None:
    rng = random.Random(seed)
    journal = Journal(path, Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key_hex)),
                      head_path=f"{path}.head")
    out = sys.stdout
    burst = 0
    while True:
        burst += 1
        for i in range(rng.randint(1, 20)):
            rec = journal.append("selftest", check="burst", passed=True, detail=f"{burst}.{i}")
            out.write(f"{rec.seq}\n")
            out.flush()


if __name__ == "__main__":
    main(*sys.argv[1:4])
