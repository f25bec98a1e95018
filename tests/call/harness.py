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
    ("unreachable", t), ("timer", t), ("ack_missed", t)."""
    name, *args = s
    if name == "recv":
        return normalise(m.receive(bytes(args[0]), args[1]))
    call = {"lift": m.hook_lifted, "replace": m.hook_replaced, "reachable": m.peer_reachable,
            "unreachable": m.peer_unreachable, "timer": m.handle_timer, "ack_missed": m.acknowledge_missed}[name]
    return normalise(call(*args))


def run(m: CallMachine, steps) -> list:
    out = []
    for s in steps:
        out = step(m, s)
    return out


def sent(outputs) -> list[ControlMessage]:
    return [o for o in outputs if isinstance(o, ControlMessage)]


__all__ = ["RING", "RINGING", "ANSWER", "HANGUP", "ACK", "Reason", "CALLER_ID", "PEER_ID",
           "machine", "msg", "normalise", "step", "run", "sent"]
