"""The daemon's CPU priority: its event loop (voice, link, timers) at SCHED_RR when the
service allows it, its workers at the normal policy.

The installed service grants the right with `LimitRTPRIO=` (hw/systemd/hotline.service),
not with `CPUSchedulingPolicy=`: a kernel that refuses real-time scheduling to the
service's cgroup (CONFIG_RT_GROUP_SCHED without a budget) would then fail the start
itself, and a hotline that crash-loops on a priority is worse than one a little late.
Here a refusal is logged once and the unit goes on at its nice level. Outside the service
the limit is 0 (a shell, the tests), and the daemon stays at the normal policy.

Linux scheduling policy is per thread and inherited by threads started later, so the
loop's thread takes SCHED_RR and each worker thread (the journal's signer, the message
stores' fsync) drops back to SCHED_OTHER in its initializer: an ML-DSA signature must
not hold a core at the loop's priority.
"""

from __future__ import annotations

import logging
import os
import resource

log = logging.getLogger(__name__)

RT_PRIORITY = 10        # above every kernel default thread a Pi runs at SCHED_OTHER, far below IRQ threads


def take_realtime(priority: int = RT_PRIORITY, allowed: int | None = None) -> str:
    """Put the calling thread at SCHED_RR `priority`, capped at `allowed` (by default the soft
    RLIMIT_RTPRIO the service grants); say what it runs at. A refusal is logged, not raised."""
    if allowed is None:
        soft, _ = resource.getrlimit(resource.RLIMIT_RTPRIO)
        allowed = priority if soft == resource.RLIM_INFINITY else soft
    limit = min(priority, allowed)
    if limit <= 0:
        return "normal (RLIMIT_RTPRIO is 0: not run by hotline.service)"
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(limit))
    except OSError as exc:
        log.warning("running at the normal CPU priority: SCHED_RR %d refused (%s)", limit, exc.strerror or exc)
        return f"normal (SCHED_RR {limit} refused: {exc.strerror or exc})"
    return f"SCHED_RR {limit}"


def normal_priority() -> None:
    """A worker thread's initializer: back to SCHED_OTHER whatever the thread that started it runs at."""
    if os.sched_getscheduler(0) != os.SCHED_OTHER:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def describe() -> str:
    """What the calling thread runs at, for `hotline status`."""
    policy = os.sched_getscheduler(0)
    if policy == os.SCHED_RR:
        return f"SCHED_RR {os.sched_getparam(0).sched_priority}"
    if policy == os.SCHED_FIFO:
        return f"SCHED_FIFO {os.sched_getparam(0).sched_priority}"
    return f"normal, nice {os.getpriority(os.PRIO_PROCESS, 0)}"
