"""Waiting, not hammering (issue #9 "Scheduling"), against the sandbox over real HTTP with the
sandbox's call statistics as the witness:
- near the app-wide limit (Meta's X-App-Usage header) the dispatcher claims fewer accounts, and
  none at the limit;
- a revoked token stops that account's refreshes until it is reconnected: several dispatcher
  cycles send Meta nothing for it;
- a rate limit is a wait written to next_refresh_at, not a task retried with a countdown;
- a metric Meta rejects never shows as a disconnection.
The dispatcher's cycles run `tasks.dispatch_due_work` itself; the refreshes it enqueues run in
this process (the task body, as a worker would run it)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from insights import tasks
from insights.connections import oauth
from insights.meta import catalogue
from insights.models import (
    AccountDaily,
    ApiThrottle,
    Health,
    InstagramAccount,
    MetricRejection,
    WaitingReason,
)
from insights.refresh import schedule
from tests.factories import InstagramAccountFactory

from .helpers import claim_and_run as run

pytestmark = pytest.mark.django_db(transaction=True)


def stats(sandbox) -> dict:
    return sandbox.control("GET", "stats").json()


@pytest.fixture
def connected(connect, settings):
    settings.BACKFILL_DAYS = 30
    return connect(followers=5000, media_count=60, seed=11)


@pytest.fixture
def dispatcher(monkeypatch):
    """cycle() runs one dispatcher pass; the refreshes it hands out run at once, in order."""
    ran: list[dict] = []

    def run_now(account_id, lease_token):
        ran.append(tasks.refresh_account.run(account_id, lease_token))

    monkeypatch.setattr(tasks.refresh_account, "delay_on_commit", run_now)
    for task in (tasks.check_account_health, tasks.refresh_account_token, tasks.send_report):
        monkeypatch.setattr(task, "delay", lambda *a, task=task: task.run(*a))

    def cycle() -> dict:
        ran.clear()
        return {"dispatched": tasks.dispatch_due_work(), "ran": list(ran)}

    return cycle


def make_due(*accounts) -> None:
    InstagramAccount.objects.filter(pk__in=[a.pk for a in accounts]).update(
        next_refresh_at=timezone.now() - timedelta(minutes=1)
    )


def app_calls_in_the_last_hour(n: int, account: str = "") -> None:
    """The app (or, with `account`, that account) made `n` calls this past hour: the sandbox's
    call log is what its X-App-Usage header (1 % per 50 calls an hour) and an account's
    X-Business-Use-Case-Usage (its share of its 24-hour budget) are computed from."""
    from sandbox import core
    from sandbox.models import CallLog

    at = core.now()
    CallLog.objects.bulk_create(
        CallLog(
            at=at,
            host="graph.facebook.com",
            method="GET",
            path_pattern="/{ig_user}",
            account=account,
            status=200,
        )
        for _ in range(n)
    )


def test_dispatch_slows_when_metas_app_usage_header_nears_the_limit(connected, sandbox):
    account, _ = connected
    others = [InstagramAccountFactory() for _ in range(10)]
    app_calls_in_the_last_hour(4_100)  # about 82 % of the app's hourly budget
    assert "error" not in run(account)
    throttle = ApiThrottle.objects.get(host="graph.facebook.com")
    assert 80 <= throttle.percent < schedule.STOP_AT and throttle.throttled_until is None
    make_due(*others)
    slowed = schedule.claim_due(limit=10)
    assert 0 < len(slowed) < 10
    InstagramAccount.objects.update(lease_token="", lease_until=None)

    app_calls_in_the_last_hour(800)  # now past 95 %
    make_due(account)
    assert "error" not in run(account)
    throttle.refresh_from_db()
    assert throttle.percent >= schedule.STOP_AT and throttle.throttled_until is not None
    make_due(*others)
    assert schedule.claim_due(limit=10) == []


def test_an_account_near_its_own_limit_waits_for_meta_to_restore_access(connect, sandbox):
    """The BUC header of each batch operation reaches Prism: past 90 % of the account's
    24-hour budget the account is not dispatched until Meta's estimate (or 15 minutes)."""
    account, remote = connect(followers=5000, media_count=60, seed=11, call_budget=2_000)
    assert "error" not in run(account)  # the first backfill: a few hundred counted calls
    account.refresh_from_db()
    assert account.waiting_reason == WaitingReason.NONE and account.throttled_until is None
    used = sandbox.control("GET", f"stats?account={remote['ig_user_id']}").json()
    app_calls_in_the_last_hour(1_850 - used["counted_calls"], account=remote["ig_user_id"])
    make_due(account)
    assert "error" not in run(account)  # an hourly run, still within the budget
    account.refresh_from_db()
    assert account.throttled_until >= datetime.now(UTC) + timedelta(minutes=14)
    assert account.waiting_reason == WaitingReason.RATE_LIMITED  # what the account page says
    assert account.next_refresh_at >= account.throttled_until  # the next due time it shows
    make_due(account)
    assert schedule.claim_due() == []


def everything_due(account) -> None:
    """As if half an hour had passed: the refresh, the connection check and (Instagram Login,
    its token a day old with under 30 days left) the token refresh are all due."""
    InstagramAccount.objects.filter(pk=account.pk).update(
        next_refresh_at=timezone.now() - timedelta(minutes=1),
        next_check_at=timezone.now() - timedelta(minutes=1),
        token_refresh_lease_until=None,
    )


@pytest.mark.parametrize(
    "login, how", [("facebook", "revoked"), ("facebook", "expired"), ("instagram", "revoked")]
)
def test_a_dead_token_sends_meta_nothing_more_until_the_account_is_reconnected(
    connect, sandbox, settings, dispatcher, login, how
):
    settings.BACKFILL_DAYS = 30
    account, remote = connect(login=login, followers=5000, media_count=60, seed=11)
    assert "error" not in run(account)
    now = datetime.now(UTC)
    InstagramAccount.objects.filter(pk=account.pk).update(
        token_issued_at=now - timedelta(days=40), token_expires_at=now + timedelta(days=20)
    )
    if how == "revoked":
        sandbox.control("POST", "tokens/revoke", json={"access_token": remote["access_token"]})
    else:  # Meta's clock passes the long-lived token's 60 days: 190/463 "Session has expired"
        sandbox.control("POST", "clock", json={"advance_days": 61})
    sandbox.control("POST", "stats/reset")
    everything_due(account)
    first = dispatcher()["dispatched"]
    # The cycle's token refresh, health check or refresh meets the 190, whichever asks first.
    assert first["token_refreshes"] + first["health_checks"] + first["refreshes"] >= 1
    after_first = stats(sandbox)["requests"]
    assert 1 <= after_first <= 4  # each met the 190 once (a batch's operations count too)
    account.refresh_from_db()
    assert account.health == Health.NEEDS_RECONNECT  # outside the dispatcher's REFRESHABLE
    for _ in range(5):  # five more dispatcher cycles, everything "due" each time
        everything_due(account)
        handed_out = dispatcher()["dispatched"]
        assert handed_out["refreshes"] == handed_out["health_checks"] == 0, handed_out
        assert handed_out["token_refreshes"] == 0, handed_out
    assert stats(sandbox)["requests"] == after_first  # no retry storm: not one more request

    # Reconnected (the connect flow's upsert with a fresh token): refreshed again at once.
    fresh = sandbox.control(
        "POST", f"accounts/{remote['ig_user_id']}/tokens", json={"login": login}
    ).json()["access_token"]
    oauth.upsert_account(
        client=account.client,
        ig_user_id=account.ig_user_id,
        login_path=account.login_path,
        username=account.username,
        token=fresh,
        token_expires_at=datetime.now(UTC) + timedelta(days=60),
        meta_user_id=account.meta_user_id,
        granted_scopes=list(account.granted_scopes),
        page_id=account.page_id,
    )
    again = dispatcher()
    assert again["dispatched"]["refreshes"] == 1 and "error" not in again["ran"][0]
    account.refresh_from_db()
    assert account.health == Health.CONNECTED and account.waiting_reason == WaitingReason.NONE


def test_a_rate_limit_is_a_wait_in_next_refresh_at_not_a_countdown(connected, sandbox):
    account, remote = connected
    assert "error" not in run(account)
    fault = {"kind": "rate_limit", "account": remote["ig_user_id"], "count": 1}
    fault |= {"params": {"code": 80002, "minutes": 30}}
    assert sandbox.control("POST", "faults", json=fault).status_code == 201
    sandbox.control("POST", "stats/reset")
    make_due(account)
    [(pk, token)] = schedule.claim_due()
    # The task as Celery runs it (its retry machinery included): it ends, it does not retry.
    result = tasks.refresh_account.apply(args=(pk, token))
    assert result.state == "SUCCESS" and "error" in result.result
    assert result.result["error"].startswith("rate_limited")
    requests_made = stats(sandbox)["requests"]
    account.refresh_from_db()
    assert account.waiting_reason == WaitingReason.RATE_LIMITED
    assert account.lease_token == "" and account.refresh_failures == 0
    # The wait is in the database, as long as Meta asked for: 30 minutes, named in the
    # rate-limited operation's own headers inside the batch answer.
    wait = account.next_refresh_at - account.last_refresh_error_at
    assert timedelta(minutes=29) <= wait <= timedelta(minutes=31), wait
    assert account.throttled_until >= account.next_refresh_at
    # Nothing is dispatched while it waits, and nothing more reached Meta.
    assert schedule.claim_due() == []
    assert stats(sandbox)["requests"] == requests_made


def test_a_metric_meta_rejects_never_shows_as_a_disconnection(connected, sandbox, monkeypatch):
    account, _ = connected
    # A metric this Graph version does not know: Meta fails every request that names it.
    monkeypatch.setattr(catalogue, "TOTALS", (*catalogue.TOTALS, "story_exits"))
    assert "error" not in run(account)
    assert MetricRejection.objects.filter(account=account, metric="story_exits").exists()
    account.refresh_from_db()
    assert account.health == Health.CONNECTED
    assert account.waiting_reason == WaitingReason.NONE and not account.last_refresh_error
    assert not account.last_error
    assert AccountDaily.objects.filter(account=account, metric="views").exists()


def test_a_run_past_its_soft_time_limit_starts_no_more_requests(connected, sandbox, settings):
    """Celery's threads pool enforces no time limit, so the run does (the Meta client's
    deadline): past the soft limit no request starts, the run is recorded as stopped and
    rescheduled, and the next one continues where it stopped."""
    account, _ = connected
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 1
    sandbox.control("POST", "settings", json={"latency_ms": 400})
    sandbox.control("POST", "stats/reset")
    started = time.monotonic()
    result = run(account)
    elapsed = time.monotonic() - started
    assert result["error"] == "the refresh ran out of time", result
    # Requests start at 0, 0.4 and 0.8 s at most: none after the limit, and the run ends
    # with the one in flight.
    assert 1 <= stats(sandbox)["http_requests"] <= 3
    assert elapsed < 1 + 0.4 + 1.5, elapsed  # the limit, one request, slack for a busy machine
    account.refresh_from_db()
    assert account.lease_token == "" and account.waiting_reason == WaitingReason.ERROR
    assert account.last_refresh_error.startswith("The refresh ran out of time")
    assert account.next_refresh_at > account.last_refresh_error_at  # a backoff, not a spin
    assert account.health == Health.CONNECTED  # not a disconnection

    settings.CELERY_TASK_SOFT_TIME_LIMIT = 240
    sandbox.control("POST", "settings", json={"latency_ms": 0})
    for _ in range(10):
        result = run(account)
        assert "error" not in result, result
        account.refresh_from_db()
        if account.backfilled_at:
            break
    assert account.backfilled_at and AccountDaily.objects.filter(account=account).exists()
