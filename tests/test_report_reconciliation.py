"""Every figure reconciles: snapshots filled from the sandbox's own HTTP answers, then the report's
KPIs checked against what the sandbox's API answers for the same window and account.

The snapshots are written from per-day answers (as the pipeline stores them); the check asks the
API independently for the window's totals, so a report that summed the wrong days, summed daily
reach, or mislabelled a window would disagree."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from insights.models import AccountDaily, ProfileSnapshot, WindowMetric
from insights.reports.build import build_report
from insights.reports.request import for_days
from sandbox.accounts import create_account

from .factories import InstagramAccountFactory
from .sandbox.conftest import Sandbox

pytestmark = pytest.mark.django_db(transaction=True)
PACIFIC = ZoneInfo("America/Los_Angeles")
SUMMED = ("views", "total_interactions", "profile_links_taps")


def pacific_day(end_time: str) -> date:
    """Meta's daily value ending at `end_time` covers the Pacific day before it."""
    moment = datetime.strptime(end_time, "%Y-%m-%dT%H:%M:%S%z")
    return (moment.astimezone(PACIFIC) - timedelta(days=1)).date()


def test_report_kpis_match_the_sandbox_api(live_server, world):
    from sandbox import core
    from sandbox import world as sandbox_world

    sandbox = Sandbox(live_server.url)
    acct = create_account(followers=4200, media_count=30, login="instagram")
    ig, token, host = acct["ig_user_id"], acct["access_token"], acct["host"]

    def insights(**params) -> list[dict]:
        response = sandbox.get(host, f"v25.0/{ig}/insights", token, **params)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    end = sandbox_world.pacific_day(core.now()) - timedelta(days=2)
    start = end - timedelta(days=27)
    account = InstagramAccountFactory(
        agency=world.a, client=world.clients["a1"], ig_user_id=ig, username=acct["username"]
    )

    # Fill snapshots as the pipeline would: daily reach as a time series, the total_value
    # metrics one request per day, the de-duplicated 28-day reach, the follower count.
    rows = []
    for value in insights(
        metric="reach", period="day", since=start.isoformat(), until=end.isoformat()
    )[0]["values"]:
        day = pacific_day(value["end_time"])
        rows.append(("reach", day, value["value"], value["end_time"]))
    for offset in range(28):
        day = start + timedelta(days=offset)
        for metric in insights(
            metric=",".join(SUMMED),
            period="day",
            metric_type="total_value",
            since=day.isoformat(),
            until=day.isoformat(),
        ):
            if "value" in metric.get("total_value", {}):
                rows.append((metric["name"], day, metric["total_value"]["value"], None))
    AccountDaily.objects.bulk_create(
        AccountDaily(
            account=account,
            metric=metric,
            day=day,
            value=value,
            end_time=datetime.combine(
                day + timedelta(days=1), datetime.min.time(), PACIFIC
            ).astimezone(UTC),
        )
        for metric, day, value, _ in rows
    )
    window_reach = insights(
        metric="reach",
        period="day",
        metric_type="total_value",
        since=start.isoformat(),
        until=end.isoformat(),
    )[0]["total_value"]["value"]
    WindowMetric.objects.create(
        account=account, metric="reach", kind="28d", start=start, end=end, value=window_reach
    )
    profile = sandbox.get(host, f"v25.0/{ig}", token, fields="followers_count").json()
    ProfileSnapshot.objects.create(
        account=account, day=end, followers_count=profile["followers_count"]
    )

    report = build_report(for_days(world.clients["a1"], start, end, "none"))
    kpis = {k.key: k.value for k in report.sections[0].kpis}

    # What the API answers for the whole window, asked independently.
    totals = {
        m["name"]: m["total_value"]["value"]
        for m in insights(
            metric=",".join(SUMMED),
            period="day",
            metric_type="total_value",
            since=start.isoformat(),
            until=end.isoformat(),
        )
    }
    assert kpis["views"] == totals["views"]
    assert kpis["interactions"] == totals["total_interactions"]
    assert kpis["link_taps"] == totals["profile_links_taps"]
    assert kpis["reach"] == window_reach
    daily_reach = sum(v for m, _, v, _ in rows if m == "reach")
    assert kpis["reach"] < daily_reach  # de-duplicated, never the sum of daily reach
    assert kpis["followers"] == profile["followers_count"]
    # Engagement is per post (its interactions ÷ its reach): no post was stored here, so none.
    assert kpis["engagement_rate"] is None
