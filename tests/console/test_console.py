"""The console as a person uses it (textual's pilot), against a real control socket
serving stub link/call handlers and a real TextService on a SQLite file."""

import asyncio

import pytest
from textual.widgets import DataTable, Static

from terminal.console.app import ConsoleApp
from terminal.console.render import link_line
from terminal.control.server import ControlServer
from terminal.text.handlers import text_handlers
from terminal.text.service import TextService


@pytest.fixture
async def desk(tmp_path):
    here, there = TextService(tmp_path / "here.db"), TextService(tmp_path / "there.db")
    for s in (here, there):
        s.start(100.0)
        s.on_peer_reachable(100.0)
    server = ControlServer(tmp_path / "c.sock")
    server.register("link.status", lambda: {"reachable": True, "last_heard": None, "rtt": 0.042})
    server.register("call.status", lambda: {"state": "ringing_out"})
    for method, handler in text_handlers(here, clock=lambda: 200.0).items():
        server.register(method, handler)
    await server.start()
    yield server, here, there
    await server.close()
    here.close(), there.close()


def text_of(app, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def rows(app) -> list[list[str]]:
    table = app.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def settle(app, action):
    app.refreshed.clear()
    await action
    await asyncio.wait_for(app.refreshed.wait(), 5)


async def test_compose_send_receive_and_acknowledge(desk):
    server, here, there = desk
    app = ConsoleApp(server.path, poll=3600)
    async with app.run_test(size=(130, 40)) as pilot:
        await asyncio.wait_for(app.refreshed.wait(), 5)
        assert "Peer: REACHABLE" in text_of(app, "#link") and "round trip 42 ms" in text_of(app, "#link")
        assert text_of(app, "#call") == "Call: ringing out"

        await pilot.click("#precedence")                   # open the list, pick FLASH (the first)
        await pilot.press("home", "enter")
        await pilot.click("#compose")
        await pilot.press(*"Lift the handset")
        await settle(app, pilot.press("enter"))
        [mine] = here.list()
        assert (mine.text, mine.precedence.name, mine.state) == ("Lift the handset", "FLASH", "sent")
        assert rows(app)[0][1:4] == ["→", "FLASH", "sent"]
        assert "FLASH message" in text_of(app, "#status")

        theirs = there.send("Understood, calling", "immediate", 201.0)
        for payload in there.payloads_to_send(201.0):
            here.on_payload(payload, 201.1)
        await pilot.click("#thread")
        await settle(app, pilot.press("r"))
        assert [r[1:4] for r in rows(app)] == [["→", "FLASH", "sent"], ["←", "IMMEDIATE", "UNREAD"]]

        await pilot.press("down")
        assert "Understood, calling" in text_of(app, "#detail")
        await settle(app, pilot.press("a"))
        assert {m.id: m.state for m in here.list()}[theirs] == "read"
        assert rows(app)[1][3] == "read"

        await settle(app, pilot.press("a"))                # already read: nothing to do, says so
        assert "select an unread received message" in text_of(app, "#status")


async def test_a_refused_message_is_reported_and_kept_in_the_box(desk):
    server, here, _ = desk
    app = ConsoleApp(server.path, poll=3600)
    async with app.run_test(size=(130, 40)) as pilot:
        await asyncio.wait_for(app.refreshed.wait(), 5)
        await pilot.click("#compose")
        await pilot.press("space")
        await settle(app, pilot.press("enter"))
        assert "not sent: message is empty" in text_of(app, "#status")
        assert here.list() == []


async def test_no_daemon_is_said_plainly(tmp_path):
    app = ConsoleApp(tmp_path / "none.sock", poll=3600)
    async with app.run_test(size=(130, 40)):
        await asyncio.wait_for(app.refreshed.wait(), 5)
        assert "is the hotline daemon running" in text_of(app, "#status")


@pytest.mark.parametrize("status, now, line", [
    ({"reachable": False, "last_heard": 40.0, "rtt": None}, 100.0, "Peer: UNREACHABLE · last heard 60 s ago"),
    ({"reachable": True, "last_heard": 0.0, "rtt": 0.0015}, 600.0,
     "Peer: REACHABLE · last heard 10 min ago · round trip 2 ms"),
    (None, 0.0, "Peer: status unknown (the daemon does not report it)"),
])
def test_link_lines(status, now, line):
    assert link_line(status, now) == line
