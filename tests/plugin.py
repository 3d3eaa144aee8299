"""Loaded before Django's settings (`-p tests.plugin` in pyproject's addopts): each test run,
and each pytest-xdist worker of it, keeps its state in a folder of its own, and each worker has
a broker of its own.

Settings put SQLite, kombu's filesystem broker, beat's schedule file, mail files and uploads
under `PRISM_VAR_DIR` (the checkout's `var/` by default, which `make run` uses). A test run
beside a running Prism must neither read nor purge that Prism's broker messages, so the suite
points the folder elsewhere before settings are read; the processes tests start (Celery
workers, gunicorn, manage.py) inherit it through the environment.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_folder = tempfile.mkdtemp(prefix=f"prism-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
os.environ["PRISM_VAR_DIR"] = _folder
os.environ.pop("PRISM_TEST_DB", None)  # settings name the SQLite test database inside it
atexit.register(shutil.rmtree, _folder, ignore_errors=True)

# With Redis as the broker (CI's PostgreSQL leg, redis://host:6379/15), worker gwN uses database
# 15 - N: the real-process tests purge and consume their refresh queue, which must not be
# another worker's. (The filesystem broker lives in the folder above.)
_broker = os.environ.get("CELERY_BROKER_URL", "")
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _broker.startswith("redis") and _worker.startswith("gw"):
    base, _, db = _broker.rpartition("/")
    if db.isdigit():
        os.environ["CELERY_BROKER_URL"] = f"{base}/{int(db) - int(_worker[2:])}"

# Servers the tests start (gunicorn, the sandbox, SMTP stand-ins) take ports from a block of
# this worker's own, below the kernel's ephemeral range (bench.processes.free_port): a port the
# kernel hands out can be taken by another worker between choosing it and binding it. Two test
# runs side by side on one machine give different PRISM_TEST_PORTS (default 20000).
_ports = int(os.environ.get("PRISM_TEST_PORTS") or 20000)
_index = int(_worker[2:]) if _worker.startswith("gw") else 20
os.environ["PRISM_PORT_BLOCK"] = "200"
os.environ["PRISM_PORT_BASE"] = str(_ports + 200 * _index)
