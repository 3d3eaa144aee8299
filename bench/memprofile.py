"""Where a worker's memory goes (bench only): `bench/refresh.py --tracemalloc` starts the memory
phase's workers with `--include bench.memprofile`, which imports this module in the worker.

It starts tracemalloc, and a thread keeps a snapshot of the largest traced moment so far
(polled every 20 ms: close to the peak, not exactly it). After each task it appends to
$MEMPROFILE_OUT: the task's resident memory (VmRSS, VmHWM), the traced peak during the task, and
the top allocations (by line, and by traceback) of the task's largest moment, then END (the
bench waits for it). Under tracemalloc a worker is slower and bigger: a profiled run's figures
are not the table's.
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path

from celery.signals import task_postrun, task_prerun, worker_init

OUT = Path(os.environ.get("MEMPROFILE_OUT", "var/bench-refresh/memprofile.txt"))
FRAMES = 12
TOP = 15
END = "=== end of task"

_state: dict = {"best": 0, "snapshot": None, "task": 0}
_lock = threading.Lock()


def _proc(field: str) -> str:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return "?"


def _poll() -> None:
    while True:
        current, _ = tracemalloc.get_traced_memory()
        with _lock:
            if current > _state["best"] + 512 * 1024:
                _state["best"] = current
                _state["snapshot"] = tracemalloc.take_snapshot()
        time.sleep(0.02)


@task_prerun.connect
def _before(**_kwargs) -> None:
    if not tracemalloc.is_tracing():
        return
    with _lock:
        _state["best"], _state["snapshot"] = tracemalloc.get_traced_memory()[0], None
        _state["task"] += 1
    tracemalloc.reset_peak()


@task_postrun.connect
def _after(retval=None, **_kwargs) -> None:
    if not tracemalloc.is_tracing():
        return
    _, peak = tracemalloc.get_traced_memory()
    with _lock:
        snapshot, best = _state["snapshot"], _state["best"]
    lines = [
        f"=== task {_state['task']}: VmRSS {_proc('VmRSS')}, VmHWM {_proc('VmHWM')}, "
        f"traced peak {peak / 2**20:.1f} MB, largest snapshot {best / 2**20:.1f} MB",
        f"    result: {str(retval)[:600]}",
    ]
    if snapshot is not None:
        ignore = tracemalloc.Filter(False, tracemalloc.__file__)
        snapshot = snapshot.filter_traces([ignore])
        for stat in snapshot.statistics("lineno")[:TOP]:
            lines.append(f"  {stat.size / 2**20:7.2f} MB {stat.count:8d}  {stat.traceback[0]}")
        lines.append("  -- by traceback --")
        for stat in snapshot.statistics("traceback")[:6]:
            lines.append(f"  {stat.size / 2**20:7.2f} MB {stat.count:8d}")
            frames = [
                f"      {f.filename.replace(str(Path.cwd()) + '/', '')}:{f.lineno}"
                for f in stat.traceback
            ]
            lines.extend(frames)
    lines.append(END)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("a") as out:
        out.write("\n".join(lines) + "\n")


@worker_init.connect
def _start(**_kwargs) -> None:
    """In the worker only (importing this module elsewhere traces nothing)."""
    tracemalloc.start(FRAMES)
    threading.Thread(target=_poll, name="memprofile", daemon=True).start()
