"""`hotline console`: link and call state, the message thread, compose, acknowledge.

Everything goes through the control socket; the console holds no state of
its own beyond what it last fetched. Keys (with the thread focused): a =
acknowledge the selected message, r = refresh, ctrl+q = quit.

Methods it calls (the daemon registers them; link and call may be absent):
    link.status -> {"reachable": bool, "last_heard": epoch seconds | null, "rtt": seconds | null}
    call.status -> {"state": "idle" | "ringing_out" | ...}
    msg.list / msg.send / msg.ack (terminal/text/handlers.py)
"""

from __future__ import annotations

import asyncio
import os
import time

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Footer, Header, Input, Select, Static

from terminal.console.render import call_line, link_line, message_row
from terminal.control.client import ControlClient
from terminal.control.protocol import ControlError
from terminal.text.precedence import Precedence

COLUMNS = ("Written", "", "Precedence", "State", "Text")


class ConsoleApp(App):
    TITLE = "Hotline"
    CSS = """
    #link, #call { height: 1; padding: 0 1; }
    #thread { height: 1fr; }
    #detail { height: auto; max-height: 8; padding: 0 1; border-top: solid $primary; }
    #compose-row { height: auto; }
    #precedence { width: 20; }
    #compose { width: 1fr; }
    #status { height: 1; padding: 0 1; color: $warning; }
    """
    BINDINGS = [("a", "acknowledge", "Acknowledge"), ("r", "refresh", "Refresh"),
                ("ctrl+q", "quit", "Quit")]

    def __init__(self, socket_path: str | os.PathLike, *, poll: float = 2.0) -> None:
        super().__init__()
        self.client = ControlClient(socket_path)
        self.poll = poll
        self.messages: dict[str, dict] = {}
        self.refreshed = asyncio.Event()        # set after each refresh: tests and scripts wait on it

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Peer: …", id="link")
        yield Static("Call: …", id="call")
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

    async def _optional(self, method: str) -> dict | None:
        try:
            return await self.client.call(method)
        except ControlError as e:
            if e.code == "unknown_method":
                return None
            raise

    async def action_refresh(self) -> None:
        self.refreshed.clear()
        try:
            link, call = await self._optional("link.status"), await self._optional("call.status")
            messages = (await self.client.call("msg.list"))["messages"]
        except ControlError as e:
            self.say(str(e))
        else:
            self.query_one("#link", Static).update(link_line(link, time.time()))
            self.query_one("#call", Static).update(call_line(call))
            self._show(messages)
        self.refreshed.set()

    def _show(self, messages: list[dict]) -> None:
        table = self.query_one(DataTable)
        selected = self.selected_id()
        table.clear()
        self.messages = {m["id"]: m for m in messages}
        for message in messages:
            table.add_row(*message_row(message), key=message["id"])
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

    def on_data_table_row_highlighted(self, _event) -> None:
        self._show_detail()

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
        message = self.messages.get(self.selected_id() or "")
        if message is None or message["direction"] != "in" or message["state"] != "received":
            self.say("select an unread received message to acknowledge")
            self.refreshed.set()
            return
        try:
            await self.client.call("msg.ack", id=message["id"])
        except ControlError as e:
            self.say(f"not acknowledged: {e}")
        else:
            self.say(f"message {message['id'][:8]} acknowledged; a read receipt is on its way")
        await self.action_refresh()

    def say(self, text: str) -> None:
        self.query_one("#status", Static).update(text)


def run_console(socket_path: str | os.PathLike) -> int:
    ConsoleApp(socket_path).run()
    return 0
