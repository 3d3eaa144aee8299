"""What a refresh costs in Meta's rate-limit accounting (graph-api.md §7: every operation of a
batch and every id of `?ids=` counts against the account's BUC budget), measured with the
sandbox's call statistics over a day of hourly runs of a 1,000-media account that posts daily.

An hourly run asks only for what changes within the hour: the stories (listing, due samples),
the newest media, the media samples falling due, and one time-series operation (Meta's answer
shows whether it completed a day ahead of Prism's clock). The account's daily values, their
per-day totals, months and the profile are read once a day after Pacific midnight, plus the
settling re-reads (about daily while a day is under 48 hours old)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from insights.meta import parse
from tests.instants import at_each
from tests.refresh.test_media import add_media, calls

from .helpers import run_ok as run

pytestmark = pytest.mark.django_db(transaction=True)


GRAPH = "graph.facebook.com"
ACCOUNT_READS = (f"GET {GRAPH}/{{ig_user}}", f"GET {GRAPH}/{{ig_user}}/insights")


def counted(stats: dict, *keys: str) -> int:
    return sum(stats["by_path"].get(k, {}).get("counted_calls", 0) for k in keys)


def graph_counted(stats: dict) -> int:
    return stats["by_host"].get(GRAPH, {}).get("counted_calls", 0)


# At the default instant (10:00 in Los Angeles) 26 hourly runs cross one Pacific midnight; from
# just before the midnight that starts the 25-hour day of 1 November they cross two.
@at_each("default", "us_fall_back_eve")
def test_an_hourly_run_and_a_daily_run_stay_within_their_counted_calls(
    connect, sandbox, clocks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    account, remote = connect(followers=5000, media_count=1000, seed=5)
    run(account)  # the first backfill; its pictures' backlog is spread over the next runs
    started = clocks.now
    hourly, daily = [], []
    for hour in range(26):
        if hour % 24 == 3:
            add_media(sandbox, remote, kind="carousel")  # the account posts daily
        clocks.advance(hours=1)
        sandbox.control("POST", "stats/reset")
        stats = run(account)
        answer = calls(sandbox)
        row = {
            "at": clocks.now,
            "graph": graph_counted(answer),
            "account": counted(answer, *ACCOUNT_READS),
            "profile": counted(answer, ACCOUNT_READS[0]),
            "ids": counted(answer, f"GET {GRAPH}/?ids="),
            "listing": counted(answer, f"GET {GRAPH}/{{ig_user}}/media"),
            "thumbnails": stats["media"]["thumbnails"],
        }
        (daily if row["profile"] else hourly).append(row)
    total = sum(r["graph"] for r in hourly + daily)
    print(f"\nhourly runs: {[r['graph'] for r in hourly]} counted calls; daily run: {daily}")
    print(f"a day of runs: {total} counted Graph calls")
    # One daily read per Pacific midnight crossed (the run after it); the others are hourly.
    days = {parse.today_pacific(r["at"]) for r in hourly + daily}
    assert len(daily) == len(days - {parse.today_pacific(started)}) >= 1, daily
    for day in daily:
        assert parse.today_pacific(day["at"] - timedelta(hours=1)) < parse.today_pacific(day["at"])
        assert day["account"] <= 20
    for row in hourly:
        # The one time-series operation; no profile, no per-day totals, no months.
        assert row["account"] <= 1, row
        # The pictures' backlog comes from one listing page, not one counted call per media.
        assert row["ids"] == 0 and row["listing"] <= 2, row
    assert sum(r["thumbnails"] for r in hourly) >= 500  # the backlog really went on meanwhile
    assert max(r["graph"] for r in hourly) <= 20
    # Mostly the stories' polls and the media samples (the decaying schedule); the pictures'
    # backlog through `?ids=` alone cost 50 counted calls an hour for the day after connecting.
    assert total <= 320 + 20 * (len(daily) - 1)
