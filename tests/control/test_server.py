"""The control API over a real Unix socket."""

import asyncio
import grp
import os
import stat

import pytest

from terminal.control.client import ControlClient
from terminal.control.protocol import MAX_LINE, ControlError
from terminal.control.server import ControlServer
from terminal.text.handlers import text_handlers
from terminal.text.service import TextService


@pytest.fixture
async def server(tmp_path):
    srv = ControlServer(tmp_path / "c.sock", group="daemon")

    async def slow_echo(value):
        await asyncio.sleep(0)
        return {"echo": value}

    def explode():
        raise RuntimeError("boom")

    srv.register("echo", slow_echo)
    srv.register("explode", explode)
    srv.register("refuse", lambda: (_ for _ in ()).throw(ValueError("no, because")))
    srv.register("opaque", lambda: object())
    await srv.start()
    yield srv
    await srv.close()


async def test_the_socket_is_0660_in_the_configured_group(server):
    st = os.stat(server.path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_gid == grp.getgrnam("daemon").gr_gid


async def test_calls_and_errors_over_one_connection(server):
    async with ControlClient(server.path) as client:
        assert await client.call("echo", value="hi") == {"echo": "hi"}
        assert (await client.call("version"))["methods"] == ["echo", "explode", "opaque", "refuse", "version"]
        for method, params, code, message in [
            ("nope", {}, "unknown_method", "unknown method 'nope'; known: echo, explode"),
            ("echo", {}, "invalid_params", "echo: missing a required argument: 'value'"),
            ("echo", {"value": 1, "extra": 2}, "invalid_params", "unexpected keyword argument 'extra'"),
            ("refuse", {}, "refused", "no, because"),
            ("explode", {}, "internal_error", "explode failed: RuntimeError: boom"),
            ("opaque", {}, "internal_error", "opaque returned something that is not JSON"),
        ]:
            with pytest.raises(ControlError, match=message) as e:
                await client.call(method, **params)
            assert e.value.code == code
        assert await client.call("echo", value=[1, {"a": None}]) == {"echo": [1, {"a": None}]}


async def test_garbage_gets_a_json_error_and_the_connection_lives_on(server):
    reader, writer = await asyncio.open_unix_connection(server.path, limit=MAX_LINE)
    writer.write(b"hello?\n")
    assert b'"code":"parse_error"' in await reader.readline()
    writer.write(b'{"v":1,"id":"x","method":"echo","params":{"value":2}}\n')
    assert await reader.readline() == b'{"v":1,"id":"x","result":{"echo":2}}\n'
    writer.write(b"x" * (MAX_LINE + 10) + b"\n")
    assert b"longer than" in await reader.readline()
    writer.close()


async def test_a_stale_socket_is_replaced_but_a_regular_file_is_not(tmp_path, server):
    await server.close()
    server.path.touch()
    with pytest.raises(ControlError, match="exists and is not a socket"):
        await ControlServer(server.path).start()
    with pytest.raises(ControlError, match="group 'no-such-group' does not exist"):
        await ControlServer(tmp_path / "d.sock", group="no-such-group").start()


async def test_a_client_without_a_daemon_says_so(tmp_path):
    with pytest.raises(ControlError, match="is the hotline daemon running"):
        await ControlClient(tmp_path / "none.sock").call("version")


async def test_text_methods_through_the_socket(tmp_path):
    service = TextService(tmp_path / "m.db")
    service.start(0.0)
    flushed = []
    srv = ControlServer(tmp_path / "c.sock")
    for method, handler in text_handlers(service, clock=lambda: 5.0, after=lambda: flushed.append(1)).items():
        srv.register(method, handler)
    await srv.start()
    async with ControlClient(srv.path) as client:
        id = (await client.call("msg.send", text="Stand by", precedence="flash"))["id"]
        [message] = (await client.call("msg.list"))["messages"]
        assert (message["id"], message["state"], message["precedence"], message["created"]) == (
            id, "queued", "flash", 5.0)
        with pytest.raises(ControlError, match="unknown precedence 'soon'") as e:
            await client.call("msg.send", text="x", precedence="soon")
        assert e.value.code == "refused"
        with pytest.raises(ControlError, match="must be a string, not int"):
            await client.call("msg.send", text=5)
        with pytest.raises(ControlError, match="no received message") as e:
            await client.call("msg.ack", id=id)
        assert e.value.code == "not_found"
    assert flushed == [1]
    await srv.close()
    assert not srv.path.exists()
    service.close()
