"""Loaded into the reliability tests' Celery workers (`celery worker --include`) to simulate days
in minutes: before each task the worker's clock (time_machine, process-wide) stands at the
moment written in the file named by PRISM_CLOCK_FILE, the moment the test moved the sandbox's
frozen clock to. Without that file the worker keeps the real time.

The test moves the moment only while no refresh runs, so a run never sees it jump. The
database clock is not moved: leases stay real (a lease is about real seconds of work), while
the schedule (`next_refresh_at`, story captures) is written from this clock, as in production
where the two agree."""

import os
import threading
from datetime import datetime
from pathlib import Path

import time_machine
from celery.signals import task_prerun

_lock = threading.Lock()
_moment = ""
_traveller = None


@task_prerun.connect
def _follow_the_test_clock(**_):
    global _moment, _traveller
    path = os.environ.get("PRISM_CLOCK_FILE")
    if not path:
        return
    try:
        moment = Path(path).read_text().strip()
    except FileNotFoundError:
        return
    with _lock:
        if not moment or moment == _moment:
            return
        if _traveller is not None:
            _traveller.stop()
        _traveller = time_machine.travel(datetime.fromisoformat(moment), tick=False)
        _traveller.start()
        _moment = moment


def write(path: Path, moment: datetime) -> None:
    """The test's side: publish a new moment (atomically: a worker never reads half of it)."""
    partial = path.with_suffix(".partial")
    partial.write_text(moment.isoformat())
    os.replace(partial, path)
