"""Celery app. Tasks are thin shells over service functions; the database owns schedules."""

import os

from celery import Celery
from kombu import transport

# `filesystem://` (the embedded default's broker) is kombu's transport with whole messages
# (config/broker.py), in every process that loads this app, whatever URL it is handed.
transport.TRANSPORT_ALIASES["filesystem"] = "config.broker:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("prism")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Refreshes and user-facing work (exports, emails) never wait behind each other.
app.conf.task_routes = {
    "insights.tasks.refresh_*": {"queue": "refresh"},
    "insights.tasks.send_*": {"queue": "user"},
    "accounts.tasks.send_*": {"queue": "user"},
    "insights.tasks.export_*": {"queue": "user"},
}
# Refreshes mostly wait on Meta, so one worker process runs many at once in threads (bench/
# refresh.py measures it): `--concurrency` is the thread count. The refresh code keeps no shared
# mutable state (each thread has its own database connection; the HTTP session's pool is
# thread-safe). Celery enforces no time limits in this pool, so a refresh enforces its soft limit
# itself (CELERY_TASK_SOFT_TIME_LIMIT: the Meta client starts no request after it, and the run
# ends, recorded and rescheduled, within one request's timeouts); the lease stays the safety net.
# CELERY_WORKER_POOL=prefork brings back processes and Celery's own soft and hard limits.
app.conf.worker_pool = os.environ.get("CELERY_WORKER_POOL", "threads")
app.conf.beat_schedule = {
    "dispatch-due-work": {"task": "insights.tasks.dispatch_due_work", "schedule": 60.0},
}


def ensure_broker_folders() -> None:
    """kombu's filesystem transport needs its folders (settings creates them at start-up; a
    long-running process re-creates them if someone cleaned var/ under it)."""
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key], exist_ok=True)


# Log records of a task carry its task id (config/observability.py).
from config.observability import bind_celery_task_ids  # noqa: E402

bind_celery_task_ids()
