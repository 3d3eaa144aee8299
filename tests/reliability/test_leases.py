"""Leases under real processes: overlapping dispatches to two workers, a message delivered twice,
and a worker killed with SIGKILL mid-refresh (issue 9, "Reliability tests")."""

import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from django.db.models.functions import Now
from django.utils import timezone

from insights.models import InstagramAccount
from insights.refresh import schedule

from .conftest import backfill_windows_done, differences, overlapping, refresh_fully, stored


def _dispatch_from_threads(procs, dispatchers: int, copies: int) -> list:
    """Several dispatchers claiming at the same moment, each on its own connection."""

    def one(_):
        try:
            return procs.dispatch(copies=copies)
        finally:
            connection.close()

    with ThreadPoolExecutor(dispatchers) as pool:
        return [pk for claimed in pool.map(one, range(dispatchers)) for pk, _ in claimed]


def test_two_workers_never_refresh_one_account_at_once(procs):
    """Every account is claimed, sent three times (both workers get copies), then made due again
    and again while its refresh runs, by three dispatchers racing. The workers' own records show
    no two runs of one account overlapping, each claim ran exactly once, and the rows are one
    clean run's."""
    accounts = [procs.connect()[0] for _ in range(4)]
    ids = {a.pk for a in accounts}
    # Each run waits on the sandbox for a while: plenty of room to overlap, were it allowed.
    procs.sandbox.control("POST", "settings", json={"latency_ms": 150})
    procs.start_workers(2, concurrency=4)

    claims = Counter(pk for pk, _ in procs.dispatch(copies=3))
    assert set(claims) == ids
    for _ in range(6):
        InstagramAccount.objects.filter(pk__in=ids).update(next_refresh_at=timezone.now())
        claims.update(_dispatch_from_threads(procs, dispatchers=3, copies=2))
        time.sleep(0.4)
    sent = 3 * len(ids) + 2 * (sum(claims.values()) - len(ids))
    procs.wait(lambda: len(procs.runs()) >= sent, 90, f"{sent} deliveries")

    runs = procs.runs()
    assert overlapping(runs) == []
    ran = Counter(r["account"] for r in runs if not r["skipped"])
    assert ran == claims  # one run per claim, whatever the number of copies and workers
    assert all(r["error"] == "" for r in runs), [r for r in runs if r["error"]]
    assert len({r["worker"].split("/")[0] for r in runs}) == 2  # both workers took part

    procs.sandbox.control("POST", "settings", json={"latency_ms": 0})
    for account in accounts:
        account.refresh_from_db()
        assert account.lease_token == "" and account.last_refresh_at is not None
        reference, _ = procs.connect(
            remote={
                "ig_user_id": account.ig_user_id,
                "username": account.username,
                "access_token": account.reveal_token(),
                "page_id": account.page_id,
            }
        )
        refresh_fully(reference)
        assert not differences(stored(account), stored(reference))


def test_the_same_task_delivered_twice_yields_one_runs_rows(procs):
    account, remote = procs.connect()
    reference, _ = procs.connect(remote=remote)
    procs.start_workers(2, concurrency=2)

    procs.send([(account.pk, schedule.claim_one(account.pk))], copies=2)
    procs.wait(lambda: len(procs.runs()) == 2, 60, "both deliveries")

    outcomes = sorted(r["skipped"] for r in procs.runs())
    assert outcomes == ["", "not this delivery's lease"]
    refresh_fully(reference)
    assert not differences(stored(account), stored(reference))


def test_a_worker_killed_mid_refresh_leaves_whole_rows_and_the_lease_brings_it_back(
    procs, settings
):
    """SIGKILL between two committed backfill chunks: what was written is complete and correct
    (a subset of a clean run's rows, value for value), nothing claims the account while its
    lease lives, and once the lease lapses the dispatcher claims it again and a new worker
    finishes it: the rows then equal a clean run's."""
    # A history long enough for two chunks of 500 operations (each about ten slow batch requests).
    history = {"BACKFILL_DAYS": 730, "BACKFILL_DAILY_TOTALS_DAYS": 460}
    for name, value in history.items():
        setattr(settings, name, value)
    account, remote = procs.connect(history_days=750)
    reference, _ = procs.connect(remote=remote)
    procs.sandbox.control("POST", "settings", json={"latency_ms": 300})
    [worker] = procs.start_workers(1, concurrency=2, REFRESH_LEASE_SECONDS=6, **history)

    assert [pk for pk, _ in procs.dispatch()] == [account.pk]
    procs.wait(lambda: backfill_windows_done(account) > 0, 60, "a first committed chunk")
    worker.kill(signal.SIGKILL)

    account.refresh_from_db()
    assert account.backfilled_at is None and account.lease_token, "killed after the refresh"
    lease_until = account.lease_until
    partial = stored(account)
    assert schedule.claim_due() == []  # its lease still holds

    procs.sandbox.control("POST", "settings", json={"latency_ms": 0})
    refresh_fully(reference)
    clean = stored(reference)
    for kind in ("daily", "windows"):
        assert partial[kind].items() <= clean[kind].items()  # whole rows, right values
    assert len(partial["daily"]) < len(clean["daily"])  # it really stopped half-way

    procs.start_workers(1, concurrency=2, REFRESH_LEASE_SECONDS=6, **history)
    reclaimed_at = None

    def finished() -> bool:
        nonlocal reclaimed_at
        if procs.dispatch():
            reclaimed_at = InstagramAccount.objects.values_list(Now(), flat=True).first()
        account.refresh_from_db()
        return account.backfilled_at is not None and account.lease_token == ""

    procs.wait(finished, 90, "the refresh after the lease lapsed")
    assert reclaimed_at is not None and reclaimed_at >= lease_until
    assert not differences(stored(account), clean)
