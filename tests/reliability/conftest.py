"""Reliability tests with real processes (marker `procs`): Celery workers started as
`celery -A config worker` subprocesses on the configured broker (Redis when CI runs the suite
on PostgreSQL; kombu's filesystem broker on SQLite), the sandbox served by gunicorn in its own
processes on its own database (bench/processes.py), and the test database shared with the
workers (a file on SQLite, the test database on PostgreSQL).

The test process plays the dispatcher: it claims with `schedule.claim_due` and sends
`refresh_account(account_id, lease_token)` to the real broker, as `dispatch_due_work` does.
Workers record each run's interval and outcome (tests/reliability/recorder.py), and follow the
test's simulated clock when it has one (tests/reliability/clock.py).

Reference rows: a second Prism account connected to the same sandbox account (its clock frozen,
so it answers the same numbers) and refreshed in this process without faults or kills; the rows
of the account under test must equal them (nothing missing, nothing doubled, nothing corrupt).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from bench import processes
from insights.models import (
    AccountDaily,
    BackfillWindow,
    InstagramAccount,
    Media,
    ProfileSnapshot,
    WindowMetric,
)
from tests.factories import AgencyFactory, ClientFactory, InstagramAccountFactory

# Short histories keep each run to a few batch requests (the pipeline's shape is the same).
HISTORY = {
    "BACKFILL_DAYS": 60,
    "BACKFILL_DAILY_TOTALS_DAYS": 10,
    "BACKFILL_BREAKDOWN_DAYS": 5,
}


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory):
    """The sandbox on its own database, in its own gunicorn processes, for the whole session."""
    url = os.environ.get("DATABASE_URL", "")
    if processes.is_postgres(url):
        parts = urlsplit(url)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # each xdist worker has its own
        suffix = f"_procs_sandbox_{worker}" if worker else "_procs_sandbox"
        db = parts._replace(path=parts.path.rstrip("/") + suffix).geturl()
    else:
        db = f"sqlite:///{tmp_path_factory.mktemp('sandbox') / 'sandbox.sqlite3'}"
    server = processes.SandboxServer(
        db, tmp_path_factory.mktemp("procs-logs"), workers=2, threads=4
    ).start()
    yield server
    server.stop()
    processes.drop_database(db)


def database_url() -> str:
    """The test database, as a URL the workers can open."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "postgres") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Procs:
    def __init__(self, sandbox: processes.SandboxServer, tmp_path: Path):
        from django.conf import settings

        self.sandbox = sandbox
        self.tmp = tmp_path
        self.run_log = tmp_path / "runs.jsonl"
        self.clock_file = tmp_path / "clock"  # tests/reliability/clock.py: absent = real time
        self.broker = settings.CELERY_BROKER_URL
        self.workers: list[processes.Worker] = []
        self.agency = AgencyFactory()
        self.client = ClientFactory(agency=self.agency)

    # -- processes ------------------------------------------------------------------------

    def worker_env(self, **extra) -> dict[str, str]:
        env = {
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": self.broker,
            "PRISM_RUN_LOG": str(self.run_log),
            "PRISM_CLOCK_FILE": str(self.clock_file),
            "CELERY_BROKER_POLLING_INTERVAL": "0.1",
            "META_RETRY_BACKOFF": "0",
            "META_READ_TIMEOUT": "5",
            **self.sandbox.meta_env(),
            **{k: str(v) for k, v in {**HISTORY, **extra}.items()},
        }
        return processes.base_env(**env)

    def start_workers(self, count: int = 1, *, concurrency: int = 4, **env) -> list:
        started = []
        for _ in range(count):
            worker = processes.Worker(
                self.worker_env(**env),
                self.tmp,
                name=f"worker{len(self.workers) + 1}",
                concurrency=concurrency,
                include="tests.reliability.recorder,tests.reliability.clock",
            )
            processes.Process.start(worker)  # all boot side by side; readiness below
            self.workers.append(worker)
            started.append(worker)
        for worker in started:
            worker.wait_for_log(" ready.", 90)
        return started

    def stop(self) -> None:
        for worker in self.workers:  # all shut down side by side
            if worker.alive():
                worker.popen.terminate()
        for worker in self.workers:
            worker.stop()

    # -- the sandbox and Prism accounts ---------------------------------------------------

    def connect(self, login: str = "facebook", remote: dict | None = None, **properties):
        """A Prism account connected to a new sandbox account; or, given `remote`, a reference
        account on it again (in another agency, never due: refreshed by `refresh_fully`)."""
        extra = {}
        agency = self.agency
        if remote is None:
            body = {"login": login, "history_days": 400, "followers": 5000, **properties}
            remote = self.sandbox.control("POST", "accounts", json=body)
        else:
            agency = AgencyFactory()
            extra["next_refresh_at"] = timezone.now() + timedelta(days=365)
        account = InstagramAccountFactory(
            agency=agency,
            client=ClientFactory(agency=agency),
            ig_user_id=remote["ig_user_id"],
            username=remote["username"],
            login_path=login,
            page_id=remote.get("page_id") or "",
            token=remote["access_token"],
            **extra,
        )
        return account, remote

    # -- dispatching ----------------------------------------------------------------------

    def send(self, claimed: list[tuple[int, str]], copies: int = 1) -> None:
        """refresh_account(account_id, lease_token) to the real broker, `copies` times each."""
        from config.celery import app
        from insights.tasks import refresh_account

        with app.connection_for_write(self.broker) as conn:
            for pk, token in claimed:
                for _ in range(copies):
                    refresh_account.apply_async((pk, token), connection=conn)

    def dispatch(self, copies: int = 1) -> list[tuple[int, str]]:
        """The dispatcher's refresh part: claim what is due, send it."""
        from insights.refresh import schedule

        claimed = schedule.claim_due(limit=100)
        self.send(claimed, copies)
        return claimed

    def runs(self) -> list[dict]:
        if not self.run_log.exists():
            return []
        return [json.loads(line) for line in self.run_log.read_text().splitlines() if line]

    def logs(self) -> str:
        return "\n".join(f"--- {w.name}\n{w.log()[-4000:]}" for w in self.workers)

    def wait(
        self, predicate: Callable[[], bool], seconds: float, what: str, every: float = 0.2
    ) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.workers and not any(w.alive() for w in self.workers):
                break
            time.sleep(every)
        raise AssertionError(f"timed out waiting for {what}\n{self.logs()}")


@pytest.fixture
def procs(sandbox_server, transactional_db, settings, tmp_path):
    box = sandbox_server
    box.control("DELETE", "faults")
    # A fresh hour of app usage: the session's earlier tests called the same app, and Meta's
    # X-App-Usage would otherwise make Prism slow down or stop (as it should) in this one.
    box.control("POST", "stats/reset")
    box.control("POST", "clock/reset", json={})
    box.control("POST", "settings", json={"latency_ms": 0, "settle_hours": 48})
    # Numbers compared with the reference must be read at one sandbox moment: the test's own
    # (pinned) moment, whatever the clock of the sandbox's processes, which outlive the test.
    box.control("POST", "clock", json={"to": timezone.now().isoformat(), "freeze": True})
    settings.META_HOSTS = {h: f"{box.url}/_sandbox/{h}" for h in settings.META_HOSTS}
    settings.META_READ_TIMEOUT = 10
    for name, value in HISTORY.items():
        setattr(settings, name, value)
    purge_refresh_queue(settings.CELERY_BROKER_URL)
    p = Procs(box, tmp_path)
    yield p
    p.stop()


def purge_refresh_queue(broker: str) -> None:
    """Old messages of an earlier run (a killed worker's, say) are not this test's."""
    from config.celery import app

    with app.connection_for_write(broker) as conn:
        conn.default_channel.queue_purge("refresh")


# --- What Prism stored ------------------------------------------------------------------------


def stored(account: InstagramAccount) -> dict:
    """Every stored insight of an account, keyed as its unique constraint is, with values."""
    daily = AccountDaily.objects.filter(account=account)
    windows = WindowMetric.objects.filter(account=account)
    profiles = ProfileSnapshot.objects.filter(account=account)
    rows = {
        "daily": {(r.metric, r.dimension, r.day): r.value for r in daily},
        "windows": {(r.metric, r.dimension, r.kind, r.start): (r.end, r.value) for r in windows},
        "profile": {r.day: (r.followers_count, r.follows_count, r.media_count) for r in profiles},
        "media": set(Media.objects.filter(account=account).values_list("media_id", flat=True)),
    }
    # The unique constraints make duplicates impossible; this proves nothing slipped past them.
    assert daily.count() == len(rows["daily"]) and windows.count() == len(rows["windows"])
    assert profiles.count() == len(rows["profile"])
    return rows


def refresh_fully(account: InstagramAccount, limit: int = 20) -> None:
    """Refresh in this process (real code, real HTTP) until the backfill is done."""
    from insights.refresh import account as refresh
    from insights.refresh import schedule

    for _ in range(limit):
        token = schedule.claim_one(account.pk)
        assert token, "the reference account is leased"
        result = refresh.run(account.pk, token)
        assert "error" not in result, result
        account.refresh_from_db()
        if account.backfilled_at:
            return
    errors = BackfillWindow.objects.filter(account=account).exclude(error="")
    raise AssertionError(
        f"the reference backfill did not finish: {list(errors.values_list('start', 'error'))}"
    )


def backfill_windows_done(account: InstagramAccount) -> int:
    return BackfillWindow.objects.filter(account=account, state=BackfillWindow.State.DONE).count()


def overlapping(runs: list[dict]) -> list[tuple[dict, dict]]:
    """Pairs of runs (not skipped) of one account whose intervals intersect."""
    by_account: dict[int, list[dict]] = {}
    for run in runs:
        if not run["skipped"]:
            by_account.setdefault(run["account"], []).append(run)
    pairs = []
    for items in by_account.values():
        items.sort(key=lambda r: r["start"])
        for a, b in zip(items, items[1:], strict=False):
            if b["start"] < a["end"]:
                pairs.append((a, b))
    return pairs


def differences(got: dict, want: dict, limit: int | None = 8) -> dict:
    """What differs between two `stored()` results (`limit` keys of each sort: assertion
    messages stay short)."""
    out = {}
    for kind in want:
        a, b = got[kind], want[kind]
        if isinstance(b, set):
            a, b = dict.fromkeys(a), dict.fromkeys(b)
        missing = sorted(set(b) - set(a), key=str)[:limit]
        extra = sorted(set(a) - set(b), key=str)[:limit]
        changed = sorted((k for k in set(a) & set(b) if a[k] != b[k]), key=str)[:limit]
        if missing or extra or changed:
            out[kind] = {
                "missing": missing,
                "extra": extra,
                "changed": [(k, a[k], b[k]) for k in changed],
            }
    return out
