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


@pytest.fixture
def daemon(tmp_path):
    """A control server with the text methods, on its own loop in a thread (the CLI runs its own)."""
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
    assert capsys.readouterr().out.startswith(f"{id[:8]}  ")

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
