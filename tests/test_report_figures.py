"""The report's key figures as a client reads them: changes only against comparable data,
engagement per post, follower growth from two counts. Every test runs at a named instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from insights.models import AccountDaily, Media, ProfileSnapshot, ReportSettings
from insights.reports.build import build_report
from insights.reports.page import kpi_view
from insights.reports.request import for_days

from .factories import InstagramAccountFactory
from .report_world import end_time

pytestmark = pytest.mark.django_db

# Saturday 28 November 2026, 17:00 UTC: 09:00 in Los Angeles, 12:00 in New York.
SATURDAY_NOON = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
LAST = date(2026, 11, 27)  # the last complete day, Pacific and New York alike
PERIOD = (LAST - timedelta(days=27), LAST)  # 31 Oct .. 27 Nov
PREVIOUS_END = PERIOD[0] - timedelta(days=1)  # 30 Oct


@pytest.fixture(autouse=True)
def _saturday_noon():
    with time_machine.travel(SATURDAY_NOON, tick=False):
        yield


@pytest.fixture
def account(world):
    client = world.clients["a1"]
    client.time_zone = "America/New_York"
    client.save()
    return InstagramAccountFactory(
        agency=world.a,
        client=client,
        username="acme.coffee",
        connected_at=datetime(2025, 1, 5, tzinfo=UTC),
        backfilled_at=SATURDAY_NOON,
        media_listed_at=SATURDAY_NOON,
    )


def daily(account, metric: str, days, value: int = 100) -> None:
    AccountDaily.objects.bulk_create(
        AccountDaily(account=account, metric=metric, day=d, value=value, end_time=end_time(d))
        for d in days
    )


def days_back(end: date, count: int) -> list[date]:
    return [end - timedelta(days=i) for i in range(count)]


def tiles(account, compare="previous") -> dict:
    report = build_report(for_days(account.client, *PERIOD, compare))
    return {k.key: k for k in report.sections[0].kpis}


def test_a_previous_period_with_few_days_of_data_gets_no_percentage_but_the_reason(account):
    # Seen on real reports: "New followers +3,320 % vs 5", "Views +10,458 % vs 1,809".
    daily(account, "views", days_back(LAST, 28), 1000)
    daily(account, "views", days_back(PREVIOUS_END, 3), 600)
    views = tiles(account)["views"]
    assert views.value == 28_000 and views.previous == 1_800
    assert views.delta is None
    assert views.why == "previous period: 3 of 28 days with data"
    shown = kpi_view(views)
    assert shown.delta == "" and shown.why == "previous period: 3 of 28 days with data"


def test_comparable_coverage_shows_the_change(account):
    daily(account, "views", days_back(LAST, 27), 1000)  # one day missing of 28: comparable
    daily(account, "views", days_back(PREVIOUS_END, 28), 900)
    views = tiles(account)["views"]
    assert views.why == "" and views.coverage == "27 of 28 days"
    assert kpi_view(views).delta == f"{(27_000 - 25_200) / 25_200 * 100:+.1f}%"


def test_a_sparse_current_period_says_so_too(account):
    daily(account, "total_interactions", days_back(LAST, 5), 40)
    daily(account, "total_interactions", days_back(PREVIOUS_END, 28), 40)
    interactions = tiles(account)["interactions"]
    assert interactions.delta is None
    assert interactions.why == "this period: 5 of 28 days with data"


def test_the_same_period_last_year_compares_when_it_has_the_days(account):
    daily(account, "views", days_back(LAST, 28), 1000)
    year_ago_end = date(2025, 11, 27)
    daily(account, "views", days_back(year_ago_end, 28), 500)
    views = tiles(account, "year")["views"]
    assert views.previous == 14_000 and views.why == "" and views.delta_percent == 100.0


def test_followers_and_growth_compare_only_with_counts_at_both_ends(account):
    for day, count in (
        (PERIOD[0] - timedelta(days=1), 5000),
        (LAST, 5200),
        (PREVIOUS_END - timedelta(days=27), 4900),  # the previous period's first day
    ):
        ProfileSnapshot.objects.create(account=account, day=day, followers_count=count)
    kpis = tiles(account)
    assert kpis["followers"].value == 5200 and kpis["followers"].previous == 5000
    assert kpis["followers"].delta == 200
    growth = kpis["net_growth"]
    assert growth.value == 200
    # The previous period's growth would start inside it (the history's first count): not shown.
    assert growth.delta is None
    assert growth.why == "previous period: follower history starts 3 Oct"


def test_follower_growth_needs_two_counts_and_says_when_history_starts(account):
    ProfileSnapshot.objects.create(account=account, day=LAST, followers_count=5200)
    growth = tiles(account)["net_growth"]
    assert growth.value is None  # one count is no growth, never "0"
    assert growth.note == "follower history starts 27 Nov"


def _post(account, n: int, posted: datetime, interactions: int, reach: int, *, story=False):
    return Media.objects.create(
        account=account,
        media_id=f"m{n}",
        media_type="IMAGE",
        product_type="STORY" if story else "FEED",
        timestamp=posted,
        is_story=story,
        latest_metrics={"reach": reach}
        if story
        else {"total_interactions": interactions, "reach": reach},
    )


def test_engagement_is_per_post_by_reach_or_by_followers_as_the_client_chooses(world, account):
    inside = datetime(2026, 11, 10, 15, tzinfo=UTC)
    _post(account, 1, inside, interactions=50, reach=1000)  # 5 %
    _post(account, 2, inside + timedelta(days=1), interactions=30, reach=200)  # 15 %
    _post(account, 3, inside + timedelta(days=2), interactions=0, reach=900, story=True)
    _post(account, 4, datetime(2026, 10, 15, 15, tzinfo=UTC), interactions=10, reach=500)
    ProfileSnapshot.objects.create(account=account, day=LAST, followers_count=4000)
    ProfileSnapshot.objects.create(account=account, day=PREVIOUS_END, followers_count=3900)

    rate = tiles(account)["engagement_rate"]
    assert rate.value == pytest.approx(10.0)  # (5 % + 15 %) / 2; the story is not a post
    assert rate.previous == pytest.approx(2.0)
    assert rate.note == "per post, by reach"

    ReportSettings.objects.create(
        agency=world.a, client=account.client, engagement_formula="post_followers"
    )
    rate = tiles(account)["engagement_rate"]
    assert rate.value == pytest.approx((50 + 30) / 2 / 4000 * 100)  # 1 %
    assert rate.previous == pytest.approx(10 / 3900 * 100)
    assert rate.note == "per post, by followers"


def test_posts_are_not_counted_before_the_media_were_read(account):
    account.media_listed_at = None
    account.save()
    posts = tiles(account)["posts"]
    assert posts.value is None and posts.note == "being read from Instagram"
