"""Loaded into the reliability tests' Celery workers (`celery worker --include`): each
refresh_account run appends its interval and outcome to the file named by PRISM_RUN_LOG, so a
test can prove from the workers' side that no two runs of one account overlapped.

One short line per run, written with O_APPEND (atomic for small writes, across processes)."""

import json
import os
import threading
import time

from celery.signals import task_postrun, task_prerun

TASK = "insights.tasks.refresh_account"
_started: dict[str, float] = {}


@task_prerun.connect
def _prerun(task_id=None, task=None, **_):
    if task is not None and task.name == TASK:
        _started[task_id] = time.time()


@task_postrun.connect
def _postrun(task_id=None, task=None, args=None, retval=None, **_):
    if task is None or task.name != TASK or not os.environ.get("PRISM_RUN_LOG"):
        return
    outcome = retval if isinstance(retval, dict) else {}
    record = {
        "account": args[0],
        "start": _started.pop(task_id, None),
        "end": time.time(),
        "worker": f"{os.getpid()}/{threading.get_ident()}",
        "skipped": outcome.get("skipped", ""),
        "error": outcome.get("error", "") if not isinstance(retval, BaseException) else "raised",
    }
    line = (json.dumps(record) + "\n").encode()
    fd = os.open(os.environ["PRISM_RUN_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
