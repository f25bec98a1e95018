"""terminal/alarm.py on a real event loop: exact and lazy re-arming, disarming, one firing."""

import asyncio

from terminal.alarm import Alarm


async def test_arm_is_exact_and_arm_by_keeps_an_earlier_timer():
    loop = asyncio.get_running_loop()
    fired = asyncio.Event()
    alarm = Alarm(loop, fired.set)
    t = loop.time() + 100
    alarm.arm(t)
    alarm.arm_by(t + 5)                      # later: the earlier timer stays
    assert alarm.when == t
    alarm.arm_by(t - 5)                      # earlier: re-armed
    assert alarm.when == t - 5
    alarm.arm(t + 1)                         # exact: later too
    assert alarm.when == t + 1
    alarm.arm_by(None)                       # nothing due: nothing changes
    assert alarm.when == t + 1
    alarm.arm(None)
    assert alarm.when is None
    alarm.arm(loop.time())
    await asyncio.wait_for(fired.wait(), 5)
    assert alarm.when is None                # fired once, nothing left armed


async def test_cancel_means_it_never_fires():
    loop = asyncio.get_running_loop()
    calls = []
    alarm = Alarm(loop, lambda: calls.append(1))
    alarm.arm(loop.time())
    alarm.cancel()
    done = loop.create_future()
    loop.call_soon(lambda: loop.call_soon(done.set_result, None))   # past the moment it was due
    await done
    assert calls == [] and alarm.when is None
