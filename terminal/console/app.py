"""`hotline console`: the duty officer's desk. Nothing here may let a ring or a FLASH go unseen.

Everything comes through the control socket (`unit.status`, `msg.list` pages, `msg.send`,
`msg.ack`, `call.ack_missed`); the console holds nothing of its own beyond what it last
fetched. A FLASH or IMMEDIATE message that arrives unread takes over the top of the
screen in its precedence's colour, rings the terminal bell (again every re-alert
interval while unread, as the unit's own re-alert does), and the thread jumps to it;
one key (A) acknowledges it. Rows always on screen: the peer (green reachable with
when last heard, red UNREACHABLE with since when), the far desk (staffed or nobody
seen), the call, missed calls, voice messages waiting, faults and the last self-test.

Keys: a = acknowledge (the banner's message, else the selected one), m = acknowledge
the missed call, r = refresh, ctrl+q = quit. Scrolling to the end of the thread loads
the next older page. With no daemon (or a daemon that dies, or a socket this user may
not use) the console says so on screen and keeps trying every poll.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Callable

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Footer, Header, Input, Select, Static

from terminal.console.render import (
    banner, call_line, far_desk_line, health_line, message_row, missed_line, peer_line, voice_line,
)
from terminal.control.client import ControlClient
from terminal.control.protocol import ControlError
from terminal.text.alert import DEFAULT_INTERVALS
from terminal.text.precedence import Precedence

COLUMNS = ("Written", "", "Precedence", "State", "Text")
PAGE = 100
REALERT = {p.name.lower(): seconds for p, seconds in DEFAULT_INTERVALS.items()}
ROWS = ("peer", "far", "call", "missed", "voice", "health")


class ConsoleApp(App):
    TITLE = "Hotline"
    CSS = """
    #banner { display: none; height: auto; padding: 1 2; text-style: bold; }
    #banner.flash { display: block; background: $error; color: $text; }
    #banner.immediate { display: block; background: $warning; color: $text; }
    #rows { height: auto; }
    .row { height: 1; padding: 0 1; }
    .ok { color: $success; }
    .bad { color: $error; text-style: bold; }
    .warn { color: $warning; }
    .active { color: $accent; text-style: bold; }
    .unknown { color: $text-muted; }
    #connection { height: auto; padding: 0 1; color: $error; text-style: bold; display: none; }
    #connection.down { display: block; }
    #thread { height: 1fr; }
    #detail { height: auto; max-height: 8; padding: 0 1; border-top: solid $primary; overflow-y: auto; }
    #compose-row { height: auto; }
    #precedence { width: 20; }
    #compose { width: 1fr; }
    #status { height: 1; padding: 0 1; color: $warning; }
    """
    BINDINGS = [("a", "acknowledge", "Acknowledge"), ("m", "acknowledge_missed", "Missed call seen"),
                ("r", "refresh", "Refresh"), ("ctrl+q", "quit", "Quit")]

    def __init__(self, socket_path: str | os.PathLike, *, poll: float = 2.0, utc: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.client = ControlClient(socket_path)
        self.socket_path = str(socket_path)
        self.poll = poll
        self.utc = utc
        self.clock = clock
        self.status: dict | None = None
        self.messages: dict[str, dict] = {}
        self.order: list[str] = []
        self.next_cursor: str | None = None
        self.bells = 0
        self._alerted: dict[str, float] = {}       # urgent message id -> when the bell last rang for it
        self._loading = False
        self.refreshed = asyncio.Event()           # set after each refresh: tests and scripts wait on it
        self.older_loaded = asyncio.Event()        # set after each older page is added

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="banner")
        yield Static("", id="connection")
        with Vertical(id="rows"):
            for name in ROWS:
                yield Static("…", id=name, classes="row unknown")
        yield DataTable(id="thread", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")
        with Horizontal(id="compose-row"):
            yield Select([(p.name, p.name.lower()) for p in Precedence], value="routine",
                         allow_blank=False, id="precedence")
            yield Input(placeholder="Write a message, Enter to send", id="compose")
            yield Button("Send", id="send", variant="primary")
        yield Static("", id="status")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.set_interval(self.poll, self.action_refresh)
        await self.action_refresh()

    async def on_unmount(self) -> None:
        await self.client.close()

    # --- talking to the daemon -----------------------------------------------------

    async def action_refresh(self) -> None:
        self.refreshed.clear()
        try:
            self.status = await self.client.call("unit.status")
            await self._reload_messages()
        except ControlError as e:
            self._connection(str(e))
        except Exception as e:          # never a traceback on the duty officer's screen
            self._connection(f"the console could not read the unit: {e}")
        else:
            self._connection(None)
            self._show_status()
        self.refreshed.set()

    async def _reload_messages(self) -> None:
        """The newest pages again, as many rows as are loaded now (at least one page)."""
        want, cursor, loaded = max(PAGE, len(self.order)), None, []
        while len(loaded) < want:
            reply = await self.client.call("msg.list", limit=min(PAGE, want - len(loaded)) or PAGE, cursor=cursor)
            loaded += reply["messages"]
            cursor = reply["next"]
            if cursor is None:
                break
        self.next_cursor = cursor
        self._show(loaded)

    async def load_older(self) -> None:
        if self.next_cursor is None or self._loading:
            return
        self._loading = True
        try:
            reply = await self.client.call("msg.list", limit=PAGE, cursor=self.next_cursor)
        except ControlError as e:
            self._connection(str(e))
        else:
            self.next_cursor = reply["next"]
            table = self.query_one(DataTable)
            for message in reply["messages"]:
                if message["id"] not in self.messages:
                    self.messages[message["id"]] = message
                    self.order.append(message["id"])
                    table.add_row(*message_row(message, self.utc), key=message["id"])
        finally:
            self._loading = False
            self.older_loaded.set()

    def _connection(self, problem: str | None) -> None:
        line = self.query_one("#connection", Static)
        if problem is None:
            line.remove_class("down")
            return
        line.update(f"NO CONTACT WITH THE UNIT: {problem}. Retrying every {self.poll:g} s; what is shown "
                    "below may be out of date.")
        line.add_class("down")
        for name in ROWS:
            self._row(name, ("(unknown: no contact with the unit)", "unknown"))

    def _row(self, name: str, line: tuple[str, str]) -> None:
        widget = self.query_one(f"#{name}", Static)
        widget.update(line[0])
        widget.set_classes(f"row {line[1]}")

    def _show_status(self) -> None:
        s, now = self.status, self.clock()
        self.sub_title = f"unit {s.get('unit', '?')} · times in " + ("UTC" if self.utc else time.strftime("%Z"))
        self._row("peer", peer_line(s, now, self.utc))
        self._row("far", far_desk_line(s))
        self._row("call", call_line(s))
        self._row("missed", missed_line(s, self.utc))
        self._row("voice", voice_line(s))
        self._row("health", health_line(s, self.utc))
        self._show_banner(now)

    def _show_banner(self, now: float) -> None:
        widget = self.query_one("#banner", Static)
        shown = banner(self.status, now, self.utc)
        widget.set_classes("")
        if shown is None:
            self._alerted.clear()
            return
        text, precedence = shown
        widget.update(text)
        widget.add_class(precedence)
        for message in self.status.get("urgent_unread", []):
            last = self._alerted.get(message["id"])
            if last is None or now - last >= REALERT.get(message["precedence"], 60.0):
                if last is None:
                    self.notify(f"{message['precedence'].upper()} message from the far desk",
                                severity="error" if message["precedence"] == "flash" else "warning", timeout=10)
                    self._focus_message(message["id"])
                self._alerted[message["id"]] = now
                self.bells += 1
                self.bell()

    def _focus_message(self, id: str) -> None:
        table = self.query_one(DataTable)
        if id in self.messages:
            table.move_cursor(row=table.get_row_index(id))
            table.focus()

    def _show(self, messages: list[dict]) -> None:
        table = self.query_one(DataTable)
        selected = self.selected_id()
        table.clear()
        self.messages = {m["id"]: m for m in messages}
        self.order = [m["id"] for m in messages]
        for message in messages:
            table.add_row(*message_row(message, self.utc), key=message["id"])
        if selected in self.messages:
            table.move_cursor(row=table.get_row_index(selected))
        self._show_detail()

    def selected_id(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def _show_detail(self) -> None:
        message = self.messages.get(self.selected_id() or "")
        self.query_one("#detail", Static).update(
            "" if message is None else f"{message['id']}\n{message['text']}")

    async def on_data_table_row_highlighted(self, event) -> None:
        self._show_detail()
        table = self.query_one(DataTable)
        if table.row_count and event.cursor_row >= table.row_count - 1:
            await self.load_older()

    async def send(self) -> None:
        box = self.query_one("#compose", Input)
        precedence = self.query_one("#precedence", Select).value
        try:
            result = await self.client.call("msg.send", text=box.value, precedence=precedence)
        except ControlError as e:
            self.say(f"not sent: {e}")
            self.refreshed.set()
            return
        box.value = ""
        self.say(f"{str(precedence).upper()} message {result['id'][:8]} queued")
        await self.action_refresh()

    async def on_input_submitted(self, _event: Input.Submitted) -> None:
        await self.send()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            await self.send()

    async def action_acknowledge(self) -> None:
        urgent = (self.status or {}).get("urgent_unread") or []
        flash = [m for m in urgent if m["precedence"] == "flash"]
        target = (flash or urgent)[0]["id"] if urgent else None
        if target is None:
            message = self.messages.get(self.selected_id() or "")
            if message is None or message["direction"] != "in" or message["state"] != "received":
                self.say("select an unread received message to acknowledge")
                self.refreshed.set()
                return
            target = message["id"]
        try:
            await self.client.call("msg.ack", id=target)
        except ControlError as e:
            self.say(f"not acknowledged: {e}")
        else:
            self.say(f"message {target[:8]} acknowledged; a read receipt is on its way")
        await self.action_refresh()

    async def action_acknowledge_missed(self) -> None:
        try:
            await self.client.call("call.ack_missed")
        except ControlError as e:
            self.say(f"not acknowledged: {e}")
        else:
            self.say("missed call acknowledged")
        await self.action_refresh()

    def say(self, text: str) -> None:
        self.query_one("#status", Static).update(text)


def run_console(socket_path: str | os.PathLike, *, utc: bool = False) -> int:
    ConsoleApp(socket_path, utc=utc).run()
    return 0
