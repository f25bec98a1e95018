"""Two services on real SQLite files, a lossy path, and restarts of either unit mid-transfer."""

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.text.precedence import Precedence
from tests.text.lossy import LossyPath, run
from tests.text.nodes import ServiceNode

sends = st.lists(st.tuples(st.integers(1, 5000), st.sampled_from(Precedence), st.floats(0, 10)),
                 min_size=1, max_size=6)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(a_sends=sends, b_sends=sends, loss=st.floats(0, 0.3), duplicate=st.floats(0, 0.2),
       restarts=st.lists(st.tuples(st.sampled_from("ab"), st.floats(0, 15)), max_size=4),
       seed=st.integers(0, 2**32))
def test_restarts_of_either_unit_lose_and_duplicate_nothing(
        tmp_path_factory, a_sends, b_sends, loss, duplicate, restarts, seed):
    root = tmp_path_factory.mktemp("units")
    nodes = {name: ServiceNode(root / f"{name}.db", initial_rto=0.2, max_rto=2.0) for name in "ab"}
    path = LossyPath(random.Random(seed), loss, duplicate, (0.001, 0.2))
    scheduled = [(0.0, lambda now: [n.service.on_peer_reachable(now) for n in nodes.values()])]
    for name, items in (("a", a_sends), ("b", b_sends)):
        for size, precedence, at in items:
            scheduled.append((at, lambda now, n=nodes[name], t="x" * size, p=precedence:
                              n.service.send(t, p, now)))
    for name, at in restarts:
        scheduled.append((at, lambda now, n=nodes[name]: n.restart(now)))

    run(nodes, path, scheduled, until=3000)

    for sender, receiver in (("a", "b"), ("b", "a")):
        s, r = nodes[sender], nodes[receiver]
        assert len(s.sent) == len(a_sends if sender == "a" else b_sends)
        assert r.shown == s.sent
        assert set(s.delivered) == set(s.read) == set(s.sent)
        states = {m.id: m.state for m in s.service.list() if m.direction == "out"}
        assert set(states.values()) == {"read"}
    for node in nodes.values():
        node.service.close()
