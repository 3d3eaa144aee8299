"""Imported at start-up by every Python process a test starts (the test's `clock` fixture puts
this folder on PYTHONPATH): the process's clock follows the test's pinned clock.

PRISM_TEST_CLOCK is "<instant>@<epoch>": the test's clock stood at <instant> when the real
clock read <epoch>. Both clocks tick from there, so the child's now is the test's now. A
child's own time_machine travels (tests/reliability/clock.py) nest on top of this one.
"""

import os

_spec = os.environ.get("PRISM_TEST_CLOCK")
if _spec:
    import time
    from datetime import datetime, timedelta

    import time_machine

    _instant, _epoch = _spec.rsplit("@", 1)
    _now = datetime.fromisoformat(_instant) + timedelta(seconds=time.time() - float(_epoch))
    time_machine.travel(_now, tick=True).start()
    time.time()  # time_machine starts ticking at the first reading: now, not at first use

# Under libfaketime with the monotonic clock left real (.ci/run's shifted runs), libfaketime
# 0.9.10 turns the absolute monotonic deadline of CPython's time.sleep (clock_nanosleep with
# TIMER_ABSTIME) into a negative one and the sleep fails with EINVAL; waits with a relative
# timeout (select, locks, events) are unaffected. So sleep with select there, and only there.
if "faketime" in os.environ.get("LD_PRELOAD", "") and os.environ.get(
    "FAKETIME_DONT_FAKE_MONOTONIC"
):
    import select as _select
    import time as _time

    def _sleep(seconds: float, _monotonic=_time.monotonic, _wait=_select.select) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = _monotonic() + seconds
        while (left := deadline - _monotonic()) > 0:
            _wait([], [], [], left)

    _time.sleep = _sleep
