"""The watch floor's view: a real HTTP scrape of a running unit's Prometheus endpoint, after a
simulated call and a missed ring, read with prometheus_client's own parser."""

import asyncio
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from terminal.call import actions as act
from terminal.sim.call import CallWatcher, bring_up, lift, place_call, replace
from terminal.sim.provision import provision_pair
from terminal.sim.run import SIM_TIMERS, talking_units


def samples(text: str) -> dict:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = {k: v for k, v in sample.labels.items() if k != "unit"}
            out[(sample.name, tuple(sorted(labels.items())))] = sample.value
            out.setdefault(("unit", ()), sample.labels.get("unit"))
    return out


async def scrape(unit) -> dict:
    unit.metrics.refresh()                    # what its one-second tick does
    url = unit.status()["metrics"]
    body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read().decode())
    return samples(body)


async def test_a_scrape_counts_rings_answers_and_misses_and_sees_a_ring_going_unanswered(tmp_path):
    extra = {**SIM_TIMERS, "metrics": {"listen": "127.0.0.1:0"}}
    a_sim, b_sim = provision_pair(tmp_path, extra=extra)
    a, b = talking_units(tmp_path, (a_sim, b_sim), lead_in=0.2)
    try:
        await bring_up(a, b, (a_sim.sock, b_sim.sock))
        first = await scrape(b)
        assert first[("hotline_peer_reachable", ())] == 1.0 and first[("unit", ())] == "B"
        assert first[("hotline_rings_total", (("direction", "incoming"),))] == 0
        assert b.status()["metrics"].startswith("http://127.0.0.1:")

        await place_call(a, b, answer_after=0.3, talk_for=0.5)
        answered = await scrape(b)
        assert answered[("hotline_rings_total", (("direction", "incoming"),))] == 1
        assert answered[("hotline_answered_total", ())] == 1
        assert answered[("hotline_time_to_answer_seconds_count", ())] == 1
        assert answered[("hotline_time_to_answer_seconds_bucket", (("le", "1.0"),))] == 1
        assert answered[("hotline_call_cpu_seconds_count", ())] == 1
        assert answered[("hotline_call_cpu_seconds_sum", ())] > 0

        wa, wb = CallWatcher(a), CallWatcher(b)
        lift(a)                                         # nobody answers at B this time
        await wb.wait_for(act.SecondaryAlert, 10)       # T1 has passed: still ringing
        ringing = await scrape(b)
        assert ringing[("hotline_ringing_seconds", ())] >= SIM_TIMERS["call"]["alert_after"] - 0.5
        await wa.wait_for(act.CallMissed, 10)
        replace(a)
        missed = await scrape(b)
        assert missed[("hotline_missed_total", ())] == 1
        assert missed[("hotline_ringing_seconds", ())] == 0
        assert missed[("hotline_missed_call_unacknowledged", ())] == 1
        assert missed[("hotline_rings_total", (("direction", "incoming"),))] == 2
        caller = await scrape(a)
        assert caller[("hotline_rings_total", (("direction", "outgoing"),))] == 2
    finally:
        await a.close()
        await b.close()


def test_metrics_refuse_an_address_off_the_loopback(tmp_path):
    import pytest

    from terminal import config as config_mod
    from terminal.errors import ConfigError

    a_sim, b_sim = provision_pair(tmp_path, extra={"metrics": {"listen": "0.0.0.0:9477"}})
    a_sim.sock.close(), b_sim.sock.close()
    with pytest.raises(ConfigError, match=r"\[metrics\] listen: expected a loopback address"):
        config_mod.load(a_sim.config_path)
