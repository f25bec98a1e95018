"""Message-store commits on the loop, their fsync on a worker thread (issue 14 part 3).

A receipt, a "queued" answer and a journal record wait for the fsync that covers the
commit behind them, so a power cut cannot take back something the peer or the duty
officer was told; the loop itself never waits for the card.
"""

import asyncio
import errno
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from terminal.daemon.texting import TextLink
from terminal.text.errors import StoreError
from terminal.text.service import TextService
from terminal.text.store import MessageStore


class Journal:
    def __init__(self):
        self.kinds = []

    def record(self, kind, *args, **fields):
        self.kinds.append(kind)


def fsynced_paths(monkeypatch) -> list[str]:
    """Every path os.fsync is called on from now (any thread), by what its descriptor names."""
    seen, real = [], os.fsync

    def spy(fd):
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)
    monkeypatch.setattr(os, "fsync", spy)
    return seen


def test_a_deferred_store_owes_an_fsync_of_its_wal_after_each_commit(tmp_path, monkeypatch):
    store = MessageStore(tmp_path / "t.sqlite", deferred_sync=True)
    assert not store.unsynced                                   # the schema was synced at open
    assert store.durability == ("wal", "normal")
    seen = fsynced_paths(monkeypatch)
    store.enqueue("00" * 16, 1, "hello", 1.0)
    assert store.unsynced and seen == []                        # the commit itself did not fsync
    store.sync()
    assert not store.unsynced and seen == [str(tmp_path / "t.sqlite-wal")]
    store.close()


def test_a_plain_store_fsyncs_at_each_commit_and_owes_nothing(tmp_path):
    store = MessageStore(tmp_path / "t.sqlite")
    store.enqueue("00" * 16, 1, "hello", 1.0)
    assert not store.unsynced
    assert store.durability == ("wal", "full")
    store.close()


def test_a_failed_fsync_counts_nothing_as_synced(tmp_path, monkeypatch):
    store = MessageStore(tmp_path / "t.sqlite", deferred_sync=True)
    store.enqueue("00" * 16, 1, "hello", 1.0)

    def refuse(fd):
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(os, "fsync", refuse)
    with pytest.raises(StoreError, match=r"t.sqlite: could not fsync t.sqlite-wal: .*Input/output error"):
        store.sync()
    assert store.unsynced
    monkeypatch.undo()                                           # the card answers again: no proof
    with pytest.raises(StoreError, match=r"an fsync failed \(.*Input/output error\).*restart the unit"):
        store.sync()
    assert store.unsynced
    store.close()                                                # logs it and closes
    with pytest.raises(Exception, match="closed"):
        store.list()


def test_a_deferred_store_needs_a_worker(tmp_path):
    with pytest.raises(ValueError, match="sync_worker"):
        TextLink(TextService(tmp_path / "t.sqlite", deferred_sync=True), lambda c, p: None, Journal(),
                 asyncio.new_event_loop())


class Gate:
    """The fsync worker, held: its one thread is busy until `open()`."""

    def __init__(self):
        self.worker = ThreadPoolExecutor(max_workers=1)
        self._open = threading.Event()
        self.worker.submit(self._open.wait)

    def open(self):
        self._open.set()


def peer_message(tmp_path, text="are you there") -> list[bytes]:
    """The datagram payloads a peer's text service sends for one new message."""
    peer = TextService(tmp_path / "peer.sqlite")
    peer.on_peer_reachable(100.0)
    peer.send(text, "flash", 100.0)
    payloads = peer.payloads_to_send(100.0)
    peer.close()
    return payloads


async def test_a_receipt_leaves_only_after_the_fsync_that_covers_the_message(tmp_path):
    loop, gate, journal, sent = asyncio.get_running_loop(), Gate(), Journal(), []
    link = TextLink(TextService(tmp_path / "t.sqlite", deferred_sync=True), lambda c, p: sent.append(p),
                    journal, loop, sync_worker=gate.worker)
    link.start(reachable=True)
    for payload in peer_message(tmp_path):
        link.on_payload(payload, loop.time())
    assert link.service.store.list()[0].text == "are you there"      # committed, on the loop
    assert link.service.store.unsynced
    assert sent == [] and journal.kinds == []                        # but nothing said of it yet
    gate.open()
    await link.synced()
    assert sent and journal.kinds == ["message_delivered"]           # the receipt, and the journal
    link.close()
    gate.worker.shutdown()


async def test_a_console_send_is_answered_after_its_fsync(tmp_path):
    from terminal.text.handlers import text_handlers

    loop, gate = asyncio.get_running_loop(), Gate()
    link = TextLink(TextService(tmp_path / "t.sqlite", deferred_sync=True), lambda c, p: None, Journal(),
                    loop, sync_worker=gate.worker)
    link.start(reachable=False)
    send = link.after_sync(text_handlers(link.service, after=link.pump)["msg.send"])
    answer = asyncio.ensure_future(send(text="status?", precedence="immediate"))
    await asyncio.sleep(0)                                           # one loop turn: the handler ran
    assert not answer.done() and link.service.store.unsynced
    gate.open()
    assert (await answer)["id"] and not link.service.store.unsynced
    link.close()
    gate.worker.shutdown()


async def test_after_a_failed_fsync_nothing_is_sent_until_a_restart_reads_the_store_again(tmp_path, monkeypatch):
    """Linux may mark pages clean after a failed writeback: a later fsync that succeeds proves nothing."""
    loop, worker, sent = asyncio.get_running_loop(), ThreadPoolExecutor(max_workers=1), []
    path = tmp_path / "t.sqlite"
    link = TextLink(TextService(path, deferred_sync=True), lambda c, p: sent.append(p), Journal(), loop,
                    sync_worker=worker)
    link.start(reachable=True)
    real = os.fsync

    def refuse(fd):
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(os, "fsync", refuse)
    for payload in peer_message(tmp_path):
        link.on_payload(payload, loop.time())
    with pytest.raises(StoreError, match="could not fsync"):
        await link.synced()
    monkeypatch.setattr(os, "fsync", real)                           # the card answers again
    link.pump()
    with pytest.raises(StoreError, match="could not fsync"):     # the first error stands
        await link.synced()
    with pytest.raises(StoreError, match="an fsync failed .*restart the unit"):
        link.service.store.sync()
    assert sent == [] and "Input/output error" in str(link.sync_error)
    link.close()                                                     # logs, does not raise
    # The restart: the store read again, the receipt goes once an fsync covers what it says.
    journal = Journal()
    again = TextLink(TextService(path, deferred_sync=True), lambda c, p: sent.append(p), journal, loop,
                     sync_worker=worker)
    again.start(reachable=True)
    for payload in peer_message(tmp_path):                           # the peer resends; a duplicate now
        again.on_payload(payload, loop.time())
    await again.synced()
    assert sent and again.sync_error is None
    again.close()
    worker.shutdown()


async def test_a_console_answer_after_a_failed_fsync_names_the_id_it_was_queued_as(tmp_path, monkeypatch):
    from terminal.text.handlers import text_handlers

    loop, worker = asyncio.get_running_loop(), ThreadPoolExecutor(max_workers=1)
    link = TextLink(TextService(tmp_path / "t.sqlite", deferred_sync=True), lambda c, p: None, Journal(), loop,
                    sync_worker=worker)
    link.start(reachable=False)
    send = link.after_sync(text_handlers(link.service, after=link.pump)["msg.send"])

    def refuse(fd):
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(os, "fsync", refuse)
    with pytest.raises(StoreError, match=r"done as [0-9a-f]+, but not confirmed on the card: .*Input/output"):
        await send(text="status?", precedence="immediate")
    monkeypatch.undo()
    link.close()
    worker.shutdown()


async def test_a_listeners_commit_holds_the_events_after_it_until_its_fsync(tmp_path):
    """The records channel acknowledges a received item from its listener: a commit mid-pump."""
    from terminal.text import events as ev

    loop, worker, seen = asyncio.get_running_loop(), ThreadPoolExecutor(max_workers=1), []
    link = TextLink(TextService(tmp_path / "t.sqlite", deferred_sync=True), lambda c, p: None, Journal(), loop,
                    sync_worker=worker)

    def consume(event):
        seen.append((type(event).__name__, link.service.store.unsynced))
        if isinstance(event, ev.MessageReceived):
            link.service.ack(event.id, link.now())
    link.listeners.append(consume)
    link.start(reachable=True)
    for payload in peer_message(tmp_path):
        link.on_payload(payload, loop.time())
    await link.synced()
    await link.synced()                                              # the ack's own fsync
    assert ("MessageAcknowledged", False) in seen
    assert all(not unsynced for _, unsynced in seen), seen
    link.close()
    worker.shutdown()


async def test_a_clean_stop_journals_what_the_last_fsync_held(tmp_path):
    """Else the next start's recovery finds it only in the store and says so."""
    loop, gate, journal = asyncio.get_running_loop(), Gate(), Journal()
    link = TextLink(TextService(tmp_path / "t.sqlite", deferred_sync=True), lambda c, p: None, journal, loop,
                    sync_worker=gate.worker)
    link.start(reachable=True)
    for payload in peer_message(tmp_path):
        link.on_payload(payload, loop.time())
    assert journal.kinds == []                                       # held: the worker is busy
    link.close()                                                     # syncs on this thread, then pumps
    assert journal.kinds == ["message_delivered"]
    gate.open()
    gate.worker.shutdown()
