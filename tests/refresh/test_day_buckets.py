"""Day buckets across a daylight-saving change (graph-api.md §10): Meta's daily values end at
midnight Pacific time, 07:00 UTC in summer and 08:00 UTC in winter. Prism keeps each value's
raw `end_time` exactly as Meta sent it and files the value under the Pacific day it covers
(`end_time` in Pacific, minus one day). Days are never re-bucketed into another zone in storage:
the client's zone is applied when a report is made (its daily figures say they are Meta's
Pacific days). US daylight saving ends on 2026-11-01."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from insights.meta import parse
from insights.models import AccountDaily
from insights.refresh import account as refresh
from insights.refresh import schedule

pytestmark = pytest.mark.django_db(transaction=True)

AFTER_DST = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


def raw_series(sandbox, remote, first: date, last: date) -> dict[date, str]:
    """Meta's own end_time strings for daily reach, by the day each one covers."""
    answer = sandbox.get(
        "graph.facebook.com",
        f"v25.0/{remote['ig_user_id']}/insights",
        remote["access_token"],
        metric="reach",
        period="day",
        since=int(parse.day_start(first).timestamp()),
        until=int(parse.day_end(last).timestamp()),
    )
    assert answer.status_code == 200, answer.text
    values = answer.json()["data"][0]["values"]
    return {parse.pacific_day(parse.parse_time(v["end_time"])): v["end_time"] for v in values}


def test_raw_end_times_are_kept_and_days_bucketed_in_pacific_time_across_dst(
    connect, sandbox, settings
):
    settings.BACKFILL_DAYS = 30
    assert sandbox.control("POST", "clock", json={"to": AFTER_DST.isoformat()}).status_code == 200
    with time_machine.travel(AFTER_DST, tick=False):
        account, remote = connect(followers=5000, media_count=40, seed=3)
        token = schedule.claim_one(account.pk)
        assert "error" not in refresh.run(account.pk, token)

    first, last = date(2026, 10, 26), date(2026, 11, 3)
    meta = raw_series(sandbox, remote, first, last)
    assert set(meta) == {first + timedelta(days=i) for i in range(9)}
    # Meta's clock: summer days end at 07:00 UTC, winter ones at 08:00.
    assert meta[date(2026, 10, 31)] == "2026-11-01T07:00:00+0000"
    assert meta[date(2026, 11, 1)] == "2026-11-02T08:00:00+0000"

    stored = {
        row.day: row
        for row in AccountDaily.objects.filter(
            account=account, metric="reach", dimension="", day__range=(first, last)
        )
    }
    assert set(stored) == set(meta)  # every day once: none lost or doubled by the hour's shift
    for day, end_time in meta.items():
        assert stored[day].end_time == parse.parse_time(end_time), day  # Meta's raw end_time
        assert stored[day].end_time.astimezone(parse.PACIFIC).date() - timedelta(days=1) == day
    # The day the clocks changed lasted 25 hours (same-zone datetime arithmetic would say 24).
    dst_day = date(2026, 11, 1)
    assert parse.day_end(dst_day).timestamp() - parse.day_start(dst_day).timestamp() == 25 * 3600
    # And the moments Prism computes from a Pacific midnight are real hours after it, whatever
    # the clocks do meanwhile (48 hours after the end of 6 March 2026 is 2 days minus 1 hour
    # of Los Angeles wall time, 8 March lasting 23 hours).
    assert parse.day_end(dst_day) - parse.day_start(dst_day) == timedelta(hours=25)
    settles = parse.day_end(date(2026, 3, 6)) + timedelta(hours=48)
    assert settles.timestamp() - parse.day_end(date(2026, 3, 6)).timestamp() == 48 * 3600
    assert settles.astimezone(parse.PACIFIC).hour == 1
    # Per-day totals (Meta gives them no end_time) are filed under the same Pacific days, their
    # end_time the end of the Pacific day that was asked; every day has them, including the
    # one just past the backfill's newest window (the backfill's 30-day operation reaches it).
    totals = {
        row.day: row.end_time
        for row in AccountDaily.objects.filter(
            account=account, metric="views", dimension="", day__range=(first, last)
        )
    }
    assert totals == {day: row.end_time for day, row in stored.items()}
