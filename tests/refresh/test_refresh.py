"""A refresh against the sandbox over real HTTP, checked against what the sandbox's own HTTP API
answers (never against constants): values, idempotency, fencing, backfill, clock moves,
rejected metrics and revoked tokens."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from insights.meta import catalogue, parse
from insights.models import (
    AccountDaily,
    BackfillWindow,
    DemographicSnapshot,
    Health,
    InstagramAccount,
    Media,
    MetricRejection,
    ProfileSnapshot,
    WaitingReason,
    WindowMetric,
)
from insights.refresh import backfill, daily, schedule
from tests.instants import at_each

from .helpers import claim_and_run as run
from .helpers import parse_now

pytestmark = pytest.mark.django_db(transaction=True)


def meta_get(sandbox, remote, path, **params):
    response = sandbox.get("graph.facebook.com", f"v25.0/{path}", remote["access_token"], **params)
    assert response.status_code == 200, response.text
    return response.json()


def meta_day_total(sandbox, remote, metric, day, breakdown=None):
    since, until = parse.day_start(day), parse.day_end(day)
    params = dict(metric=metric, period="day", metric_type="total_value")
    params |= dict(since=int(since.timestamp()), until=int(until.timestamp()))
    if breakdown:
        params["breakdown"] = breakdown
    body = meta_get(sandbox, remote, f"{remote['ig_user_id']}/insights", **params)
    return parse.totals(body).get(metric)


def meta_window_reach(sandbox, remote, first, last):
    params = dict(metric="reach", period="day", metric_type="total_value")
    params |= dict(
        since=int(parse.day_start(first).timestamp()), until=int(parse.day_end(last).timestamp())
    )
    body = meta_get(sandbox, remote, f"{remote['ig_user_id']}/insights", **params)
    return parse.totals(body)["reach"].value


def meta_series(sandbox, remote, metric, period, first, last):
    since = parse.day_start(first)
    until = parse.day_end(last)
    body = meta_get(
        sandbox,
        remote,
        f"{remote['ig_user_id']}/insights",
        metric=metric,
        period=period,
        since=int(since.timestamp()),
        until=int(until.timestamp()),
    )
    return {parse.pacific_day(p.end_time): p.value for p in parse.series(body)}


def snapshot_rows():
    return {
        "daily": sorted(AccountDaily.objects.values_list("metric", "dimension", "day", "value")),
        "windows": sorted(
            WindowMetric.objects.values_list("metric", "kind", "start", "end", "value")
        ),
        "profile": sorted(ProfileSnapshot.objects.values_list("day", "followers_count")),
        "demographics": DemographicSnapshot.objects.count(),
    }


@pytest.fixture
def connected(connect, settings):
    # Two months of history keep these tests quick; the backfill test below asks for two years.
    settings.BACKFILL_DAYS = 60
    account, remote = connect(followers=5000, media_count=400)
    return account, remote


def test_a_refresh_stores_what_meta_answers(connected, sandbox):
    account, remote = connected
    # The strict world: reach answers only the periods its reference lists (docs/graph-api.md
    # §4), so a request for week / days_28 would fail the run's reads.
    assert sandbox.control("POST", "settings", json={"reach_legacy_periods": False}).ok
    stats = run(account)
    assert "error" not in stats
    today = parse.today_pacific(datetime.now(UTC))
    yesterday = today - timedelta(days=1)

    profile = meta_get(sandbox, remote, remote["ig_user_id"], fields="followers_count,media_count")
    snapshot = ProfileSnapshot.objects.get(account=account, day=today)
    assert snapshot.followers_count == profile["followers_count"]
    assert snapshot.media_count == profile["media_count"]

    # Daily reach over the last month, and Meta's own de-duplicated reach of the trailing 7 and
    # 28 days ending yesterday (metric_type=total_value over since/until: the documented way,
    # docs/graph-api.md §4), plus the windows before them (a report's comparison periods).
    first = yesterday - timedelta(days=20)
    expected = meta_series(sandbox, remote, "reach", "day", first, yesterday)
    stored = dict(
        AccountDaily.objects.filter(
            account=account, metric="reach", dimension="", day__gte=first
        ).values_list("day", "value")
    )
    assert expected and stored == expected
    windows = {
        (w.kind, w.start, w.end): w.value
        for w in WindowMetric.objects.filter(
            account=account, metric="reach", kind__in=["7d", "28d"]
        )
    }
    expected_windows = {}
    for kind, days in (("7d", 7), ("28d", 28)):
        for end in (yesterday, yesterday - timedelta(days=days)):
            start = end - timedelta(days=days - 1)
            total = meta_window_reach(sandbox, remote, start, end)
            expected_windows[(kind, start, end)] = total
    assert windows == expected_windows
    assert daily.stored_windows(account)[0][2] == yesterday

    # Per-day totals and a breakdown, for days the backfill and the daily read each cover.
    for day in (yesterday, yesterday - timedelta(days=10)):
        for metric in ("views", "total_interactions", "likes"):
            expected = meta_day_total(sandbox, remote, metric, day)
            row = AccountDaily.objects.get(account=account, metric=metric, dimension="", day=day)
            assert row.value == expected.value
            assert row.end_time == parse.day_end(day)
        by_type = meta_day_total(sandbox, remote, "views", day, "media_product_type")
        stored = dict(
            AccountDaily.objects.filter(
                account=account, metric="views", day=day, dimension__startswith="media_product"
            ).values_list("dimension", "value")
        )
        assert stored == by_type.parts and stored

    # The calendar month so far: one de-duplicated reach, not the sum of the days.
    month = yesterday.replace(day=1)
    window = WindowMetric.objects.get(account=account, metric="reach", kind="month", start=month)
    total = meta_get(
        sandbox,
        remote,
        f"{remote['ig_user_id']}/insights",
        metric="reach",
        period="day",
        metric_type="total_value",
        since=int(parse.day_start(month).timestamp()),
        until=int(parse.day_end(window.end).timestamp()),
    )
    assert window.value == parse.totals(total)["reach"].value
    assert DemographicSnapshot.objects.filter(account=account).count() == 8

    account.refresh_from_db()
    assert account.last_refresh_at and not account.last_refresh_error
    assert account.lease_token == "" and account.next_refresh_at > account.last_refresh_at
    assert account.data_as_of == parse.day_end(yesterday)
    assert account.health == Health.CONNECTED


def test_a_refresh_run_twice_leaves_one_runs_rows(connected, sandbox):
    account, _ = connected
    run(account)
    first = snapshot_rows()
    run(account)
    assert snapshot_rows() == first
    # Forcing the daily re-read too: every upsert hits its key, nothing doubles.
    AccountDaily.objects.update(captured_at=datetime.now(UTC) - timedelta(days=1))
    run(account)
    assert snapshot_rows() == first


def test_the_first_refresh_backfills_two_years_in_a_few_requests(connected, sandbox, settings):
    account, remote = connected
    settings.BACKFILL_DAYS = 730
    sandbox.control("POST", "stats/reset")
    stats = run(account)
    calls = sandbox.control("GET", "stats").json()
    # Every read went out in batch requests (the sandbox logs each operation of a batch as its
    # own rate-limit-counted call, beside the one HTTP request that carried it); one operation
    # per media since ?ids= is closed to new apps (docs/graph-api.md §1): the target is 40.
    batches = calls["by_path"]["POST graph.facebook.com/ (batch)"]["requests"]
    # Per-day totals for 460 days are 460 operations: about ten batches of 50, plus a round per
    # chunk for the series that says which days Meta has.
    assert batches == stats["requests"] <= 40
    assert calls["by_host"]["graph.facebook.com"]["http_requests"] == batches
    assert stats["backfill"]["pending"] == 0
    oldest = AccountDaily.objects.filter(account=account, metric="reach").order_by("day").first()
    today = parse.today_pacific(datetime.now(UTC))
    assert oldest.day <= today - timedelta(days=700)
    # Nothing missing between the oldest and the newest day.
    days = set(
        AccountDaily.objects.filter(account=account, metric="reach", dimension="").values_list(
            "day", flat=True
        )
    )
    assert len(days) == (max(days) - min(days)).days + 1
    # The per-day totals go back BACKFILL_DAILY_TOTALS_DAYS (460): a 90-day report's previous
    # period and its same period last year have views and interactions, not only the last 90
    # days.
    for metric in ("views", "total_interactions"):
        with_totals = set(
            AccountDaily.objects.filter(account=account, metric=metric, dimension="").values_list(
                "day", flat=True
            )
        )
        assert with_totals == {d for d in days if (today - d).days <= 460}, metric


def test_instagram_login_backfills_recent_totals_and_a_year_before_within_its_budget(
    connect, sandbox, settings
):
    # No batch on graph.instagram.com: every day's totals is a request of its own, so the
    # backfill asks those a default report compares (the last 60 days, and 35 a year before).
    settings.BACKFILL_DAYS = 730
    account, _remote = connect(login="instagram", followers=5000, media_count=100)
    sandbox.control("POST", "stats/reset")
    # The days are counted from the first run's: the backfill may outlast a Pacific midnight.
    today = parse.today_pacific(datetime.now(UTC))
    while not account.backfilled_at:
        run(account)
        account.refresh_from_db()
    ages = {
        (today - day).days
        for day in AccountDaily.objects.filter(
            account=account, metric="views", dimension=""
        ).values_list("day", flat=True)
    }
    assert set(range(1, 61)) <= ages and set(range(365, 401)) <= ages
    assert not ages - set(range(0, 61)) - set(range(365, 401))
    reach_days = AccountDaily.objects.filter(account=account, metric="reach", dimension="")
    assert reach_days.count() >= 700  # the daily reach still covers the two years
    requests = sandbox.control("GET", "stats").json()["by_host"]["graph.instagram.com"]
    assert requests["http_requests"] <= 350, requests


def test_the_backfill_asks_per_day_totals_only_for_days_meta_keeps(connect, sandbox, settings):
    # An account with 100 days of history, backfilled a year back: the series shows which days
    # Meta has, and only those get the one-operation-per-day totals.
    settings.BACKFILL_DAYS = 365
    settings.BACKFILL_DAILY_TOTALS_DAYS = 365
    account, _remote = connect(followers=5000, media_count=50, history_days=100)
    sandbox.control("POST", "stats/reset")
    run(account)
    insights = sandbox.control("GET", "stats").json()["by_path"][
        "GET graph.facebook.com/{ig_user}/insights"
    ]
    reach_days = set(
        AccountDaily.objects.filter(account=account, metric="reach", dimension="").values_list(
            "day", flat=True
        )
    )
    views_days = set(
        AccountDaily.objects.filter(account=account, metric="views", dimension="").values_list(
            "day", flat=True
        )
    )
    assert 90 <= len(reach_days) <= 101 and views_days == reach_days
    # 13 series, 12 months, a day's totals for each of the ~100 days and the last 28 days'
    # breakdowns: well under one operation per day of the year asked.
    assert insights["counted_calls"] < 300, insights


def test_an_interrupted_backfill_resumes_where_it_stopped(
    connected, sandbox, settings, monkeypatch
):
    account, remote = connected
    settings.REFRESH_TIME_BUDGET_SECONDS = 0  # one chunk of windows per run
    monkeypatch.setattr(backfill, "CHUNK_OPERATIONS", 40)  # two months: several chunks
    real_save = backfill._save_chunk
    calls = {"n": 0}

    def crash_on_second_chunk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker died")
        return real_save(*args, **kwargs)

    stats = run(account)
    assert 0 < stats["backfill"]["steps_done"] < stats["backfill"]["steps_total"]
    account.refresh_from_db()
    assert account.waiting_reason == WaitingReason.BACKFILL
    assert account.backfilled_at is None

    monkeypatch.setattr(backfill, "_save_chunk", crash_on_second_chunk)
    calls["n"] = 1
    with pytest.raises(RuntimeError):
        run(account)
    account.refresh_from_db()
    # The crash pushed the schedule out and released the lease; the chunk stayed "started".
    assert account.next_refresh_at > datetime.now(UTC) and account.lease_token == ""
    assert BackfillWindow.objects.filter(account=account, state="started").exists()

    monkeypatch.setattr(backfill, "_save_chunk", real_save)
    settings.REFRESH_TIME_BUDGET_SECONDS = 150
    stats = run(account)
    assert stats["backfill"]["pending"] == 0
    account.refresh_from_db()
    assert account.backfilled_at is not None
    days = set(
        AccountDaily.objects.filter(account=account, metric="reach", dimension="").values_list(
            "day", flat=True
        )
    )
    assert len(days) == (max(days) - min(days)).days + 1
    today = parse.today_pacific(datetime.now(UTC))
    sample = today - timedelta(days=50)
    expected = meta_series(sandbox, remote, "reach", "day", sample, sample)
    assert (
        AccountDaily.objects.get(account=account, metric="reach", dimension="", day=sample).value
        == (expected[sample])
    )


def test_a_backfill_never_gives_history_up_because_meta_was_busy(connected, sandbox):
    """Account insights answer 503 inside the batch, run after run (more runs than a window's
    attempts): the windows stay pending, and once Meta answers again the whole history comes
    in, with no day missing. A failure that is not an outage or a rate limit is what uses up a
    window's attempts."""
    account, _ = connected
    fault = {"kind": "5xx", "path_regex": "/insights", "params": {"status": 503}}
    assert sandbox.control("POST", "faults", json=fault).status_code == 201
    for _ in range(backfill.MAX_ATTEMPTS + 2):
        run(account)
    windows = BackfillWindow.objects.filter(account=account)
    assert windows.exists() and not windows.filter(state="done").exists()
    assert set(windows.values_list("attempts", flat=True)) == {0}
    account.refresh_from_db()
    assert account.backfilled_at is None

    sandbox.control("DELETE", "faults")
    for _ in range(5):
        run(account)
        account.refresh_from_db()
        if account.backfilled_at:
            break
    assert account.backfilled_at is not None
    assert not windows.exclude(error="").filter(state="done").exists()
    days = set(
        AccountDaily.objects.filter(account=account, metric="reach", dimension="").values_list(
            "day", flat=True
        )
    )
    today = parse.today_pacific(datetime.now(UTC))
    assert min(days) <= today - timedelta(days=59)
    assert len(days) == (max(days) - min(days)).days + 1


# 96 hours from just before the Pacific midnight that starts the 23-hour day of 8 March cross
# five Pacific midnights: five new days, not four.
@at_each("default", "us_spring_forward_eve")
def test_moving_the_sandbox_clock_fills_the_gap(connected, sandbox):
    account, remote = connected
    run(account)
    before = AccountDaily.objects.filter(account=account, metric="reach", dimension="").count()
    start = parse_now(sandbox.control("GET", "clock").json())
    moved = parse_now(sandbox.control("POST", "clock", json={"advance_days": 4}).json())
    run(account)
    rows = dict(
        AccountDaily.objects.filter(account=account, metric="reach", dimension="").values_list(
            "day", "value"
        )
    )
    assert len(rows) == before + (parse.today_pacific(moved) - parse.today_pacific(start)).days
    assert len(rows) == (max(rows) - min(rows)).days + 1
    newest = max(rows)
    expected = meta_series(sandbox, remote, "reach", "day", newest - timedelta(days=6), newest)
    assert {d: rows[d] for d in expected} == expected
    # The new days' totals came too.
    views = meta_day_total(sandbox, remote, "views", newest)
    assert (
        AccountDaily.objects.get(account=account, metric="views", dimension="", day=newest).value
        == views.value
    )


def test_a_rejected_metric_is_recorded_and_the_rest_stored(connected, sandbox, monkeypatch):
    account, _ = connected
    # A metric this Graph version does not know: Meta fails the whole request naming it.
    monkeypatch.setattr(catalogue, "TOTALS", (*catalogue.TOTALS[:3], "story_exits"))
    stats = run(account)
    assert "error" not in stats
    rejection = MetricRejection.objects.get(account=account, product_type="")
    assert (rejection.metric, rejection.product_type, rejection.code) == ("story_exits", "", 100)
    yesterday = parse.today_pacific(datetime.now(UTC)) - timedelta(days=1)
    assert AccountDaily.objects.filter(account=account, metric="views", day=yesterday).exists()
    account.refresh_from_db()
    assert account.health == Health.CONNECTED and not account.last_refresh_error
    # Not asked again.
    sandbox.control("POST", "stats/reset")
    AccountDaily.objects.update(captured_at=datetime.now(UTC) - timedelta(days=1))
    run(account)
    assert MetricRejection.objects.get(account=account, product_type="").times_seen == 1


def test_a_revoked_token_stops_refreshes_until_reconnect(connected, sandbox):
    account, remote = connected
    run(account)
    sandbox.control("POST", "tokens/revoke", json={"access_token": remote["access_token"]})
    InstagramAccount.objects.filter(pk=account.pk).update(next_refresh_at=datetime.now(UTC))
    AccountDaily.objects.update(captured_at=datetime.now(UTC) - timedelta(days=1))
    stats = run(account)
    assert "error" in stats
    account.refresh_from_db()
    assert account.health == Health.NEEDS_RECONNECT
    assert account.waiting_reason == WaitingReason.RECONNECT
    assert account.lease_token == ""
    assert schedule.claim_due() == []  # due, but never dispatched while it needs a reconnect


def test_the_refresh_account_command_prints_what_it_fetched(connected, sandbox):
    from io import StringIO

    from django.core.management import call_command

    account, remote = connected
    out = StringIO()
    call_command("refresh_account", str(account.pk), stdout=out)
    printed = out.getvalue()
    fetched = json.loads(printed)
    assert fetched["requests"] >= 1
    assert fetched["account"]["daily_values"] > 0 and fetched["backfill"]["pending"] == 0
    assert AccountDaily.objects.filter(account=account).exists()
    # Its media and stories, as many as Meta lists.
    listed = meta_get(sandbox, remote, f"{remote['ig_user_id']}/stories")["data"]
    assert (
        fetched["stories"]["listed"]
        == len(listed)
        == Media.objects.filter(account=account, is_story=True).count()
    )
    assert (
        fetched["media"]["listed"]
        == Media.objects.filter(account=account, is_story=False).count()
        == remote_media_count(sandbox, remote)
    )
    assert fetched["media"]["sampled"] > 0
    assert remote_token_not_in(printed, account)


def remote_media_count(sandbox, remote) -> int:
    page = meta_get(sandbox, remote, f"{remote['ig_user_id']}/media", limit=100)
    count = len(page["data"])
    while page.get("paging", {}).get("next"):
        after = page["paging"]["cursors"]["after"]
        page = meta_get(sandbox, remote, f"{remote['ig_user_id']}/media", limit=100, after=after)
        count += len(page["data"])
    return count


def remote_token_not_in(text: str, account) -> bool:
    return account.reveal_token() not in text
