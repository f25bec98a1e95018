"""The tamper-evident journal: hash-chained records in SQLite, checkpoints signed with Ed25519 and
ML-DSA-65, a pure verifier.

    journal = Journal(path, unit_keys.journal_signer)   # open or continue (SigningKeys)
    journal.append("ring_started", call_id="c1", direction="outgoing")
    journal.close()                                      # signs the tail

    verdict = verify(data.records, data.checkpoints, identity.journal_public)   # PublicKeys
"""

from terminal.journal.errors import JournalFieldError, JournalFormatError
from terminal.journal.kinds import KINDS, check_record
from terminal.journal.load import JournalData, load, load_json, load_sqlite
from terminal.journal.outcome import summarize_call
from terminal.journal.record import Checkpoint, Record
from terminal.journal.signatures import PublicKeys, SigningKeys
from terminal.journal.store import Journal
from terminal.journal.verify import Problem, Verdict, verify

__all__ = [
    "Checkpoint", "Journal", "JournalData", "JournalFieldError", "JournalFormatError", "KINDS", "Problem",
    "PublicKeys", "Record", "SigningKeys", "Verdict", "check_record", "load", "load_json", "load_sqlite",
    "summarize_call", "verify",
]
