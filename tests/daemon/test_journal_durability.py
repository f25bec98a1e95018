"""Nothing acknowledged goes unjournalled: bursts of `msg.send` to a daemon that is SIGKILLed at
random moments, round after round, with its peer killed now and then too. At the end every
acknowledged send has its `message_queued` record on the sender, every delivered message its
`message_delivered` record on the receiver, and each journal is intact and witnessed by the other."""

import asyncio
import random
import signal

from terminal.journal import load_sqlite
from terminal.journal.audit import ExpectedKey, audit
from terminal.keys import load_keys
from tests.daemon.test_text_durability import call, kill, start, start_pair, until

ROUNDS = 4
BURST = 25


async def _burst(sock, acked: list[str], stop: asyncio.Event) -> None:
    """Send until told to stop or the daemon dies; only answered sends count as acknowledged."""
    n = 0
    while not stop.is_set():
        n += 1
        try:
            sent = await call(sock, "msg.send", text=f"burst message {n}", precedence="routine")
        except (OSError, ConnectionError, EOFError, asyncio.IncompleteReadError):
            return
        except Exception:       # the daemon died mid-answer: not acknowledged
            return
        acked.append(sent["id"])


async def test_sigkill_at_random_moments_leaves_no_acknowledged_message_unjournalled(tmp_path):
    rng = random.Random(20261201)
    (config_a, config_b), (sock_a, sock_b), (a, b) = start_pair(tmp_path)
    acked: list[str] = []
    data_a, data_b = tmp_path / "A" / "data", tmp_path / "B" / "data"
    try:
        for round_ in range(ROUNDS):
            await until(lambda: call(sock_a, "link.status"), 30)
            stop = asyncio.Event()
            before = len(acked)
            sender = asyncio.create_task(_burst(sock_a, acked, stop))
            kill_after = rng.randint(1, BURST)
            await until(lambda: asyncio.sleep(0, len(acked) - before >= kill_after), 30)
            kill(a)                                   # mid-burst, right after an answer
            stop.set()
            await sender
            if round_ % 2:
                kill(b)                               # and now and then the receiver too
                b = start(config_b)
            a = start(config_a)

        await until(lambda: call(sock_a, "link.status"), 30)    # the last restart is up (SIGTERM is handled)
        await until(lambda: call(sock_b, "link.status"), 30)

        async def all_delivered():
            at_b = {m["id"] for m in (await call(sock_b, "msg.list"))["messages"]}
            return set(acked) <= at_b and at_b
        delivered = await until(all_delivered, 60)

        async def witnessed_abroad():
            """B journals A's checkpoint past A's last send: the witness is asynchronous, so a
            SIGTERM right after delivery could otherwise beat it (seen under qemu-user)."""
            last = max(r.seq for r in load_sqlite(data_a / "journal.sqlite").records if r.kind == "message_queued")
            return any(r.kind == "peer_checkpoint" and r.fields["seq"] >= last
                       for r in load_sqlite(data_b / "journal.sqlite").records)
        await until(witnessed_abroad, 60)
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
    assert a.returncode == 0 and b.returncode == 0

    journal_a = load_sqlite(data_a / "journal.sqlite")
    journal_b = load_sqlite(data_b / "journal.sqlite")
    queued = {r.fields["message_id"] for r in journal_a.records
              if r.kind == "message_queued" and r.fields.get("direction") == "outgoing"}
    assert set(acked) <= queued, f"acknowledged but not journalled: {sorted(set(acked) - queued)}"
    received = {r.fields["message_id"] for r in journal_b.records
                if r.kind == "message_delivered" and r.fields.get("direction") == "incoming"}
    assert delivered <= received, f"delivered but not journalled: {sorted(delivered - received)}"
    assert len(acked) >= ROUNDS

    for name, mine, theirs in (("A", journal_a, journal_b), ("B", journal_b, journal_a)):
        identity = load_keys(tmp_path / name / "keys").identity
        result = audit(mine, ExpectedKey.of_identity(identity, name), witness=theirs)
        assert result.verdict.status == "intact", result.describe()
        assert result.verdict.witness.matched > 0, result.describe()
    # every acknowledged send was witnessed abroad: the peer holds a checkpoint past its record
    last_queued = max(r.seq for r in journal_a.records if r.kind == "message_queued")
    identity_a = load_keys(tmp_path / "A" / "keys").identity
    witnessed = audit(journal_a, ExpectedKey.of_identity(identity_a), witness=journal_b).verdict.witness
    assert witnessed.last_seq >= last_queued
