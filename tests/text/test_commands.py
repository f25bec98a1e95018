"""`msg send|list|ack` through argparse against a control server on a real Unix socket."""

import argparse
import asyncio
import io
import json
import threading

import pytest

from terminal.control.protocol import ControlError
from terminal.control.server import ControlServer
from terminal.text.commands import register
from terminal.text.errors import TextRefused
from terminal.text.handlers import text_handlers
from terminal.text.service import TextService


def serve(tmp_path):
    """A control server with the text methods over tmp_path/m.db, on its own loop in a thread
    (the CLI runs its own); yields (socket path, service)."""
    service = TextService(tmp_path / "m.db")
    service.start(0.0)
    loop = asyncio.new_event_loop()
    server = ControlServer(tmp_path / "c.sock")
    for method, handler in text_handlers(service, clock=lambda: 10.0).items():
        server.register(method, handler)
    loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    yield server.path, service
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.run_until_complete(server.close())
    loop.close()
    service.close()


@pytest.fixture
def daemon(tmp_path):
    yield from serve(tmp_path)


def hotline(*argv):
    parser = argparse.ArgumentParser(prog="hotline")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_send_list_and_ack(daemon, tmp_path, capsys):
    path, service = daemon
    assert hotline("msg", "send", "--precedence", "FLASH", "Call me", "--socket", str(path)) == 0
    id = capsys.readouterr().out.strip()
    assert hotline("msg", "list", "--json", "--socket", str(path)) == 0
    [message] = json.loads(capsys.readouterr().out)
    assert (message["id"], message["precedence"], message["state"], message["text"]) == (
        id, "flash", "queued", "Call me")
    assert hotline("msg", "list", "--socket", str(path)) == 0
    header, line = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "WRITTEN", "PRECEDENCE", "STATE", "SENT", "DELIVERED", "READ", "TEXT"]
    assert line.startswith(f"{id[:8]}  ") and " FLASH " in line and " QUEUED " in line
    assert hotline("msg", "list", "--utc", "--socket", str(path)) == 0
    assert "1970-01-01 00:00:10 UTC" in capsys.readouterr().out      # written at the fixture's clock, 10.0

    peer = TextService(tmp_path / "peer.db")
    peer.start(0.0)
    peer.on_peer_reachable(0.0)
    theirs = peer.send("Will do", "routine", 1.0)
    service.on_peer_reachable(2.0)
    for payload in peer.payloads_to_send(1.0):
        service.on_payload(payload, 2.0)
    assert hotline("msg", "ack", theirs[:8], "--socket", str(path)) == 0
    assert capsys.readouterr().out == f"acknowledged {theirs}\n"
    assert {m.id: m.state for m in service.list()}[theirs] == "read"
    peer.close()


def test_text_from_standard_input(daemon, monkeypatch, capsys):
    path, service = daemon
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("line one\nline two\n".encode())))
    assert hotline("msg", "send", "--json", "--socket", str(path)) == 0
    assert json.loads(capsys.readouterr().out)["id"] == service.list()[0].id
    assert service.list()[0].text == "line one\nline two\n"


@pytest.mark.parametrize("argv, error, message", [
    (["msg", "send", "x" * 16385], TextRefused, "16385 bytes of UTF-8; the limit is 16384"),
    (["msg", "send", b"caf\xe9".decode("utf-8", "surrogateescape")], TextRefused, "not valid UTF-8"),
    (["msg", "ack", "0123456789"], ControlError, "no received message with id '0123456789'"),
])
def test_bad_input_is_refused_with_a_clear_error(daemon, argv, error, message):
    path, service = daemon
    with pytest.raises(error, match=message):
        hotline(*argv, "--socket", str(path))
    assert service.list() == []


def test_an_unknown_precedence_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        hotline("msg", "send", "--precedence", "urgent", "hi")
    assert e.value.code == 2
    assert "invalid choice: 'urgent'" in capsys.readouterr().err


def test_no_daemon(tmp_path):
    with pytest.raises(ControlError, match="is the hotline daemon running"):
        hotline("msg", "list", "--socket", str(tmp_path / "none.sock"))


def bulk_store(path, n):
    """A store holding `n` messages, half each way, written in one transaction (the test's setup only)."""
    from terminal.text.store import MessageStore
    store = MessageStore(path)
    db = store._db
    db.execute("BEGIN")
    db.executemany("INSERT INTO outbox (id, precedence, text, created, state, sent_at) VALUES (?, 3, ?, ?, 'sent', ?)",
                   ((f"{i:032x}", f"out {i}", 1000.0 + i, 1000.5 + i) for i in range(0, n, 2)))
    stream = b"S" * 8
    db.execute("INSERT INTO streams VALUES (?, ?)", (stream, n))
    db.executemany("INSERT INTO inbox (id, stream, seq, precedence, text, created, received_at) "
                   "VALUES (?, ?, ?, 0, ?, ?, ?)",
                   ((f"{i:032x}", stream, i, f"in {i}", 1000.0 + i, 1000.2 + i) for i in range(1, n, 2)))
    db.execute("COMMIT")
    store.close()


@pytest.fixture
def busy_daemon(tmp_path):
    bulk_store(tmp_path / "m.db", 100_000)
    yield from serve(tmp_path)


def test_msg_list_pages_through_100000_messages_newest_first(busy_daemon):
    import time as _time

    from terminal.text.handlers import PAGE_BYTES
    from terminal.text.commands import _call
    path, service = busy_daemon
    seen, cursor, pages, slowest = [], None, 0, 0.0
    while True:
        t0 = _time.perf_counter()
        reply = _call(str(path), "msg.list", limit=500, cursor=cursor)
        slowest = max(slowest, _time.perf_counter() - t0)
        assert len(json.dumps(reply).encode()) < PAGE_BYTES + 4096     # no reply grows with the store
        seen.extend(m["id"] for m in reply["messages"])
        pages += 1
        cursor = reply["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 100_000
    assert seen[:3] == [f"{i:032x}" for i in (99_999, 99_998, 99_997)]     # newest first, both directions
    assert seen[-1] == f"{0:032x}"
    assert pages == 200 and slowest < 2.0


def test_hotline_msg_list_with_100000_messages(busy_daemon, capsys):
    path, service = busy_daemon
    assert hotline("msg", "list", "--limit", "20", "--socket", str(path)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ID") and len(lines) == 21
    assert "← ROUTINE" not in lines[1] and "in 99999" in lines[1] and "out 99998" in lines[2]


def test_a_page_is_cut_short_before_it_outgrows_the_reply_limit(daemon):
    path, service = daemon
    from terminal.text.commands import _call
    for i in range(20):
        service.send("x" * 16000 + str(i), "routine", float(i))             # near the 16 KiB limit
    sizes, cursor = [], None
    while True:
        reply = _call(str(path), "msg.list", limit=20, cursor=cursor)
        sizes.append(len(reply["messages"]))
        cursor = reply["next"]
        if cursor is None:
            break
    assert sum(sizes) == 20 and max(sizes) < 20 and len(sizes) >= 2     # pages of ~128 KiB each


def test_a_retried_send_with_the_same_key_queues_one_message(daemon):
    path, service = daemon
    from terminal.text.commands import _call
    first = _call(str(path), "msg.send", text="only once", key="k-1")
    again = _call(str(path), "msg.send", text="only once", key="k-1")
    other = _call(str(path), "msg.send", text="only once", key="k-2")
    assert first == again and other != first
    assert [m.text for m in service.list()] == ["only once", "only once"]
    with pytest.raises(ControlError, match="idempotency key must be"):
        _call(str(path), "msg.send", text="x", key="")


def test_a_bad_cursor_or_limit_is_refused(daemon):
    path, service = daemon
    from terminal.text.commands import _call
    with pytest.raises(ControlError, match="is not one msg.list returned"):
        _call(str(path), "msg.list", cursor="nonsense")
    with pytest.raises(ControlError, match="limit must be a whole number from 1 to 500"):
        _call(str(path), "msg.list", limit=0)


def test_hotline_msg_send_retries_once_with_the_same_key_when_the_answer_is_lost(tmp_path, capsys):
    """A daemon that queues the message and dies before answering (the first time): the CLI's one
    retry carries the same key, so it gets the first id back and nothing is queued twice."""
    service = TextService(tmp_path / "m.db")
    service.start(0.0)
    calls = []

    async def handle(reader, writer):
        from terminal.control.protocol import _line, parse_request
        request = parse_request(await reader.readline())
        calls.append(request.params["key"])
        id = service.send(request.params["text"], request.params["precedence"], 1.0, key=request.params["key"])
        if len(calls) > 1:
            writer.write(_line({"v": 1, "id": request.id, "result": {"id": id}}))
            await writer.drain()
        writer.close()                           # the first time: queued, then gone without a word

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_unix_server(handle, str(tmp_path / "c.sock")))
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        assert hotline("msg", "send", "once only", "--socket", str(tmp_path / "c.sock")) == 0
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        server.close()
        loop.close()
    captured = capsys.readouterr()
    assert "the answer was lost" in captured.err and "retrying once with the same key" in captured.err
    assert len(calls) == 2 and calls[0] == calls[1]
    assert [m.text for m in service.list()] == ["once only"] and captured.out.strip() == service.list()[0].id
    service.close()
