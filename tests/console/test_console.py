"""The console as a duty officer uses it (Textual's pilot), against a real control socket
served on its own thread: a real TextService on SQLite for the messages and a `unit.status`
the test sets, so each state the officer must see can be staged exactly. SVG snapshots of
each state live in __snapshots__/ (pytest --snapshot-update after a deliberate change)."""

import asyncio
import copy
import threading

import pytest
from textual.widgets import DataTable, Static

from terminal.console.app import ConsoleApp
from terminal.console.render import far_desk_line, peer_line
from terminal.control.server import ControlServer
from terminal.text.handlers import text_handlers
from terminal.text.service import TextService

NOW = 1_796_150_000.0          # 2026-12-01 ~18:33 UTC: every screen in the snapshots is at this time

OK = {
    "unit": "A", "state": "on line", "reason": "",
    "peer": {"id": "B", "reachable": True, "last_heard": NOW - 2, "endpoint": "192.0.2.2:4870", "rtt": 0.042,
             "unreachable_since": None},
    "presence": {"here": {"sensor": True, "staffed": True, "window": 600, "last_motion_ago": 5},
                 "far": {"known": True, "staffed": True, "window": 600, "last_motion_ago": 65, "report_age": 3}},
    "call": "idle", "missed_calls": [], "voice_messages_waiting": 0, "urgent_unread": [],
    "last_selftest": {"kind": "scheduled", "at": NOW - 600, "passed": True, "failed": [],
                      "results": [{"name": "link_primary", "passed": True, "detail": ""},
                                  {"name": "link_backup_1", "passed": True, "detail": ""}]},
    "journal": {"fault": None, "signing": True, "lost_records": 0},
}


class Desk:
    """The daemon's side of the socket, on a thread with its own loop (as a daemon would be)."""

    def __init__(self, tmp_path):
        self.here = TextService(tmp_path / "here.db")
        self.there = TextService(tmp_path / "there.db")
        for s in (self.here, self.there):
            s.start(NOW - 1000)
            s.on_peer_reachable(NOW - 1000)
        self.status = copy.deepcopy(OK)
        self.path = tmp_path / "c.sock"
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.thread = threading.Thread(target=self.loop.run_forever)
        self.thread.start()
        self.start()

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def start(self):
        server = ControlServer(self.path)
        server.register("unit.status", self._unit_status)
        server.register("call.ack_missed", self._ack_missed)
        for method, handler in text_handlers(self.here, clock=lambda: NOW).items():
            server.register(method, handler)
        self._call(server.start())
        self.server = server

    def stop(self):
        """The daemon dies: its socket goes away."""
        self._call(self.server.close())
        self.server = None

    def _unit_status(self):
        status = copy.deepcopy(self.status)
        status["urgent_unread"] = self.here.store.unread_urgent()
        status["unread_by_precedence"] = {p: {"count": n, "oldest_received_at": at}
                                          for p, (n, at) in self.here.store.unread_counts().items()}
        return status

    def _ack_missed(self):
        for m in self.status["missed_calls"]:
            m["acknowledged"] = True
        return {"acknowledged": True}

    def arrive(self, text, precedence, written):
        """A message from the far desk, written at `written`, received a second later."""
        self.there.send(text, precedence, written)
        for payload in self.there.payloads_to_send(written):
            self.here.on_payload(payload, written + 1)

    def close(self):
        if self.server is not None:
            self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()
        self.here.close(), self.there.close()


@pytest.fixture
def desk(tmp_path):
    d = Desk(tmp_path)
    yield d
    d.close()


def console(desk, **kw):
    app = ConsoleApp(desk.path, poll=3600, utc=True, clock=lambda: NOW, **kw)
    app.bell = lambda: None        # counted in app.bells; no sound in a test run
    return app


def text_of(app, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def classes(app, selector: str) -> set[str]:
    return set(app.query_one(selector).classes)


def rows(app) -> list[list[str]]:
    table = app.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def settle(app, action):
    app.refreshed.clear()
    await action
    await asyncio.wait_for(app.refreshed.wait(), 5)


async def started(app, pilot):
    await asyncio.wait_for(app.refreshed.wait(), 5)


# ----- what the officer sees -----------------------------------------------------------

async def test_every_row_is_shown_and_a_healthy_desk_is_green(desk):
    app = console(desk)
    async with app.run_test(size=(130, 40)) as pilot:
        await started(app, pilot)
        assert text_of(app, "#peer") == "Peer B: REACHABLE · last heard 2 s ago · round trip 42 ms"
        assert "ok" in classes(app, "#peer")
        assert text_of(app, "#far") == "Far desk: STAFFED (someone seen 65 s ago)"
        assert text_of(app, "#call") == "Call: idle"
        assert text_of(app, "#missed") == "Missed calls: none"
        assert text_of(app, "#voice") == "Voice messages: none waiting"
        assert text_of(app, "#health") == ("Unit: OK · last self-test 18:23:20 UTC passed "
                                           "(primary ok, backup_1 ok)")
        assert "times in UTC" in app.sub_title
        assert "flash" not in classes(app, "#banner")


async def test_a_flash_arrival_takes_over_rings_the_bell_and_one_key_acknowledges_it(desk):
    desk.arrive("Routine traffic", "routine", NOW - 300)
    app = console(desk)
    async with app.run_test(size=(130, 40)) as pilot:
        await started(app, pilot)
        assert app.bells == 0
        desk.arrive("Lift the handset now", "flash", NOW - 61)
        await settle(app, pilot.press("r"))
        assert "flash" in classes(app, "#banner")
        assert text_of(app, "#banner").startswith("FLASH from the far desk, written 18:32:19 UTC, waiting 60 s: "
                                                  "Lift the handset now")
        assert app.bells == 1
        assert rows(app)[app.query_one(DataTable).cursor_row][1:4] == ["←", "FLASH", "UNREAD"]   # focused
        await settle(app, pilot.press("r"))
        assert app.bells == 1                       # not again until the re-alert interval
        app.clock = lambda: NOW + 61
        await settle(app, pilot.press("r"))
        assert app.bells == 2                       # still unread a minute on: the bell again
        await pilot.click("#compose")               # even with the cursor in the compose box ...
        await pilot.click("#thread")
        await settle(app, pilot.press("a"))         # ... one key acknowledges the banner's message
        assert "flash" not in classes(app, "#banner")
        flash = [m for m in desk.here.list() if m.text == "Lift the handset now"]
        assert flash[0].state == "read"


async def test_an_immediate_message_has_its_own_colour(desk):
    desk.arrive("Call us within the hour", "immediate", NOW - 10)
    app = console(desk)
    async with app.run_test(size=(130, 40)) as pilot:
        await started(app, pilot)
        assert "immediate" in classes(app, "#banner") and "flash" not in classes(app, "#banner")
        assert app.bells == 1


async def test_a_missed_call_shows_and_is_acknowledged_with_one_key(desk):
    desk.status["missed_calls"] = [{"at": NOW - 125, "acknowledged": False, "acknowledged_at": None}]
    app = console(desk)
    async with app.run_test(size=(130, 40)) as pilot:
        await started(app, pilot)
        assert text_of(app, "#missed") == "Missed calls: 18:31:15 UTC NOT ACKNOWLEDGED — press M"
        assert "bad" in classes(app, "#missed")
        await settle(app, pilot.press("m"))
        assert text_of(app, "#missed") == "Missed calls: 18:31:15 UTC (seen)"
        assert "ok" in classes(app, "#missed")


async def test_the_peer_going_down_turns_red_with_since_when_and_no_stale_round_trip(desk):
    app = console(desk)
    async with app.run_test(size=(130, 40)) as pilot:
        await started(app, pilot)
        desk.status["peer"].update(reachable=False, rtt=None, unreachable_since=NOW - 200, last_heard=NOW - 215)
        await settle(app, pilot.press("r"))
        assert text_of(app, "#peer") == "Peer B: UNREACHABLE since 18:30:00 UTC (3 min)"
        assert "bad" in classes(app, "#peer") and "round trip" not in text_of(app, "#peer")


async def test_a_failed_self_test_and_a_journal_fault_show(desk):
    desk.status["last_selftest"].update(passed=False, failed=["ringer_relay", "link_backup_1"])
    desk.status["last_selftest"]["results"][1]["passed"] = False
    desk.status["journal"]["fault"] = "disk full"
    app = console(desk)
    async with app.run_test(size=(130, 40)) as pilot:
        await started(app, pilot)
        assert text_of(app, "#health") == ("FAULT: journal: disk full; self-test FAILED: ringer_relay, link_backup_1 · "
                                           "last self-test 18:23:20 UTC (primary ok, backup_1 FAILED)")
        assert "bad" in classes(app, "#health")


@pytest.mark.parametrize("far, line", [
    ({"known": False}, "Far desk: not reported yet"),
    ({"known": True, "staffed": None}, "Far desk: no presence sensor there"),
    ({"known": True, "staffed": False, "last_motion_ago": 900}, "Far desk: NOBODY SEEN for 15 min"),
    ({"known": True, "staffed": False, "last_motion_ago": None}, "Far desk: NOBODY SEEN since it started"),
])
def test_far_desk_lines(far, line):
    assert far_desk_line({"presence": {"far": far}})[0] == line


def test_peer_line_without_a_status():
    assert peer_line(None, NOW) == ("Peer: status unknown (the daemon does not report it)", "unknown")


# ----- messages ----------------------------------------------------------------------------

async def test_compose_send_receive_and_acknowledge(desk):
    app = console(desk)
    async with app.run_test(size=(130, 40)) as pilot:
        await started(app, pilot)
        await pilot.click("#precedence")                   # open the list, pick FLASH (the first)
        await pilot.press("home", "enter")
        await pilot.click("#compose")
        await pilot.press(*"Lift the handset")
        await settle(app, pilot.press("enter"))
        [mine] = desk.here.list()
        assert (mine.text, mine.precedence.name) == ("Lift the handset", "FLASH")
        assert rows(app)[0][1:3] == ["→", "FLASH"]
        assert "FLASH message" in text_of(app, "#status")

        desk.arrive("Understood, calling", "routine", NOW + 1)
        await pilot.click("#thread")
        await settle(app, pilot.press("r"))
        assert [r[1:4] for r in rows(app)][0] == ["←", "ROUTINE", "UNREAD"]     # newest first
        await pilot.press("down", "up", "up")
        await pilot.pause()
        assert "Understood, calling" in text_of(app, "#detail")
        await settle(app, pilot.press("a"))
        assert rows(app)[0][3] == "read"
        await settle(app, pilot.press("a"))                # already read: nothing to do, says so
        assert "select an unread received message" in text_of(app, "#status")


async def test_a_refused_message_is_reported_and_kept_in_the_box(desk):
    app = console(desk)
    async with app.run_test(size=(130, 40)) as pilot:
        await started(app, pilot)
        await pilot.click("#compose")
        await pilot.press("space")
        await settle(app, pilot.press("enter"))
        assert "not sent: message is empty" in text_of(app, "#status")
        assert desk.here.list() == []


async def test_a_16_kib_message_is_shown_whole_in_the_detail(desk):
    long = "Line of a long message. " * 680 + "END"
    desk.arrive(long[:16384], "routine", NOW - 5)
    app = console(desk)
    async with app.run_test(size=(130, 40)) as pilot:
        await started(app, pilot)
        await pilot.click("#thread")
        await pilot.press("up")
        await pilot.pause()
        assert text_of(app, "#detail").startswith(desk.here.list()[0].id)


async def test_the_console_pages_through_100000_stored_messages(tmp_path):
    from tests.text.test_commands import bulk_store
    bulk_store(tmp_path / "here.db", 100_000)
    d = Desk(tmp_path)
    try:
        app = console(d)
        async with app.run_test(size=(130, 40)) as pilot:
            await started(app, pilot)
            table = app.query_one(DataTable)
            assert table.row_count == 100, text_of(app, "#connection")
            assert rows(app)[0][4] == "in 99999"
            await pilot.click("#thread")
            app.older_loaded.clear()
            await pilot.press("ctrl+end")                  # the last loaded row: the next page comes
            await asyncio.wait_for(app.older_loaded.wait(), 5)
            assert table.row_count == 200 and rows(app)[199][4] == "out 99800"
    finally:
        d.close()


# ----- a daemon that is not there ------------------------------------------------------------

async def test_no_daemon_is_said_on_screen_and_the_console_connects_when_it_comes(desk):
    desk.stop()
    app = console(desk)
    async with app.run_test(size=(130, 40)) as pilot:
        await started(app, pilot)
        assert "down" in classes(app, "#connection")
        assert "NO CONTACT WITH THE UNIT: no control socket at" in text_of(app, "#connection")
        assert text_of(app, "#peer") == "(unknown: no contact with the unit)"
        desk.start()
        await settle(app, pilot.press("r"))
        assert "down" not in classes(app, "#connection")
        assert text_of(app, "#peer").startswith("Peer B: REACHABLE")


async def test_a_daemon_that_dies_while_the_console_is_open(desk):
    app = console(desk)
    async with app.run_test(size=(130, 40)) as pilot:
        await started(app, pilot)
        desk.stop()
        await settle(app, pilot.press("r"))
        assert "down" in classes(app, "#connection")
        desk.start()
        await settle(app, pilot.press("r"))
        assert "down" not in classes(app, "#connection")


async def test_a_socket_this_user_may_not_use(desk, monkeypatch):
    from terminal.control import client as client_mod

    async def refused(*a, **kw):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(client_mod.asyncio, "open_unix_connection", refused)
    app = console(desk)
    async with app.run_test(size=(130, 40)) as pilot:
        await started(app, pilot)
        assert "is this user in the hotline group?" in text_of(app, "#connection")


# ----- snapshots: what the officer sees, kept in review ------------------------------------

SIZE = (120, 34)


@pytest.fixture
def fixed_desk(monkeypatch):
    """A desk whose every on-screen detail is the same on each run: message ids from a counter,
    the socket at one fixed path (its name is on the no-daemon screen)."""
    import itertools
    import shutil
    import tempfile
    import uuid
    from pathlib import Path

    counter = itertools.count(1)
    monkeypatch.setattr("terminal.text.service.uuid.uuid4", lambda: uuid.UUID(int=next(counter)))
    where = Path(tempfile.gettempdir()) / "hotline-console-snapshots"
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir()
    d = Desk(where)
    yield d
    d.close()
    shutil.rmtree(where, ignore_errors=True)


def test_snapshot_a_healthy_desk(fixed_desk, snap_compare):
    desk = fixed_desk
    desk.arrive("Routine check from B", "routine", NOW - 900)
    assert snap_compare(console(desk), terminal_size=SIZE)


def test_snapshot_a_flash_waiting(fixed_desk, snap_compare):
    desk = fixed_desk
    desk.arrive("Lift the handset now", "flash", NOW - 61)
    assert snap_compare(console(desk), terminal_size=SIZE)


def test_snapshot_peer_down_missed_call_and_failed_self_test(fixed_desk, snap_compare):
    desk = fixed_desk
    desk.status["peer"].update(reachable=False, rtt=None, unreachable_since=NOW - 200, last_heard=NOW - 215)
    desk.status["presence"]["far"].update(staffed=False, last_motion_ago=900)
    desk.status["missed_calls"] = [{"at": NOW - 125, "acknowledged": False, "acknowledged_at": None}]
    desk.status["voice_messages_waiting"] = 1
    desk.status["last_selftest"].update(passed=False, failed=["ringer_relay"])
    assert snap_compare(console(desk), terminal_size=SIZE)


def test_snapshot_no_daemon(fixed_desk, snap_compare):
    desk = fixed_desk
    desk.stop()
    assert snap_compare(console(desk), terminal_size=SIZE)
