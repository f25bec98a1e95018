"""Child process for the SIGKILL test: appends in bursts and reports each returned seq on stdout.

    python -m tests.journal.appender JOURNAL_PATH SIGNING_KEYS_HEX SEED     (Ed25519 key | ML-DSA-65 seed)

The journal signs every append and keeps its head file beside it, as the daemon's does; reopening
after each kill also checks that the head file and the journal still agree.
"""

import random
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey

from terminal.journal import Journal
from terminal.journal.signatures import SigningKeys


def main(path: str, key_hex: str, seed: str) -> None:
    rng = random.Random(seed)
    raw = bytes.fromhex(key_hex)
    keys = SigningKeys(Ed25519PrivateKey.from_private_bytes(raw[:32]), MLDSA65PrivateKey.from_seed_bytes(raw[32:]))
    journal = Journal(path, keys,
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
