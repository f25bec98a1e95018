"""The daemon's CPU priority (terminal/daemon/scheduling.py), each case in a fresh process so the
test runner's own threads keep theirs."""

import os
import subprocess
import sys

PROBE = """
import sys
from concurrent.futures import ThreadPoolExecutor
from terminal.daemon import scheduling as s
print(s.take_realtime(*map(int, sys.argv[1:])))
print(s.describe())
print(ThreadPoolExecutor(1, initializer=s.normal_priority).submit(s.describe).result())
print(ThreadPoolExecutor(1).submit(s.describe).result())
print(ThreadPoolExecutor(1).submit(lambda: (s.raise_thread(*map(int, sys.argv[1:])), s.describe())[1]).result())
"""


def probe(*args: int) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, text=True,
                          timeout=60, check=True)
    return proc.stdout.splitlines()


def test_outside_the_service_the_loop_stays_at_the_normal_policy():
    taken, loop, worker, _, audio = probe(10, 0)   # allowed 0: as RLIMIT_RTPRIO 0 (a shell, the tests)
    assert taken.startswith("normal (RLIMIT_RTPRIO is 0")
    assert loop.startswith("normal, nice") and worker.startswith("normal, nice")
    assert audio.startswith("normal, nice")


def test_with_the_right_the_loop_takes_sched_rr_and_its_workers_do_not():
    taken, loop, worker, inherited, audio = probe(10, 10)
    if os.geteuid() != 0:                          # without CAP_SYS_NICE the kernel refuses, and it is said
        assert taken == "normal (SCHED_RR 10 refused: Operation not permitted)" and loop.startswith("normal")
        return
    assert (taken, loop) == ("SCHED_RR 10", "SCHED_RR 10")
    assert inherited.startswith("normal, nice")    # SCHED_RESET_ON_FORK: a new thread starts normal
    assert worker.startswith("normal, nice")       # the journal's and the stores' workers
    assert audio == "SCHED_RR 10"                  # an audio thread raises itself


def test_a_refused_priority_is_said_and_the_daemon_goes_on():
    taken, loop, _, _, _ = probe(100, 100)            # beyond SCHED_RR's 1..99: the kernel refuses it
    assert taken == "normal (SCHED_RR 100 refused: Invalid argument)"
    assert loop.startswith("normal, nice")


def test_hotline_status_says_what_the_loop_runs_at():
    from terminal.daemon.status import describe

    text = describe({"state": "unprovisioned", "reason": "no keys", "scheduling": "SCHED_RR 10", "version": "0.1.0"})
    assert "cpu priority: SCHED_RR 10" in text.splitlines()


def test_freezing_the_heap_leaves_a_full_collection_only_what_came_after():
    code = """
import gc
from terminal.daemon import scheduling as s
import terminal.daemon.unit                      # start-up's objects
frozen = s.freeze_heap()
class Cycle: pass
junk = Cycle(); junk.me = junk; del junk         # garbage made after the freeze is still collected
print(frozen, len(gc.get_objects()) < frozen // 10, gc.collect() >= 1)
s.thaw_heap()
print(gc.get_freeze_count())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         check=True).stdout.split()
    assert int(out[0]) > 10_000 and out[1:] == ["True", "True", "0"]
