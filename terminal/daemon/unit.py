"""One unit on an asyncio loop: its link to the peer and the services riding on it.

Services register a handler per inner channel; the link's events fan out to
listeners. Everything protocol-shaped lives in the sans-I/O cores; this file
only moves bytes, time and events between them.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from collections import deque
from types import SimpleNamespace
from typing import Callable

from terminal import __version__
from terminal.daemon.journaling import JournalWriter
from terminal.journal import Journal, JournalFieldError, check_record
from terminal.journal import recovery
from terminal.journal.store import unit_journal
from terminal.keys import UnitKeys
from terminal.control.server import ControlServer
from terminal.daemon.scheduling import normal_priority, raise_thread
from terminal.daemon.texting import TextLink
from terminal.audio.alsaconf import CAPTURE_PCM, PLAYBACK_PCM
from terminal.audio.device_clock import DeviceClockHandset
from terminal.call.settings import CallSettings
from terminal.daemon.calling import CallLink
from gpiozero.exc import BadPinFactory

from terminal.errors import ConfigError
from terminal.hardware.profile import load_profile
from terminal.hardware.unit import Hardware, configured_pin_factory
from terminal.daemon.records import RecordsLink
from terminal.daemon.selftesting import attach_selftest
from terminal.daemon.voicemail import VoicemailBox
from terminal.link.echo import HEADER_LEN as ECHO_HEADER_LEN
from terminal.selftest.link import peer_record
from terminal.journal import summarize_call
from terminal.link.constants import (
    CHANNEL_CONTROL, CHANNEL_PRESENCE, CHANNEL_RECORDS, CHANNEL_TEST, CHANNEL_TEXT, CHANNEL_VOICE,
)
from terminal.daemon.metrics import REFRESH_EVERY, Metrics
from terminal.daemon.presencing import PresenceLink
from terminal.call.actions import SetIndicator
from terminal.text import events as text_events
from terminal.link.echo import Echo
from terminal.link.endpoint import LinkEndpoint
from terminal.link.droplog import SUMMARY_EVERY, DropLedger
from terminal.link.events import DataReceived, Event, HandshakeCompleted, PathUp, PeerReachable, PeerUnreachable
from terminal.link.messages import MalformedPacket
from terminal.link.session import LinkSession
from terminal.daemon.linkstate import (
    RATCHET_FILE, TIMESTAMP_FILE, load_ratchet, load_timestamp, save_ratchet, save_timestamp,
)
from terminal.text.handlers import text_handlers
from terminal.text.service import TextService

log = logging.getLogger(__name__)

Handler = Callable[[bytes, float], None]
IN_CALL_UNREACHABLE_AFTER = 1.5   # seconds of silence from the peer during a call (target: noticed within 2 s)
JOURNAL_HUNG = 20.0               # seconds inside one journal write before the watchdog is withheld
AUDIO_STALLED = 2.0               # seconds without a handset frame while audio runs
MISSED_KEPT = 20                  # missed calls the console can list


def _well_formed(entry) -> bool:
    """A recovered record the journal would take; one that is not (a malformed item the peer sent,
    refused when it came) must not keep every other one from being recovered."""
    try:
        check_record(*entry)
    except JournalFieldError as exc:
        log.warning("not recovering a malformed record: %s", exc)
        return False
    return True


class Unit:
    def __init__(self, config: SimpleNamespace, keys: UnitKeys, *, pin_factory=None, handset_factory=None,
                 selftest_loopback=None, stores_sync: str = "deferred"):
        """`pin_factory`: gpiozero's (MockFactory in simulation); `handset_factory`: makes the
        handset's audio streams (PyAudio on the board's ALSA device unless given); `stores_sync`:
        how the message stores reach the card, "deferred" (commit on the loop, fsync on a worker:
        the daemon's) or "full" (synchronous=FULL, each commit fsyncs on the loop: the way before
        issue 14, kept for tests/bench/bench_load.py to compare against)."""
        if stores_sync not in ("deferred", "full"):
            raise ValueError(f"stores_sync is 'deferred' or 'full', not {stores_sync!r}")
        self.config = config
        self.keys = keys
        self.pin_factory = pin_factory
        self.handset_factory = handset_factory
        self.selftest_loopback = selftest_loopback
        self._deferred_sync = stores_sync == "deferred"
        self.on_reload: Callable[[], None] = lambda: None   # the daemon's main loop sets this
        self.name = config.unit.id
        self.handlers: dict[int, Handler] = {CHANNEL_TEST: self._on_echo}
        self.listeners: list[Callable[[Event], None]] = []
        self.echo = Echo()
        self.endpoint: LinkEndpoint | None = None
        self.session: LinkSession | None = None
        self.journal: JournalWriter | None = None
        self.text: TextLink | None = None
        self._store_sync: ThreadPoolExecutor | None = None
        self.records: RecordsLink | None = None
        self.presence: PresenceLink | None = None
        self.metrics: Metrics | None = None
        self._metrics_timer: asyncio.TimerHandle | None = None
        self.missed_calls: deque[dict] = deque(maxlen=MISSED_KEPT)   # this desk's missed calls, oldest first
        self.unreachable_since: float | None = None    # wall time the peer went silent, while it is
        self.selftest_timer = None
        self._drops_timer: asyncio.TimerHandle | None = None
        self.call: CallLink | None = None
        self.control: ControlServer | None = None
        self._echo_waiters: dict[int, asyncio.Future] = {}
        self.journal_fault: str | None = None     # why the journal cannot be written, while it cannot
        self.last_selftest: dict | None = None
        self.zeroized = False                      # told of a zeroize: destroy plaintext once closed
        self.journal_verdict: dict = {}            # the power-on check's verdict on the journal

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def now(self) -> float:
        return self.loop.time()

    async def start(self, sock: socket.socket | None = None, *, control: bool = True) -> None:
        """Open the journal, the link, the text service and the control socket.

        `sock`: an already bound UDP socket (the simulation pre-binds ports). If any part fails,
        what was already started is closed again: no half-started unit stays on the network.
        """
        try:
            await self._start(sock, control)
        except BaseException:
            await self.close("start failed")
            raise

    async def _start(self, sock, control: bool) -> None:
        link, peer = self.config.link, self.config.peer
        data_dir = self.config.unit.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        journal_path, head_path = unit_journal(self.config.unit)
        loop = self.loop
        self.journal = JournalWriter(
            Journal(journal_path, self.keys.journal_signer, unit=self.name, head_path=head_path,
                    static_public=self.keys.identity.static_public, mlkem_public=self.keys.identity.mlkem_public),
            on_fault=lambda reason: loop.call_soon_threadsafe(self._journal_fault, reason),
            on_checkpoint=lambda cp, kinds: loop.call_soon_threadsafe(self._signed, cp, kinds))
        self.journal.record("boot", version=__version__)
        self.journal.arm(self.loop)
        self.session = LinkSession(
            static=self.keys.static,
            peer_static=peer.static_public,
            endpoints=peer.endpoints,
            pairing_id=link.pairing_id,
            psk=peer.psk,
            unreachable_after=link.unreachable_after,
            wall_offset=time.time() - self.now(),
            last_timestamp=load_timestamp(data_dir / TIMESTAMP_FILE),
            on_timestamp=lambda ts: save_timestamp(data_dir / TIMESTAMP_FILE, ts),
            ratchet=load_ratchet(data_dir / RATCHET_FILE, peer.static_public),
            on_ratchet=lambda r: save_ratchet(data_dir / RATCHET_FILE, r, peer.static_public),
            require_hybrid=True,
        )
        self._mode: str | None = None
        self._drops = DropLedger(self._wall_us())
        self._drops_timer = self.loop.call_later(SUMMARY_EVERY, self._journal_drops)
        if sock is not None:
            _, self.endpoint = await self.loop.create_datagram_endpoint(
                lambda: LinkEndpoint(self.session, self._dispatch, self._on_data), sock=sock
            )
            self.session.start(self.now())
            self.endpoint.pump()
        else:
            self.endpoint = await LinkEndpoint.open(self.session, link.listen, self._dispatch, self._on_data)
        self.voicemail = VoicemailBox(data_dir / "voicemail")
        self.call = self._make_call()
        self.call.set_text_unread(False)    # a voice message waiting from before a restart lights the LED
        self.handlers[CHANNEL_CONTROL] = self.call.on_control
        self.handlers[CHANNEL_VOICE] = self.call.on_voice
        reachable = bool(self.session.reachable)
        self.presence = PresenceLink(self.config.presence, self.call.hardware, self.send, self.journal, self.loop,
                                     on_far=self.call.actuator.set_far_staffed)
        self.handlers[CHANNEL_PRESENCE] = self.presence.on_payload
        self.presence.on_link(reachable)
        self.call.listeners.append(self._on_call_output)
        # Both message stores commit on the loop and are fsynced on this one thread (texting.py).
        self._store_sync = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-fsync",
                                              initializer=normal_priority)
        self.records = RecordsLink(TextService(data_dir / "records.sqlite", deferred_sync=self._deferred_sync), self.send,
                                   self.journal, self.loop, self.voicemail,
                                   on_voice_message=self.call.add_voice_message,
                                   signer=self.keys.identity.signing_public.hex(), sync_worker=self._store_sync)
        self.handlers[CHANNEL_RECORDS] = self.records.on_payload
        self.records.start(reachable)
        self.text = TextLink(TextService(data_dir / "text.sqlite", deferred_sync=self._deferred_sync), self.send, self.journal,
                             self.loop, sync_worker=self._store_sync)
        self._recover()
        self.text.listeners.append(self._on_text_action)
        self.handlers[CHANNEL_TEXT] = self.text.on_payload
        self.text.start(reachable)
        if control:
            self.control = ControlServer(self.config.control.socket, group=self.config.control.group)
            self.control.register("link.status", self.link_status)
            self.control.register("call.status", self.call_status)
            self.control.register("call.ack_missed", self._ack_missed)
            self.control.register("unit.provisioned", self._provisioned)
            for method, handler in text_handlers(self.text.service, after=self.text.pump).items():
                self.control.register(method, self.text.after_sync(handler))
            await self.control.start()
        self.selftest_timer = attach_selftest(self, self.selftest_loopback)
        self._lab()
        if self.config.metrics.listen is not None:
            try:
                self.metrics = Metrics(self, self.config.metrics.listen)
            except OSError as exc:
                raise OSError(exc.errno, "cannot serve metrics on %s:%d: %s" % (*self.config.metrics.listen,
                                                                               exc.strerror or exc)) from None
            self.journal.observers.append(self.metrics.on_record)
            self._metrics_timer = self.loop.call_later(REFRESH_EVERY, self._refresh_metrics)

    def _pins(self):
        self.pin_factory = configured_pin_factory(self.config.hardware, self.pin_factory)
        return self.pin_factory

    def _make_call(self) -> CallLink:
        try:
            hardware = Hardware(load_profile(self.config.hardware.board), pin_factory=self._pins(),
                                clock=self.loop.time, dispatch=self.loop.call_soon_threadsafe,
                                call_at=self.loop.call_at, provisioning_button=False)
        except BadPinFactory as exc:
            raise ConfigError(f"no GPIO on this machine ({exc}); a unit without GPIO needs "
                              "[hardware] pin_factory = \"mock\" in its config") from None
        frame_ms = self.config.voice.frame_ms
        handset_factory = self.handset_factory or (
            lambda: DeviceClockHandset(CAPTURE_PCM, PLAYBACK_PCM, frame_ms, thread_setup=raise_thread))
        return CallLink(settings=CallSettings(**vars(self.config.call)), voice=self.config.voice,
                        hardware=hardware, handset_factory=handset_factory, send=self.send,
                        journal=self.journal, loop=self.loop, reachable=bool(self.session.reachable),
                        liveness=self._call_liveness,
                        on_voice_message=lambda message: self.records.send_voice_message(message),
                        on_call_over=self._send_call_outcome, voicemail=self.voicemail)

    def _recover(self) -> None:
        """Before the stores say anything new: journal what a kill left committed in them but not
        in the journal (terminal/journal/recovery.py)."""
        messages = self.text.service.store.list()
        items = [m.text for m in self.records.service.store.list() if m.direction == "in"]

        def recover(journal: Journal) -> int:
            found = journal.find(recovery.TEXT_KINDS + recovery.RECORDS_KINDS)
            written = 0
            for entries, source in ((recovery.missing_text(messages, recovery.journalled_text(found)), "text"),
                                    (recovery.missing_records(items, recovery.journalled_records(found)),
                                     "records")):
                entries = [entry for entry in entries if _well_formed(entry)]
                if entries:
                    journal.append_many(entries + [("recovered", None, {"count": len(entries), "source": source})])
                    log.warning("%s: journalled %d record(s) a stop left only in the %s store",
                                self.name, len(entries), source)
                    written += len(entries)
            return written

        self.journal.query(recover).add_done_callback(
            lambda f: f.exception() is not None and log.error("%s: recovering journal records failed: %s",
                                                              self.name, f.exception()))

    def _journal_fault(self, reason: str | None) -> None:
        """The journal stopped (reason) or started again (None) taking records: the fault LED says so.
        A journal changed behind the unit's back takes the unit off the line, as at start: the
        reload's power-on check fails (REWRITTEN) and nothing more is journalled or signed in it."""
        self.journal_fault = reason
        if self.call is not None and reason is not None:
            self.call.hardware.leds["fault"].on()     # the next passing self-test puts it out
        if self.journal is not None and self.journal.rewritten is not None:
            self.loop.call_soon(self.on_reload)

    def _signed(self, checkpoint, kinds: list[str]) -> None:
        """A checkpoint was signed: the peer witnesses it, unless it covers only the peer's own
        checkpoints (witnessing those back would never end)."""
        if self.records is not None and any(kind != "peer_checkpoint" for kind in kinds):
            self.records.witness(checkpoint)

    def _send_call_outcome(self, call_id: str) -> None:
        """Both journals hold both sides' view: summarise our records of the call for the peer."""
        future = self.journal.query(lambda journal: summarize_call(journal.records(call_id)))
        loop = self.loop

        def deliver(fields: dict) -> None:
            if self.records is not None:     # a unit shutting down sends it no more
                self.records.send_outcome(call_id, fields)
        future.add_done_callback(lambda f: f.exception() is None and loop.call_soon_threadsafe(deliver, f.result()))

    def _on_text_action(self, event) -> None:
        if isinstance(event, text_events.MessageLed):
            self.call.set_text_unread(event.on)
        elif isinstance(event, text_events.RingerBurst):
            self.call.ringer_burst(event.seconds)

    def _call_liveness(self, in_call: bool) -> None:
        """Voice flows every frame during a call, so a silent peer is noticed in IN_CALL_UNREACHABLE_AFTER."""
        seconds = IN_CALL_UNREACHABLE_AFTER if in_call else self.config.link.unreachable_after
        if self.records is not None:          # no witness commits on the loop while voice flows; after
            self.loop.call_soon(self._hold_witness, in_call)   # the call machine's step, as the timer below
        self.session.set_unreachable_after(seconds, self.now())
        self.loop.call_soon(self._pump_link)   # re-arm the link's timer, outside the call machine's step
        if self.metrics is not None:
            self.metrics.call_voice(in_call)

    def _hold_witness(self, in_call: bool) -> None:
        if self.records is not None:
            self.records.hold(in_call)

    def _pump_link(self) -> None:
        if self.endpoint is not None:
            self.endpoint.pump()

    async def _provisioned(self, change: str, detail: str = "") -> dict:
        """The provisioning service changed keys or config on disk: journal it, then reload. After a
        zeroize the unit goes off the line at once, and the daemon destroys the messages' plaintext
        once the unit is closed (terminal/provisioning/zeroize.py)."""
        await asyncio.wrap_future(self.journal.record("provisioning", change=str(change), detail=str(detail)[:500]))
        if change == "zeroize":
            self.zeroized = True
        self.loop.call_soon(self.on_reload)
        return {"journalled": True, "off_line": True,
                "plaintext": "destroyed when the unit has closed" if change == "zeroize" else "kept"}

    def _lab(self) -> None:
        """With mock pins only, never with real ones: the lab lifts and replaces the handset from
        outside (`hotline lab hook up|down`)."""
        if self.config.hardware.pin_factory != "mock" or self.control is None:
            return

        def hook(position: str) -> dict:
            if position not in ("up", "down"):
                raise ValueError("position must be 'up' (lifted) or 'down' (replaced)")
            pin = self.pin_factory.pin(self.call.hardware.profile.hook.pin)
            pin.drive_low() if position == "up" else pin.drive_high()   # the contact closes to ground when lifted
            return {"hook": position}
        self.control.register("lab.hook", hook)

    def status(self) -> dict:
        """What `hotline status` shows of a unit on line (the daemon adds state, reason, version)."""
        link = self.link_status()
        writer = self.journal
        unread = self.text.service.store.unread_counts() if self.text is not None else {}   # one query for both
        return {
            "unit": self.name,
            "peer": {"id": link["peer"], "reachable": link["reachable"], "last_heard": link["last_heard"],
                     "endpoint": link["endpoint"], "rtt": link["rtt"] if link["reachable"] else None,
                     "unreachable_since": None if link["reachable"] else self.unreachable_since},
            "presence": {"here": self.presence.core.here_view(self.now()), "far": self.presence.core.far_view(self.now())}
            if self.presence is not None else None,
            "link_led": self.call.actuator.link_led if self.call is not None else "off",
            "missed_calls": list(reversed(self.missed_calls)),
            "voice_messages_waiting": len(self.call.voice_messages) if self.call is not None else 0,
            "urgent_unread": self.text.service.store.unread_urgent() if self.text is not None else [],
            "unread_by_precedence": {p: {"count": n, "oldest_received_at": at} for p, (n, at) in unread.items()},
            "metrics": "http://%s:%d/metrics" % self.metrics.address if self.metrics is not None else None,
            "link": {"paths": link["paths"], "drops": link["drops"], "duplicates": link["duplicates"],
                     "cookie_replies_sent": link["cookie_replies_sent"], "mode": link["mode"]},
            "call": self.call_status()["state"],
            "unread_messages": sum(n for n, _ in unread.values()),
            "message_store_fault": next((str(link.sync_error) for link in (self.text, self.records)
                                         if link is not None and link.sync_error is not None), None),
            "missed_call_shown": self.call.machine.missed.shown if self.call is not None else False,
            "last_selftest": self.last_selftest,
            "journal": {**self.journal_verdict, "fault": self.journal_fault,
                        "lost_records": writer.lost.count if writer else 0,
                        "signing": writer is not None and writer.rewritten is None,
                        "witnessed_by_peer": self.records.witnessed if self.records is not None else 0},
        }

    def status_line(self) -> str:
        """One line for systemd's STATUS and the log."""
        s = self.status()
        peer = s["peer"]
        parts = [f"on line; peer {peer['id']} {'reachable' if peer['reachable'] else 'UNREACHABLE'}"]
        if s["unread_messages"]:
            parts.append(f"{s['unread_messages']} unread")
        if s["missed_call_shown"]:
            parts.append("missed call")
        test = s["last_selftest"]
        if test and test["failed"]:
            parts.append("self-test FAILED: " + ", ".join(test["failed"]))
        if s["journal"]["fault"]:
            parts.append(f"journal fault: {s['journal']['fault']}")
        return "; ".join(parts)

    def selftest_done(self, summary, at: float | None = None) -> None:
        """Remember the latest self-test run for `hotline status`."""
        self.last_selftest = {"kind": summary.kind, "at": time.time() if at is None else at,
                              "passed": summary.passed, "failed": [r.name for r in summary.failures],
                              "results": [{"name": r.name, "passed": r.passed, "detail": r.detail}
                                          for r in summary.results]}
        chain = next((r for r in summary.results if r.name == "journal_chain"), None)
        if chain is not None:     # the power-on check's verdict on the journal this run continues
            self.journal_verdict = {"verdict": chain.data.get("verdict", "intact" if chain.passed else "FAILED"),
                                    "unsigned": chain.data.get("unsigned_tail", 0), "at_start": True}

    def health(self, now: float, mono: Callable[[], float] = time.monotonic) -> str | None:
        """Why the watchdog must not be fed (the journal writer or the handset audio hung), or None.
        `now` is loop time; `mono` the clock the journal writer's busy time is on."""
        if self.journal is not None and self.journal.hung_for(mono()) > JOURNAL_HUNG:
            return f"the journal writer has been inside one write for over {JOURNAL_HUNG:g} s"
        stalled = self.call.audio_stalled(now) if self.call is not None else None
        if stalled is not None and stalled > AUDIO_STALLED:
            return f"the handset audio has delivered no frame for {stalled:.1f} s"
        return None

    def _ack_missed(self) -> dict:
        """A person at the console saw the missed call (as lifting the handset would say)."""
        shown = self.call.machine.missed.shown
        self.call.acknowledge_missed()
        return {"acknowledged": shown}

    def call_status(self) -> dict:
        return {"state": self.call.machine.state.name.lower()}

    def link_status(self) -> dict:
        session = self.session
        last = session.last_received
        stats = session.stats
        return {
            "peer": self.config.peer.id,
            "reachable": bool(session.reachable),
            "last_heard": None if last is None else last + session.wall_offset,
            "rtt": session.rtt,
            "endpoint": "%s:%d" % session.destination[:2],
            "paths": session.path_report(self.now()),
            "rejected": session.rejected,
            "drops": session.drops,
            "duplicates": stats["duplicates"],
            "cookie_replies_sent": stats["cookie_replies_sent"],
            "handshakes": stats["handshakes_initiated"] + stats["handshakes_responded"],
            "mode": session.mode,
            "pq_exchanges": stats["pq_exchanges"],
        }

    def _refresh_metrics(self) -> None:
        if self.metrics is None:
            return
        try:
            self.metrics.refresh()
        except Exception:
            log.exception("could not refresh the metrics")
        self._metrics_timer = self.loop.call_later(REFRESH_EVERY, self._refresh_metrics)

    def _on_call_output(self, out, now: float) -> None:
        """The missed-call indicator's history, for the console: when it lit, whether a person saw it."""
        if isinstance(out, SetIndicator) and out.name == "missed":
            if out.on:
                self.missed_calls.append({"at": time.time(), "acknowledged": False, "acknowledged_at": None})
            else:
                for missed in self.missed_calls:
                    if not missed["acknowledged"]:
                        missed.update(acknowledged=True, acknowledged_at=time.time())

    def _wall_us(self) -> int:
        return int(time.time() * 1_000_000)

    def _journal_drops(self, *, again: bool = True) -> None:
        """Once a minute: one link_drops record if anything was dropped since the last one."""
        if self.session is None or self.journal is None:
            return
        fields = self._drops.tick(self.session.drops, self._wall_us())
        if fields is not None:
            self.journal.record("link_drops", **fields)
        if again:
            self._drops_timer = self.loop.call_later(SUMMARY_EVERY, self._journal_drops)

    def send(self, channel: int, payload: bytes, via=None) -> None:
        if self.endpoint is None:      # closing: nothing leaves a unit whose link is shut
            return
        self.endpoint.send(channel, payload, via)

    def path_quality(self, endpoint) -> tuple[float | None, float | None, int | None]:
        """The link's own measure of one path (probe round trip, loss, probes it is measured on),
        for the link self-test."""
        path = self.session.paths.find(tuple(endpoint)) if self.session is not None else None
        if path is None:
            return None, None, None
        lost, settled = path.settled(self.now(), self.session.probe_timeout)
        return path.rtt, (lost / settled if settled else None), settled

    async def echo_test(self, payload: bytes, timeout: float, via=None) -> float | None:
        """An authenticated round trip to the peer (over endpoint `via` if given); RTT in seconds or None."""
        echo_id, data = self.echo.request(payload, self.now())
        waiter = self.loop.create_future()
        self._echo_waiters[echo_id] = waiter
        self.send(CHANNEL_TEST, data, via)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._echo_waiters.pop(echo_id, None)
            self.echo.forget(echo_id)

    async def close(self, reason: str = "stop") -> None:
        """Stop serving, close the link and sign the journal's tail. Idempotent."""
        if self.selftest_timer is not None:
            self.selftest_timer.close()
            self.selftest_timer = None
        if self._drops_timer is not None:
            self._drops_timer.cancel()
            self._drops_timer = None
            self._journal_drops(again=False)        # the last partial minute
        if self.metrics is not None:
            self._metrics_timer.cancel()
            self.metrics.close()
            self.metrics = None
        if self.control is not None:
            await self.control.close()
            self.control = None
        for name in ("text", "records", "presence"):
            link = getattr(self, name)
            if link is not None:
                link.close()
                setattr(self, name, None)
        if self._store_sync is not None:
            self._store_sync.shutdown(wait=True)
            self._store_sync = None
        if self.call is not None:
            self.call.close()
            self.call = None
        if self.endpoint is not None:
            endpoint, self.endpoint = self.endpoint, None
            endpoint.close()
            await asyncio.wait_for(asyncio.shield(endpoint.closed), 5)   # the port is free for a restart
        if self.journal is not None:
            self.journal.close(reason)
            self.journal = None

    def _on_echo(self, payload: bytes, now: float) -> None:
        reply = self.echo.on_payload(payload, now)
        if reply is not None:
            self.send(CHANNEL_TEST, reply)
            fields = peer_record(payload[ECHO_HEADER_LEN:])
            if fields is not None:   # the peer's link test: both journals show it
                self.journal.record("selftest", **fields)
            return
        result = self.echo.results[-1]
        waiter = self._echo_waiters.get(result.id)
        if waiter is not None and not waiter.done():
            waiter.set_result(result.rtt)

    def _on_data(self, channel: int, payload: bytes, at: float) -> None:
        handler = self.handlers.get(channel)
        if handler is None:
            self.session.stats["dropped_no_handler"] += 1
            return
        try:
            handler(payload, at)
        except MalformedPacket as exc:
            self.session.stats["dropped_malformed_service"] += 1
            log.debug("%s: dropped a malformed channel-%d payload: %s", self.name, channel, exc)

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, DataReceived):
            self._on_data(event.channel, event.payload, event.at)
            return
        if isinstance(event, HandshakeCompleted):
            mode = "hybrid-mlkem768" if event.hybrid else "classical"
            if mode != self._mode:               # the journal says which keys carried what, and since when
                self._mode = mode
                self.journal.record("link_mode", mode=mode)
        if isinstance(event, PathUp):           # a new or rebound path: resend what waits at once
            for link in (self.text, self.records):
                if link is not None:
                    link.on_link(True)
            self.journal.record("link_up", path="%s:%d" % event.addr[:2])
        if isinstance(event, (PeerReachable, PeerUnreachable)):
            if isinstance(event, PeerUnreachable):
                self.unreachable_since = time.time()
            for link in (self.text, self.records, self.presence):
                if link is not None:
                    link.on_link(isinstance(event, PeerReachable))
            if self.call is not None:
                self.call.on_link(isinstance(event, PeerReachable), event.at)
        if isinstance(event, PeerReachable):
            self.journal.record("link_up", path="%s:%d" % self.session.destination[:2])
        elif isinstance(event, PeerUnreachable):
            self.journal.record("link_down", reason=f"no authenticated packet for {event.silent_for:.1f} s")
        for listener in self.listeners:
            listener(event)
