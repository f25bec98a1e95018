"""Drive a CallMachine from a script of steps on a fake clock, and read its outputs as values."""

from __future__ import annotations

import itertools

from terminal.call.actions import SendControl
from terminal.call.machine import CallMachine
from terminal.call.messages import ControlMessage, Kind, Reason
from terminal.call.settings import CallSettings

RING, RINGING, ANSWER, HANGUP, ACK = Kind.RING, Kind.RINGING, Kind.ANSWER, Kind.HANGUP, Kind.ACK
CALLER_ID = 100          # the first id our machine picks; later attempts get 101, 102...
PEER_ID = 7


def machine(reachable: bool = True, **settings) -> CallMachine:
    ids = itertools.count(CALLER_ID)
    return CallMachine(CallSettings(**settings), reachable=reachable, new_call_id=lambda: next(ids))


def msg(kind: Kind, call_id: int, arg: int = 0) -> ControlMessage:
    return ControlMessage(kind, call_id, arg)


def normalise(outputs) -> list:
    """SendControl payloads decoded to ControlMessage so tests compare values, not bytes."""
    return [ControlMessage.parse(o.payload) if isinstance(o, SendControl) else o for o in outputs]


def step(m: CallMachine, s: tuple) -> list:
    """One scripted step: ("lift", t), ("replace", t), ("recv", ControlMessage, t), ("reachable", t),
    ("unreachable", t), ("timer", t), ("ack_missed", t); ("lift_message", t) lifts while a voice
    message waits, ("message_ended", t) says it has played to its end."""
    name, *args = s
    if name == "recv":
        return normalise(m.receive(bytes(args[0]), args[1]))
    if name == "lift_message":
        return normalise(m.hook_lifted(args[0], message_waiting=True))
    call = {"lift": m.hook_lifted, "replace": m.hook_replaced, "reachable": m.peer_reachable,
            "unreachable": m.peer_unreachable, "timer": m.handle_timer, "ack_missed": m.acknowledge_missed,
            "message_ended": m.voice_message_ended}[name]
    return normalise(call(*args))


def run(m: CallMachine, steps) -> list:
    out = []
    for s in steps:
        out = step(m, s)
    return out


def sent(outputs) -> list[ControlMessage]:
    return [o for o in outputs if isinstance(o, ControlMessage)]


ONE_WAY = 0.04


class Pair:
    """Units a and b; SendControl outputs travel to the other side after ONE_WAY unless `drop` says so."""

    def __init__(self, drop=lambda sender, payload: False):
        ids_a, ids_b = itertools.count(1000), itertools.count(2000)
        self.a = CallMachine(CallSettings(), reachable=True, new_call_id=lambda: next(ids_a))
        self.b = CallMachine(CallSettings(), reachable=True, new_call_id=lambda: next(ids_b))
        self.drop = drop
        self.link_up = True
        self.in_flight: list[tuple[float, CallMachine, bytes]] = []
        self.outputs = {"a": [], "b": []}
        self.now = 0.0

    def _name(self, m):
        return "a" if m is self.a else "b"

    def feed(self, m: CallMachine, outputs) -> None:
        self.outputs[self._name(m)] += outputs
        other = self.b if m is self.a else self.a
        for o in outputs:
            if isinstance(o, SendControl) and self.link_up and not self.drop(self._name(m), o.payload):
                self.in_flight.append((self.now + ONE_WAY, other, o.payload))

    def run_until(self, end: float) -> None:
        while True:
            times = [t for t, _, _ in self.in_flight]
            times += [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None]
            nxt = min(times, default=None)
            if nxt is None or nxt > end:
                self.now = end
                return
            self.now = nxt
            due = [item for item in self.in_flight if item[0] <= nxt]
            self.in_flight = [item for item in self.in_flight if item[0] > nxt]
            for _, dest, payload in due:
                # A unit told its peer is unreachable gets nothing until told it is back: the real
                # link reports PeerReachable before it delivers anything, so a packet still in
                # flight when both sides were told "down" is, here, simply lost.
                if dest.reachable:
                    self.feed(dest, dest.receive(payload, nxt))
            for m in (self.a, self.b):
                if m.get_timer() is not None and m.get_timer() <= nxt:
                    self.feed(m, m.handle_timer(nxt))


__all__ = ["Pair", "ONE_WAY", "RING", "RINGING", "ANSWER", "HANGUP", "ACK", "Reason", "CALLER_ID", "PEER_ID",
           "machine", "msg", "normalise", "step", "run", "sent"]
