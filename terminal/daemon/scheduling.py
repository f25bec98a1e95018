"""The daemon's CPU priority: its event loop (voice, link, timers) and the handset's audio
threads at SCHED_RR when the service allows it, every other thread at the normal policy.

The installed service grants the right with `LimitRTPRIO=` (hw/systemd/hotline.service),
not with `CPUSchedulingPolicy=`: a kernel that refuses real-time scheduling to the
service's cgroup (CONFIG_RT_GROUP_SCHED without a budget) would then fail the start
itself, and a hotline that crash-loops on a priority is worse than one a little late.
Here a refusal is logged once and the unit goes on at its nice level. Outside the service
the limit is 0 (a shell, the tests), and so it is where systemd cannot raise it (in a
container without CAP_SYS_RESOURCE, as the lab on the CI machine: systemd then sets the
closest limit it can, silently); the daemon stays at the normal policy and says why.

Linux scheduling policy is per thread. The loop takes SCHED_RR with SCHED_RESET_ON_FORK,
so threads started later (the journal's signer, the stores' fsync, asyncio.to_thread's
self-tests, gpiozero's blinkers) start at the normal policy, and an ML-DSA signature or a
Goertzel loopback does not hold a core at the loop's priority. The audio threads raise
themselves (`raise_thread`); the workers also drop back in their initializer
(`normal_priority`), for a loop that got RR without the reset flag.

The garbage collector is the other source of loop stalls the priority does not touch: the
daemon freezes what start-up made once the unit is on line (`freeze_heap`).
"""

from __future__ import annotations

import gc
import logging
import os
import resource

log = logging.getLogger(__name__)

RT_PRIORITY = 10        # above every kernel default thread a Pi runs at SCHED_OTHER, far below IRQ threads


def _allowed(priority: int) -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_RTPRIO)
    return priority if soft == resource.RLIM_INFINITY else min(priority, soft)


def _raise(priority: int, allowed: int | None) -> tuple[int, OSError | None]:
    """The calling thread to SCHED_RR (with SCHED_RESET_ON_FORK) at `priority` capped at `allowed`
    (by default the soft RLIMIT_RTPRIO): the priority tried (0: none allowed) and the refusal."""
    limit = min(priority, _allowed(priority) if allowed is None else allowed)
    if limit <= 0:
        return 0, None
    try:
        os.sched_setscheduler(0, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(limit))
    except OSError as exc:
        return limit, exc
    return limit, None


def take_realtime(priority: int = RT_PRIORITY, allowed: int | None = None) -> str:
    """Put the calling thread (the event loop) at SCHED_RR `priority` if allowed; say what it runs
    at. A refusal is logged, not raised."""
    limit, refused = _raise(priority, allowed)
    if limit <= 0:
        return "normal (RLIMIT_RTPRIO is 0: not run by hotline.service, or systemd could not raise it)"
    if refused is not None:
        why = refused.strerror or refused
        log.warning("running at the normal CPU priority: SCHED_RR %d refused (%s)", limit, why)
        return f"normal (SCHED_RR {limit} refused: {why})"
    return f"SCHED_RR {limit}"


def raise_thread(priority: int = RT_PRIORITY, allowed: int | None = None) -> bool:
    """The calling thread (an audio thread) at SCHED_RR `priority` if allowed; quietly False if not
    (the loop's own attempt has said why)."""
    limit, refused = _raise(priority, allowed)
    return limit > 0 and refused is None


def freeze_heap() -> int:
    """Once the unit is on line: collect, then move every object start-up made (modules, config,
    keys, the stores' and the link's state: it lives as long as the unit) out of the garbage
    collector's reach; returns how many. A full collection walks every tracked object, and it
    comes when it comes: 28-35 ms here for a simulated pair's ~49,000 objects (several times
    that on a Pi-class unit), a stall of the loop mid-call. After the freeze a collection walks
    only what was made since. `thaw_heap` before the unit is closed, so what it leaves can go."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def thaw_heap() -> None:
    gc.unfreeze()


def normal_priority() -> None:
    """A worker thread's initializer: back to SCHED_OTHER whatever the thread that started it runs at."""
    if os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK != os.SCHED_OTHER:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def describe() -> str:
    """What the calling thread runs at, for `hotline status`."""
    policy = os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK
    if policy == os.SCHED_RR:
        return f"SCHED_RR {os.sched_getparam(0).sched_priority}"
    if policy == os.SCHED_FIFO:
        return f"SCHED_FIFO {os.sched_getparam(0).sched_priority}"
    return f"normal, nice {os.getpriority(os.PRIO_PROCESS, 0)}"
