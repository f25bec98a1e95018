"""Prometheus metrics for the watch floor, on a loopback HTTP endpoint (`[metrics] listen`).

Why an endpoint and not node_exporter's textfile collector (the usual way to scrape a
fleet of Pis): the figures that page someone are ages that grow every second (how long a
ring has gone unanswered, how long a FLASH has waited unread), and a textfile written by
the daemon goes stale silently if the daemon hangs, while a scrape of a hung daemon fails
and `up == 0` says so. The endpoint is loopback only (config refuses anything else); a
ministry's Prometheus reaches it through the unit's management tunnel.

Everything is read on the daemon's loop: `refresh()` (every second and before close)
builds the metric families from the unit's state and the counts taken from its journal
records (`on_record`), and the HTTP thread only serves the last list built. So a scrape
never touches the unit's objects from another thread.
"""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import CollectorRegistry, start_http_server

from terminal import __version__
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

log = logging.getLogger(__name__)
REFRESH_EVERY = 1.0
ANSWER_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)


class Tally:
    """Counts taken from journal records as they are written (the same records the auditor reads)."""

    def __init__(self) -> None:
        self.rings = {"incoming": 0, "outgoing": 0}
        self.answered = 0
        self.missed = 0
        self.answer_times: list[float] = []
        self.ringing_since: dict[str, float] = {}         # call id -> loop time an incoming ring began
        self.selftests: dict[str, tuple[bool, float]] = {}
        self.presence_changes = 0

    def on_record(self, kind: str, call_id: str | None, fields: dict, now: float, wall: float) -> None:
        if kind == "ring_started":
            direction = fields.get("direction", "outgoing")
            self.rings[direction] = self.rings.get(direction, 0) + 1
            if direction == "incoming" and call_id is not None:
                self.ringing_since[call_id] = now
        elif kind == "answered":
            self.answered += 1
            self.answer_times.append(fields["time_to_answer_ms"] / 1000)
            self.ringing_since.pop(call_id, None)
        elif kind == "missed":
            self.missed += 1
            self.ringing_since.pop(call_id, None)
        elif kind in ("call_ended", "call_failed"):
            self.ringing_since.pop(call_id, None)
        elif kind == "selftest":
            self.selftests[fields["check"]] = (bool(fields["passed"]), wall)
        elif kind == "presence":
            self.presence_changes += 1


class Metrics:
    """The registry, the HTTP server and the families of the last refresh."""

    def __init__(self, unit, listen: tuple[str, int]):
        self.unit = unit
        self.tally = Tally()
        self._families: list = []
        self._lock = threading.Lock()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        self.cpu_in_calls = 0.0
        self.calls_timed = 0
        self._call_cpu_from: float | None = None
        self.refresh()
        self._server, self._thread = start_http_server(listen[1], addr=listen[0], registry=self.registry)
        self.address = self._server.server_address[:2]
        log.info("metrics on http://%s:%d/metrics", *self.address)

    # prometheus_client's collector interface: called on the HTTP thread
    def collect(self):
        with self._lock:
            return list(self._families)

    def on_record(self, kind: str, call_id: str | None, fields: dict) -> None:
        self.tally.on_record(kind, call_id, fields, self.unit.now(), time.time())

    def call_voice(self, started: bool) -> None:
        """Voice started or stopped: the process CPU a call costs (both directions, this unit)."""
        if started:
            self._call_cpu_from = time.process_time()
        elif self._call_cpu_from is not None:
            self.cpu_in_calls += time.process_time() - self._call_cpu_from
            self.calls_timed += 1
            self._call_cpu_from = None

    def refresh(self) -> None:
        families = build_families(self.unit, self.tally, self.cpu_in_calls, self.calls_timed)
        with self._lock:
            self._families = families

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _gauge(name: str, doc: str, value: float | None = None, labels: list[str] | None = None):
    family = GaugeMetricFamily(name, doc, labels=labels)
    if value is not None:
        family.add_metric([], value)
    return family


def build_families(unit, tally: Tally, cpu_in_calls: float, calls_timed: int) -> list:
    status = unit.status()
    now = unit.now()
    wall = time.time()
    peer = status["peer"]
    out = [
        _gauge("hotline_peer_reachable", "1 while the peer's authenticated packets arrive", float(peer["reachable"])),
        _gauge("hotline_peer_last_heard_timestamp_seconds", "Unix time of the peer's last authenticated packet",
               peer["last_heard"] or 0.0),
    ]
    far = (status.get("presence") or {}).get("far") or {}
    out.append(_gauge("hotline_far_desk_known", "1 once the peer has reported whether its desk is staffed",
                      float(bool(far.get("known")) and far.get("staffed") is not None)))
    out.append(_gauge("hotline_far_desk_staffed", "1 while the peer's PIR saw someone within its window",
                      float(bool(far.get("staffed")))))
    here = (status.get("presence") or {}).get("here") or {}
    out.append(_gauge("hotline_desk_staffed", "1 while this unit's PIR saw someone within its window",
                      float(bool(here.get("staffed")))))

    rings = CounterMetricFamily("hotline_rings", "Rings started, by direction", labels=["direction"])
    for direction, n in sorted(tally.rings.items()):
        rings.add_metric([direction], n)
    out += [rings,
            CounterMetricFamily("hotline_answered", "Calls answered", value=tally.answered),
            CounterMetricFamily("hotline_missed", "Rings nobody answered (outgoing or incoming)", value=tally.missed)]
    buckets, cumulative = [], 0
    for bound in ANSWER_BUCKETS:
        cumulative = sum(1 for t in tally.answer_times if t <= bound)
        buckets.append((str(bound), cumulative))
    buckets.append(("+Inf", len(tally.answer_times)))
    out.append(HistogramMetricFamily("hotline_time_to_answer_seconds", "From the ring to the answer",
                                     buckets=buckets, sum_value=sum(tally.answer_times)))
    ringing = max((now - t for t in tally.ringing_since.values()), default=0.0)
    out.append(_gauge("hotline_ringing_seconds", "How long the incoming ring now sounding has gone unanswered "
                      "(0 when none)", ringing))

    unread = GaugeMetricFamily("hotline_unread_messages", "Received messages not yet acknowledged, by precedence",
                               labels=["precedence"])
    oldest = GaugeMetricFamily("hotline_oldest_unread_seconds", "Age of the oldest unacknowledged message, "
                               "by precedence (0 when none)", labels=["precedence"])
    for precedence, counts in sorted(status.get("unread_by_precedence", {}).items()):
        unread.add_metric([precedence], counts["count"])
        at = counts["oldest_received_at"]
        oldest.add_metric([precedence], 0.0 if at is None else max(0.0, wall - at))
    out += [unread, oldest]

    passed = GaugeMetricFamily("hotline_selftest_passed", "1 if the check passed in its latest run", labels=["check"])
    ran = GaugeMetricFamily("hotline_selftest_timestamp_seconds", "Unix time of the check's latest run",
                            labels=["check"])
    for check, (ok, at) in sorted(tally.selftests.items()):
        passed.add_metric([check], float(ok))
        ran.add_metric([check], at)
    out += [passed, ran]

    journal = status["journal"]
    out += [
        _gauge("hotline_journal_signing", "1 while the journal signs what it appends", float(journal["signing"])),
        _gauge("hotline_journal_unsigned_records", "Records the power-on check found not covered by a signature",
               float(journal.get("unsigned", 0))),
        CounterMetricFamily("hotline_journal_lost_records", "Records the unit could not write (gap records say which)",
                            value=journal["lost_records"]),
        _gauge("hotline_journal_fault", "1 while the journal cannot be written", float(bool(journal["fault"]))),
    ]

    link = status.get("link") or {}
    up = GaugeMetricFamily("hotline_link_path_up", "1 while the path is live", labels=["path"])
    rtt = GaugeMetricFamily("hotline_link_path_rtt_seconds", "The path's smoothed probe round trip", labels=["path"])
    loss = GaugeMetricFamily("hotline_link_path_loss_ratio", "Share of the path's recent probes unanswered",
                             labels=["path"])
    for path in link.get("paths", []):
        up.add_metric([path["endpoint"]], float(path["state"] == "up"))
        if path["rtt_ms"] is not None:
            rtt.add_metric([path["endpoint"]], path["rtt_ms"] / 1000)
        if path["loss"] is not None:
            loss.add_metric([path["endpoint"]], path["loss"])
    dropped = CounterMetricFamily("hotline_link_dropped", "Datagrams the link dropped, by reason", labels=["reason"])
    for reason, n in sorted(link.get("drops", {}).items()):
        dropped.add_metric([reason], n)
    out += [up, rtt, loss, dropped,
            CounterMetricFamily("hotline_link_duplicates", "Copies from redundant paths the link dropped",
                                value=link.get("duplicates", 0)),
            CounterMetricFamily("hotline_link_cookie_replies", "Cookie replies sent while under load",
                                value=link.get("cookie_replies_sent", 0))]

    cpu = HistogramMetricFamily("hotline_call_cpu_seconds", "Process CPU while a call's voice ran (per call)",
                                buckets=[("+Inf", calls_timed)], sum_value=cpu_in_calls)
    out.append(cpu)
    out.append(_gauge("hotline_missed_call_unacknowledged", "1 while the missed-call indicator waits for a person",
                      float(any(not m["acknowledged"] for m in status.get("missed_calls", [])))))
    out.append(_gauge("hotline_voice_messages_waiting", "Voice messages not yet heard",
                      float(status.get("voice_messages_waiting", 0))))
    info = GaugeMetricFamily("hotline_unit_info", "This unit, its peer and its version", labels=["peer", "version"])
    info.add_metric([str(peer["id"]), __version__], 1.0)
    out.append(info)
    for family in out:        # every series names its unit, so one Prometheus can watch a ministry's pairs
        family.samples = [sample._replace(labels={**sample.labels, "unit": status["unit"]}) for sample in family.samples]
    return out
