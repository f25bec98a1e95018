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
"""

from __future__ import annotations

import logging
import os
import resource

log = logging.getLogger(__name__)

RT_PRIORITY = 10        # above every kernel default thread a Pi runs at SCHED_OTHER, far below IRQ threads


def _allowed(priority: int) -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_RTPRIO)
    return priority if soft == resource.RLIM_INFINITY else min(priority, soft)


def take_realtime(priority: int = RT_PRIORITY, allowed: int | None = None) -> str:
    """Put the calling thread at SCHED_RR `priority`, capped at `allowed` (by default the soft
    RLIMIT_RTPRIO the service grants); say what it runs at. A refusal is logged, not raised."""
    limit = min(priority, _allowed(priority) if allowed is None else allowed)
    if limit <= 0:
        return "normal (RLIMIT_RTPRIO is 0: not run by hotline.service, or systemd could not raise it)"
    try:
        os.sched_setscheduler(0, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(limit))
    except OSError as exc:
        log.warning("running at the normal CPU priority: SCHED_RR %d refused (%s)", limit, exc.strerror or exc)
        return f"normal (SCHED_RR {limit} refused: {exc.strerror or exc})"
    return f"SCHED_RR {limit}"


def raise_thread(priority: int = RT_PRIORITY, allowed: int | None = None) -> bool:
    """The calling thread (an audio thread) at SCHED_RR `priority` if allowed; quietly False if not
    (the loop's own attempt has said why)."""
    limit = min(priority, _allowed(priority) if allowed is None else allowed)
    if limit <= 0:
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(limit))
    except OSError:
        return False
    return True


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
