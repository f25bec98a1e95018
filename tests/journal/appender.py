"""Child process for the SIGKILL test: appends in bursts and reports each returned seq on stdout.

    python -m tests.journal.appender JOURNAL_PATH SIGNING_KEY_HEX SEED
"""

import random
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.journal import Journal


def main(path: str, key_hex: str, seed: str) -> None:
    rng = random.Random(seed)
    journal = Journal(path, Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key_hex)), checkpoint_every=7)
    out = sys.stdout
    burst = 0
    while True:
        burst += 1
        for i in range(rng.randint(1, 20)):
            rec = journal.append("selftest", check="burst", passed=True, detail=f"{burst}.{i}")
            out.write(f"{rec.seq}\n")
            out.flush()
        journal.checkpoint()


if __name__ == "__main__":
    main(*sys.argv[1:4])
