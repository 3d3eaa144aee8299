"""Enqueue a Celery task by its name once the current transaction commits.

Models and services ask for background work by name (`"insights.tasks.send_account_notice"`), so
they never import the task modules, which import them: tasks stay the top layer (DESIGN.md
"Boundaries, enforced"). The task itself is sent as if called directly (`task.delay`): its
routing (config/celery.py's `task_routes`), its options and eager mode all apply.
"""

from __future__ import annotations

from celery import Task, current_app
from django.db import transaction


def on_commit(name: str, *args) -> None:
    """Send `name(*args)` after the current transaction commits (at once outside one): a worker
    must find the rows the caller wrote. Arguments are ids, never tokens."""
    transaction.on_commit(lambda: task(name).delay(*args))


def task(name: str) -> Task:
    """The registered task called `name`. A process that has not imported the task modules yet
    (a management command, a shell) loads them the way a worker does: Celery's autodiscovery of
    each installed app's `tasks` module."""
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name]
