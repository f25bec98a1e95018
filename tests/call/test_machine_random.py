"""Random sequences of lifts, hang-ups, link drops, losses and waits on two units: invariants hold throughout,
and afterwards the pair still settles and can call."""

from __future__ import annotations

import random

from hypothesis import example, given, settings
from hypothesis import strategies as st

from terminal.call.actions import (
    PlayVoiceMessage, StartRecording, StartRinger, StartVoice, StopRecording, StopRinger, StopVoice, StopVoiceMessage,
)
from terminal.call.machine import State

from tests.call.harness import Pair

# Weighted so that calls get far enough to be answered and hung up, with the rarer events mixed in.
OPS = st.lists(st.sampled_from(
    [("hook", "a"), ("hook", "b")] * 4
    + [("wait", 0.05), ("wait", 0.3), ("wait", 2.0)] * 3
    + [("wait", 0.01), ("wait", 25.0), ("wait", 70.0), ("link", False), ("link", True),
       ("ack_missed", "a"), ("ack_missed", "b"),
       ("cut", False), ("cut", True), ("notice", "a"), ("notice", "b"),
       ("hook_message", "a"), ("hook_message", "b"), ("message_ended", "a"), ("message_ended", "b")]
), max_size=40)


def last(outputs, kinds):
    found = [o for o in outputs if isinstance(o, kinds)]
    return found[-1] if found else None


def check(p: Pair, off_hook: dict) -> None:
    settled = not p.in_flight and p.a.outbox.deadline() is None and p.b.outbox.deadline() is None
    if settled and p.a.state is p.b.state is State.CONNECTED:
        assert p.a.call_id == p.b.call_id                 # both name the call the same way (glare included)
    for name in ("a", "b"):
        m, out = getattr(p, name), p.outputs[name]
        if off_hook[name]:
            assert m.state not in (State.IDLE, State.RINGING), (name, m.state)
        else:
            assert m.state in (State.IDLE, State.RINGING), (name, m.state)
        assert isinstance(last(out, (StartVoice, StopVoice)), StartVoice) == (m.state is State.CONNECTED)
        assert isinstance(last(out, (StartRecording, StopRecording)), StartRecording) == (m.state is State.RECORDING)
        if m.state is State.RINGING:
            assert isinstance(last(out, (StartRinger, StopRinger)), StartRinger)
        if m.state is State.LISTENING:
            assert isinstance(last(out, (PlayVoiceMessage, StopVoiceMessage)), PlayVoiceMessage)


@settings(max_examples=300, deadline=None)
@given(OPS, st.floats(0.0, 0.5), st.integers(0, 2**32))
# Found by this test: A hangs up during a silent cut; its HANGUP gave up after 30 s while B
# rang on to its 60 s T2. A HANGUP now outlives the peer's ringing.
@example([("hook", "a"), ("cut", False), ("hook", "a"), ("wait", 25.0), ("wait", 25.0)], 0.0, 0)
def test_random_sequences(ops, loss, seed):
    rng = random.Random(seed)
    p = Pair(drop=lambda sender, payload: rng.random() < loss)
    off_hook = {"a": False, "b": False}
    for op, arg in ops:
        if op in ("hook", "hook_message"):         # hook_message: a voice message waits when it is lifted
            m = getattr(p, arg)
            p.feed(m, m.hook_replaced(p.now) if off_hook[arg] else m.hook_lifted(p.now, op == "hook_message"))
            off_hook[arg] = not off_hook[arg]
        elif op == "message_ended":
            m = getattr(p, arg)
            p.feed(m, m.voice_message_ended(p.now))
        elif op == "ack_missed":
            m = getattr(p, arg)
            p.feed(m, m.acknowledge_missed(p.now))
        elif op == "cut":                          # the network changes; the units notice later, one by one
            p.link_up = arg
        elif op == "notice":
            m = getattr(p, arg)
            if m.reachable != p.link_up:
                p.feed(m, m.peer_reachable(p.now) if p.link_up else m.peer_unreachable(p.now))
        elif op == "link":
            p.link_up = arg
            for m in (p.a, p.b):
                if m.reachable != arg:
                    p.feed(m, m.peer_reachable(p.now) if arg else m.peer_unreachable(p.now))
        else:
            p.run_until(p.now + arg)
        check(p, off_hook)

    # Settle: link up, no loss, handsets down, everything acknowledged.
    p.drop = lambda sender, payload: False
    p.link_up = True
    for m in (p.a, p.b):
        if not m.reachable:
            p.feed(m, m.peer_reachable(p.now))
    for name in ("a", "b"):
        if off_hook[name]:
            m = getattr(p, name)
            p.feed(m, m.hook_replaced(p.now))
            off_hook[name] = False
    p.run_until(p.now + 5.0)
    assert p.a.state is p.b.state is State.IDLE           # nothing rings on once both handsets are down
    p.run_until(p.now + 100.0)
    for m in (p.a, p.b):
        p.feed(m, m.acknowledge_missed(p.now))
    p.run_until(p.now + 40.0)
    check(p, off_hook)
    for name in ("a", "b"):
        m = getattr(p, name)
        assert m.state is State.IDLE and not m.missed.shown
        assert m.outbox.deadline() is None
        assert not isinstance(last(p.outputs[name], (StartRinger, StopRinger)), StartRinger)

    # And the pair still works: A lifts, B rings, B answers.
    p.feed(p.a, p.a.hook_lifted(p.now))
    p.run_until(p.now + 0.1)
    assert p.b.state is State.RINGING
    p.feed(p.b, p.b.hook_lifted(p.now))
    p.run_until(p.now + 0.1)
    assert p.a.state is p.b.state is State.CONNECTED and p.a.call_id == p.b.call_id
