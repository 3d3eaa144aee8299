"""Meta's numbers settle for up to 48 hours (graph-api.md §4.1; the sandbox revises recent days
upward the same way): a day is read again about daily until a read at least 48 hours after its
end, which is final (`settled`), and is then left alone. Demographics are read weekly.
Prism's clock and the sandbox's move together (the `clocks` fixture)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from insights.meta import parse
from insights.models import AccountDaily, DemographicSnapshot, WindowKind, WindowMetric
from tests.instants import at_each
from tests.refresh.test_media import meta

from .helpers import run_ok as run

pytestmark = pytest.mark.django_db(transaction=True)


def meta_value(sandbox, remote, metric, day, **params):
    since, until = parse.day_start(day), parse.day_end(day)
    body = meta(
        sandbox,
        remote,
        f"{remote['ig_user_id']}/insights",
        metric=metric,
        period="day",
        since=int(since.timestamp()),
        until=int(until.timestamp()),
        **params,
    )
    if params.get("metric_type") == "total_value":
        return parse.totals(body)[metric].value
    return {parse.pacific_day(p.end_time): p.value for p in parse.series(body)}[day]


def backfilled(connect, settings, tmp_path, *, seed: int):
    """A 10-media account with 60 days of history, refreshed until its backfill is done."""
    settings.BACKFILL_DAYS = 60
    settings.MEDIA_ROOT = tmp_path
    account, remote = connect(followers=5000, media_count=10, seed=seed)
    for _ in range(10):
        run(account)
        account.refresh_from_db()
        if account.backfilled_at:
            break
    assert account.backfilled_at
    return account, remote


# From just before the Pacific midnight that starts the 23-hour day of 8 March, the second read
# comes 47 h 59 min after the day's end: not settled yet (it was marked settled an hour early,
# "48 hours" having been added to a Pacific midnight in wall-clock time, and kept one less
# than Meta's final number).
@at_each("default", "us_spring_forward_eve")
def test_a_day_is_read_again_until_it_settles_then_left_and_demographics_come_weekly(
    connect, sandbox, clocks, settings, tmp_path
):
    settings.BACKFILL_DAYS = 30
    settings.MEDIA_ROOT = tmp_path
    account, remote = connect(followers=5000, media_count=40, seed=4)
    run(account)
    day = parse.today_pacific(clocks.now) - timedelta(days=1)
    readings = []
    for _ in range(4):
        reach = AccountDaily.objects.get(account=account, metric="reach", dimension="", day=day)
        views = AccountDaily.objects.get(account=account, metric="views", dimension="", day=day)
        assert reach.value == meta_value(sandbox, remote, "reach", day)
        assert views.value == meta_value(sandbox, remote, "views", day, metric_type="total_value")
        readings.append((reach.value, reach.captured_at, reach.settled, views.captured_at))
        clocks.advance(days=1)
        run(account)
    (v0, c0, s0, _), (v1, c1, s1, _), (v2, c2, s2, w2), (v3, c3, s3, w3) = readings
    assert not s0 and c1 > c0  # read again the next day, with Meta's revised number
    assert len({v0, v1, v2}) > 1  # the sandbox really revised it meanwhile
    assert s2 and c2 >= parse.day_end(day) + timedelta(hours=48)  # the final read
    assert s3 and (c3, w3) == (c2, w2)  # then never asked again
    # Demographics: the first run's 8 snapshots, none more within the week.
    assert DemographicSnapshot.objects.filter(account=account).count() == 8
    clocks.advance(days=3)  # a week after the first read
    run(account)
    assert DemographicSnapshot.objects.filter(account=account).count() == 16


# At a Pacific midnight's eve the next run comes after Meta's day ended: the window left out is
# then no longer the last complete day's, and is still asked again.
@at_each("default", "pacific_midnight_eve")
def test_a_hole_in_the_recent_history_is_read_again_with_metas_numbers(
    connect, sandbox, clocks, settings, tmp_path
):
    """Whatever left it (a read that never landed): the last complete day's 7- and 28-day reach
    windows, a day's per-day totals, and a day missing between stored days come back on the
    next run with what Meta answers, and the run after that asks nothing more for them."""
    account, remote = backfilled(connect, settings, tmp_path, seed=5)
    today = parse.today_pacific(clocks.now)
    windowless, missing = today - timedelta(days=1), today - timedelta(days=12)
    windows = WindowMetric.objects.filter(account=account, metric="reach", end=windowless)
    kept_windows = {(w.kind, w.start): w.value for w in windows.exclude(kind=WindowKind.MONTH)}
    assert len(kept_windows) == 2
    windows.exclude(kind=WindowKind.MONTH).delete()
    day_rows = AccountDaily.objects.filter(account=account, day=missing)
    kept_days = {(r.metric, r.dimension): r.value for r in day_rows}
    assert ("reach", "") in kept_days and ("views", "") in kept_days
    day_rows.delete()
    totalless = today - timedelta(days=20)  # its reach kept, its per-day totals lost
    totals = AccountDaily.objects.filter(account=account, day=totalless).exclude(metric="reach")
    kept_totals = {(r.metric, r.dimension): r.value for r in totals}
    assert ("views", "") in kept_totals
    totals.delete()

    clocks.advance(hours=2)
    run(account)
    again = WindowMetric.objects.filter(account=account, metric="reach", end=windowless)
    again = {(w.kind, w.start): w.value for w in again.exclude(kind=WindowKind.MONTH)}
    assert set(again) == set(kept_windows)
    for (kind, start), value in again.items():  # Meta's de-duplicated reach, as it answers now
        body = meta(
            sandbox,
            remote,
            f"{remote['ig_user_id']}/insights",
            metric="reach",
            period="day",
            metric_type="total_value",
            since=int(parse.day_start(start).timestamp()),
            until=int(parse.day_end(windowless).timestamp()),
        )
        assert value == parse.totals(body)["reach"].value, kind
    assert AccountDaily.objects.get(
        account=account, metric="reach", dimension="", day=missing
    ).value == meta_value(sandbox, remote, "reach", missing)
    assert {
        (r.metric, r.dimension) for r in AccountDaily.objects.filter(account=account, day=missing)
    } == set(kept_days)
    assert AccountDaily.objects.get(
        account=account, metric="views", dimension="", day=missing
    ).value == meta_value(sandbox, remote, "views", missing, metric_type="total_value")

    again = AccountDaily.objects.filter(account=account, day=totalless).exclude(metric="reach")
    assert {(r.metric, r.dimension): r.value for r in again} == kept_totals

    # Filled: the next run does not read them again (they are settled).
    def captured():
        rows = AccountDaily.objects.filter(account=account, day=missing)
        found = WindowMetric.objects.filter(account=account, metric="reach", end=windowless)
        return sorted(r.captured_at for r in rows), sorted(w.captured_at for w in found)

    before = captured()
    clocks.advance(hours=2)
    run(account)
    assert captured() == before


def test_a_failed_series_read_is_asked_again_though_its_days_are_stored(
    connect, sandbox, clocks, settings, tmp_path, caplog
):
    """The reach series failed while the day's other reads landed (a breakdown's total gives
    the day its reach), on days read 48 h after their end and so settled at once: the run
    records those days as failed and the next run asks for their series again, with Meta's
    numbers. No repair is needed: nothing was silently left behind."""
    account, remote = backfilled(connect, settings, tmp_path, seed=6)
    clocks.advance(days=3)
    today = parse.today_pacific(clocks.now)
    new_days = [today - timedelta(days=n) for n in (3, 2, 1)]
    # Once: the account's first insights operation of the run, which is the reach series. (An
    # error Prism does not retry within the run; a 5xx is retried once, and failing twice is
    # what a fault mix does by chance.)
    error = {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100}
    fault = {"kind": "graph_error", "count": 1, "params": {"error": error}}
    answer = sandbox.control(
        "POST", "faults", json={"path_regex": f"/{remote['ig_user_id']}/insights$", **fault}
    )
    assert answer.status_code == 201, answer.text
    stats = run(account)
    assert stats["account"]["failed_reads"] >= 1
    assert set(stats["account"]["failed_days"]) >= {d.isoformat() for d in new_days}
    stored = AccountDaily.objects.filter(account=account, metric="reach", dimension="")
    assert stored.filter(day=new_days[0], settled=True).exists()  # the breakdown brought it

    # The next run asks the failed days' series again: Meta's daily reach, as it answers now.
    caplog.clear()
    clocks.advance(hours=2)
    stats = run(account)
    assert not stats["account"]["failed_days"]
    for day in new_days:
        row = stored.get(day=day)
        assert row.value == meta_value(sandbox, remote, "reach", day), day
    assert not [r for r in caplog.records if "re-reading the reach windows" in r.getMessage()]


def test_a_failed_reach_window_read_is_asked_again_on_the_next_run(
    connect, sandbox, clocks, settings, tmp_path
):
    """The 28-day window before the newest one (the default report's previous period) is read
    on an account's first run, settled at once: when that read fails it is recorded and asked
    again by the next run; nothing else would ever ask it."""
    settings.BACKFILL_DAYS = 60
    settings.MEDIA_ROOT = tmp_path
    account, remote = connect(followers=5000, media_count=10, seed=7)
    last = parse.today_pacific(clocks.now) - timedelta(days=1)
    end = last - timedelta(days=28)
    since, until = parse.day_start(end - timedelta(days=27)), parse.day_end(end)
    window = {
        "metric": "reach",
        "metric_type": "total_value",
        "since": int(since.timestamp()),
        "until": int(until.timestamp()),
    }
    error = {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100}
    fault = {"kind": "graph_error", "count": 1, "params": {"error": error}, "query": window}
    answer = sandbox.control("POST", "faults", json=fault)
    assert answer.status_code == 201, answer.text
    stats = run(account)
    assert stats["account"]["failed_windows"] == [f"28d:{end.isoformat()}"]
    stored = WindowMetric.objects.filter(account=account, metric="reach", kind="28d", end=end)
    assert not stored.exists()

    clocks.advance(hours=2)
    stats = run(account)
    assert not stats["account"]["failed_windows"]
    body = meta(sandbox, remote, f"{remote['ig_user_id']}/insights", period="day", **window)
    assert stored.get().value == parse.totals(body)["reach"].value
