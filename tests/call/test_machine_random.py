"""Random sequences of lifts, hang-ups, link drops, losses and waits on two units: invariants hold throughout,
and afterwards the pair still settles and can call."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.call.actions import (
    StartRecording, StartRinger, StartVoice, StopRecording, StopRinger, StopVoice,
)
from terminal.call.machine import State

from tests.call.harness import Pair

OPS = st.lists(st.one_of(
    st.tuples(st.sampled_from(["hook", "ack_missed"]), st.sampled_from(["a", "b"])),
    st.tuples(st.sampled_from(["link"]), st.booleans()),
    st.tuples(st.just("wait"), st.sampled_from([0.01, 0.05, 0.3, 2.0, 25.0, 70.0])),
), max_size=30)


def last(outputs, kinds):
    found = [o for o in outputs if isinstance(o, kinds)]
    return found[-1] if found else None


def check(p: Pair, off_hook: dict) -> None:
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


@settings(max_examples=150, deadline=None)
@given(OPS, st.floats(0.0, 0.5), st.integers(0, 2**32))
def test_random_sequences(ops, loss, seed):
    rng = random.Random(seed)
    p = Pair(drop=lambda sender, payload: rng.random() < loss)
    off_hook = {"a": False, "b": False}
    for op, arg in ops:
        if op == "hook":
            m = getattr(p, arg)
            p.feed(m, m.hook_replaced(p.now) if off_hook[arg] else m.hook_lifted(p.now))
            off_hook[arg] = not off_hook[arg]
        elif op == "ack_missed":
            m = getattr(p, arg)
            p.feed(m, m.acknowledge_missed(p.now))
        elif op == "link":
            if arg != p.link_up:
                p.link_up = arg
                for m in (p.a, p.b):
                    p.feed(m, m.peer_reachable(p.now) if arg else m.peer_unreachable(p.now))
        else:
            p.run_until(p.now + arg)
        check(p, off_hook)

    # Settle: link up, no loss, handsets down, everything acknowledged.
    p.drop = lambda sender, payload: False
    if not p.link_up:
        p.link_up = True
        for m in (p.a, p.b):
            p.feed(m, m.peer_reachable(p.now))
    for name in ("a", "b"):
        if off_hook[name]:
            m = getattr(p, name)
            p.feed(m, m.hook_replaced(p.now))
            off_hook[name] = False
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
