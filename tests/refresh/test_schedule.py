"""Claims, leases and fencing on the database clock (SQLite here; CI also runs PostgreSQL)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.db.models.functions import Now

from insights.meta.client import ErrorKind, MetaError
from insights.models import AccountDaily, ApiThrottle, Health, InstagramAccount, WaitingReason
from insights.refresh import schedule, store
from tests.factories import InstagramAccountFactory
from tests.instants import PINNED

NOW = PINNED  # the clock starts here (tests/instants.py)


def due(n: int, **fields) -> list[InstagramAccount]:
    return [
        InstagramAccountFactory(next_refresh_at=NOW - timedelta(minutes=5), **fields)
        for _ in range(n)
    ]


@pytest.mark.django_db
def test_a_claim_takes_due_accounts_once():
    accounts = due(3)
    InstagramAccountFactory(next_refresh_at=NOW + timedelta(hours=1))  # not due
    InstagramAccountFactory(next_refresh_at=NOW - timedelta(hours=1), health=Health.NEEDS_RECONNECT)
    InstagramAccountFactory(next_refresh_at=NOW - timedelta(hours=1), disconnected_at=NOW)
    throttled = due(1)[0]
    InstagramAccount.objects.filter(pk=throttled.pk).update(
        throttled_until=NOW + timedelta(hours=1)
    )
    claimed = schedule.claim_due()
    assert sorted(pk for pk, _ in claimed) == sorted(a.pk for a in accounts)
    assert len({token for _, token in claimed}) == 3
    for pk, token in claimed:
        row = InstagramAccount.objects.get(pk=pk)
        assert row.lease_token == token and row.lease_until > NOW
    assert schedule.claim_due() == []  # leased now


@pytest.mark.django_db
def test_a_claim_can_judge_due_at_a_given_moment_but_leases_by_the_database_clock():
    later = NOW + timedelta(hours=2)
    soon = InstagramAccountFactory(next_refresh_at=NOW + timedelta(hours=1))
    throttled = InstagramAccountFactory(next_refresh_at=NOW + timedelta(hours=1))
    InstagramAccount.objects.filter(pk=throttled.pk).update(
        throttled_until=NOW + timedelta(hours=3)
    )
    leased = InstagramAccountFactory(next_refresh_at=NOW + timedelta(hours=1))
    assert schedule.claim_one(leased.pk)  # a live lease, by the database clock
    ApiThrottle.objects.create(
        host="graph.facebook.com", percent=99, throttled_until=NOW + timedelta(hours=1)
    )
    assert schedule.claim_due() == []
    [(pk, token)] = schedule.claim_due(now=later)  # the app's wait is over by then too
    assert pk == soon.pk
    # The lease runs from the database's clock, not from the moment the claim judged by.
    row = InstagramAccount.objects.annotate(db_now=Now()).get(pk=pk)
    assert row.lease_token == token
    assert abs(row.lease_until - (row.db_now + schedule.lease_length())) < timedelta(seconds=30)


@pytest.mark.django_db
def test_a_lapsed_lease_is_claimed_again():
    (account,) = due(1)
    [(pk, token)] = schedule.claim_due()
    InstagramAccount.objects.filter(pk=pk).update(lease_until=NOW - timedelta(seconds=1))
    [(again, new_token)] = schedule.claim_due()
    assert again == pk and new_token != token


@pytest.mark.django_db
def test_a_redelivered_message_runs_once():
    due(1)
    [(pk, dispatched)] = schedule.claim_due()
    first = schedule.begin(pk, dispatched)
    assert first and first != dispatched
    assert schedule.begin(pk, dispatched) is None  # the second delivery carries the same token


@pytest.mark.django_db
def test_a_stale_lease_writes_nothing():
    due(1)
    [(pk, dispatched)] = schedule.claim_due()
    mine = schedule.begin(pk, dispatched)
    # The lease lapses and another worker claims the account.
    InstagramAccount.objects.filter(pk=pk).update(lease_until=NOW - timedelta(seconds=1))
    [(_, other)] = schedule.claim_due()
    with pytest.raises(schedule.LeaseLost), schedule.fenced(pk, mine):
        AccountDaily.objects.create(
            account_id=pk, metric="reach", day=NOW.date(), value=1, end_time=NOW
        )
    assert not AccountDaily.objects.exists()
    assert not schedule.finish(pk, mine)
    assert InstagramAccount.objects.get(pk=pk).lease_token == other
    with schedule.fenced(pk, other):
        store.upsert_daily(
            [AccountDaily(account_id=pk, metric="reach", day=NOW.date(), value=2, end_time=NOW)]
        )
    assert AccountDaily.objects.get().value == 2


@pytest.mark.django_db
def test_failures_push_the_schedule_and_rate_limits_wait_as_meta_says():
    due(1)
    [(pk, token)] = schedule.claim_due()
    schedule.fail(pk, token, RuntimeError("boom"))
    row = InstagramAccount.objects.get(pk=pk)
    assert row.next_refresh_at > datetime.now(UTC) + timedelta(minutes=3)
    assert row.waiting_reason == WaitingReason.ERROR and row.refresh_failures == 1
    assert row.lease_token == "" and row.last_refresh_error == "RuntimeError"

    token = schedule.claim_one(pk)
    limited = MetaError(ErrorKind.RATE_LIMITED, "too many calls", code=80002, retry_after=1800)
    schedule.fail(pk, token, limited)
    row = InstagramAccount.objects.get(pk=pk)
    assert row.waiting_reason == WaitingReason.RATE_LIMITED
    assert row.throttled_until > datetime.now(UTC) + timedelta(minutes=29)
    assert row.next_refresh_at == row.throttled_until


@pytest.mark.django_db
@pytest.mark.parametrize(
    "code, named, minutes",
    [
        (80002, 120, 2),  # Meta's header named 2 minutes: that, not a longer floor of our own
        (80002, None, 15),  # named none: an account's budget is not asked again for 15 minutes
        (4, None, 1),  # the app's: a minute
        (4, 10, 1),  # never sooner than a minute
    ],
)
def test_a_rate_limit_waits_as_long_as_meta_names(code, named, minutes):
    due(1)
    [(pk, token)] = schedule.claim_due()
    error = MetaError(ErrorKind.RATE_LIMITED, "too many calls", code=code, retry_after=named)
    schedule.fail(pk, token, error)
    row = InstagramAccount.objects.get(pk=pk)
    assert row.next_refresh_at - row.last_refresh_error_at == timedelta(minutes=minutes)


@pytest.mark.django_db
def test_dispatch_slows_near_the_app_wide_limit():
    due(10)
    ApiThrottle.objects.create(host="graph.facebook.com", percent=90)
    assert 0 < len(schedule.claim_due(limit=10)) < 10
    ApiThrottle.objects.filter().update(percent=99)
    assert schedule.claim_due(limit=10) == []


@pytest.mark.django_db
def test_refresh_now_is_throttled(settings):
    (account,) = due(1)
    InstagramAccount.objects.filter(pk=account.pk).update(next_refresh_at=NOW + timedelta(hours=1))
    assert schedule.request_refresh(account)
    assert not schedule.request_refresh(account)  # asked again within REFRESH_NOW_SECONDS
    assert InstagramAccount.objects.get(pk=account.pk).next_refresh_at <= datetime.now(UTC)


# On SQLite (a file with WAL, like `make run`; config/settings.py) the claims' IMMEDIATE
# transactions take the write lock up front and wait for each other (busy timeout) instead of
# failing with "database is locked"; CI runs this against PostgreSQL too.
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_never_claim_one_account_twice():
    due(40)
    results, errors = [], []

    def dispatcher():
        try:
            for _ in range(5):
                results.extend(schedule.claim_due(limit=7))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    ids = [pk for pk, _ in results]
    assert len(ids) == len(set(ids)) == 40


@pytest.mark.django_db(transaction=True)
def test_the_dispatcher_enqueues_claimed_refreshes_after_commit(monkeypatch):
    from insights import tasks

    due(2)
    sent = []
    monkeypatch.setattr(tasks.refresh_account, "delay_on_commit", lambda *a: sent.append(a))
    result = tasks.dispatch_due_work()
    assert result["refreshes"] == 2
    assert sorted(sent) == sorted(InstagramAccount.objects.values_list("pk", "lease_token"))


def test_celery_runs_refreshes_late_acked_one_at_a_time_under_the_lease_on_their_own_queue():
    """acks_late, prefetch 1, time limits well under the lease (and the lease under the Redis
    visibility timeout), refreshes routed apart from user-facing work."""
    from config.celery import app
    from insights import tasks

    conf = app.conf
    assert conf.task_acks_late and tasks.refresh_account.acks_late
    assert conf.worker_prefetch_multiplier == 1
    task = tasks.refresh_account
    assert settings.REFRESH_TIME_BUDGET_SECONDS < task.soft_time_limit < task.time_limit
    assert task.time_limit <= settings.REFRESH_LEASE_SECONDS / 2  # "well under" the lease
    # No request starts past the soft limit (the client's deadline, in any pool), and the last
    # one ends within its connect timeout and whole-answer cap: under the hard limit.
    last_request = settings.META_CONNECT_TIMEOUT + settings.META_ANSWER_TIMEOUT
    assert task.soft_time_limit + last_request < task.time_limit
    assert not getattr(task, "autoretry_for", ())  # waits go to next_refresh_at instead
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if visibility is not None:  # a Redis broker (CI): a redelivered copy finds the lease taken
        assert visibility > settings.REFRESH_LEASE_SECONDS
    route = app.amqp.router.route
    assert route({}, "insights.tasks.refresh_account")["queue"].name == "refresh"
    for user_facing in ("insights.tasks.send_report", "insights.tasks.send_delivery"):
        assert route({}, user_facing)["queue"].name == "user"


@pytest.mark.django_db
def test_the_next_refresh_is_jittered_so_accounts_drift_apart():
    accounts = due(30)
    claimed = schedule.claim_due()
    for pk, token in claimed:
        assert schedule.finish(pk, token)
    interval = schedule.refresh_interval().total_seconds()
    delays = [
        (row.next_refresh_at - row.last_refresh_at).total_seconds()
        for row in InstagramAccount.objects.filter(pk__in=[a.pk for a in accounts])
    ]
    assert all(0.89 * interval <= d <= 1.11 * interval for d in delays), delays
    assert len({round(d) for d in delays}) > 20  # not in lockstep
