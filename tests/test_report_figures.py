"""The report's key figures as a client reads them: changes only against comparable data,
engagement per post, follower growth from two counts. Every test runs at a named instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from insights.models import AccountDaily, Media, ProfileSnapshot, ReportSettings
from insights.reports.build import build_report
from insights.reports.page import kpi_view
from insights.reports.request import for_days

from .factories import InstagramAccountFactory
from .report_world import end_time

# Saturday 28 November 2026, 17:00 UTC: 09:00 in Los Angeles, 12:00 in New York.
SATURDAY_NOON = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.at(SATURDAY_NOON.isoformat())]
LAST = date(2026, 11, 27)  # the last complete day, Pacific and New York alike
PERIOD = (LAST - timedelta(days=27), LAST)  # 31 Oct .. 27 Nov
PREVIOUS_END = PERIOD[0] - timedelta(days=1)  # 30 Oct


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


# --- Reach for the period (point 2) -------------------------------------------------------------

PARIS_MORNING = "2026-11-28T07:00:00+00:00"  # 08:00 in Paris, 23:00 on 27 Nov in Los Angeles


def window(account, kind: str, start: date, end: date, value: int) -> None:
    from insights.models import WindowMetric

    WindowMetric.objects.create(
        account=account, metric="reach", kind=kind, start=start, end=end, value=value
    )


@pytest.mark.at(PARIS_MORNING)
def test_the_default_report_ends_on_meta_s_last_complete_day_and_has_its_reach(world, account):
    client = account.client
    client.time_zone = "Europe/Paris"
    client.save()
    # Meta's 27 Nov is not over: the last complete Pacific day is 26 Nov, whose 28-day window
    # the pipeline stored (the 28-day window ending on Paris's "yesterday" cannot exist yet).
    end = date(2026, 11, 26)
    window(account, "28d", end - timedelta(days=27), end, 41_000)
    window(account, "28d", end - timedelta(days=55), end - timedelta(days=28), 40_000)
    daily(account, "reach", days_back(end, 56), 3000)
    page = world.client_for("a_viewer").get(f"/a/alpha/clients/{client.pk}/report/")
    report = page.context["report"]
    assert (report.period.start, report.period.end) == (end - timedelta(days=27), end)
    reach = {k.key: k for k in report.sections[0].kpis}["reach"]
    assert reach.value == 41_000 and reach.previous == 40_000
    assert reach.note == "de-duplicated, 28 days" and reach.delta == 1000
    assert "41,000" in page.content.decode()


def test_a_long_range_shows_average_daily_reach_and_the_months_never_a_sum(account):
    start, end = date(2026, 8, 30), LAST  # 90 days
    daily(account, "reach", [start + timedelta(days=i) for i in range(90)], 2000)
    window(account, "month", date(2026, 9, 1), date(2026, 9, 30), 31_000)
    window(account, "month", date(2026, 10, 1), date(2026, 10, 30), 29_500)  # Meta's 30 days
    window(account, "month", date(2026, 11, 1), date(2026, 11, 27), 26_000)  # so far
    window(account, "month", date(2026, 8, 1), date(2026, 8, 31), 30_000)  # begins before
    report = build_report(for_days(account.client, start, end, "none"))
    section = report.sections[0]
    kpis = {k.key: k for k in section.kpis}
    assert "reach" not in kpis
    assert kpis["reach_daily"].label == "Average daily reach"
    assert kpis["reach_daily"].value == 2000  # an average per day, not 180,000
    assert section.reach_months == [
        (date(2026, 9, 1), date(2026, 9, 30), 31_000),
        (date(2026, 10, 1), date(2026, 10, 30), 29_500),
        (date(2026, 11, 1), date(2026, 11, 27), 26_000),
    ]
    from insights.reports.page import report_context

    html_months = report_context(report)["sections"][0].reach_months
    assert html_months == [
        ("Sep 2026", "31,000"),
        ("1–30 Oct 2026", "29,500"),
        ("1–27 Nov 2026", "26,000"),
    ]


# --- Honest while history fills in (point 3) ----------------------------------------------------


def test_mid_backfill_the_report_share_page_and_pdf_say_so_and_claim_nothing(world, account):
    from insights.models import BackfillWindow
    from insights.reports import sharing
    from insights.reports.pdf import render_html
    from insights.reports.sharing import report_for_link

    account.backfilled_at = account.media_listed_at = None
    account.connected_at = SATURDAY_NOON - timedelta(hours=2)
    account.save()
    for i, (state, steps) in enumerate((("done", 40), ("started", 100), ("pending", 97))):
        BackfillWindow.objects.create(
            account=account,
            start=date(2026, 10, 1) - timedelta(days=30 * i),
            end=date(2026, 10, 30) - timedelta(days=30 * i),
            state=state,
            steps=steps,
        )
    daily(account, "views", days_back(LAST, 28), 1000)
    daily(account, "views", days_back(PREVIOUS_END, 2), 900)  # the backfill's first days in
    claim = "History is still being filled in</strong> for @acme.coffee: 40 of 237 steps"

    page = world.client_for("a_viewer").get(f"/a/alpha/clients/{account.client.pk}/report/")
    html = page.content.decode()
    assert claim in html
    report = page.context["report"]
    kpis = {k.key: k for k in report.sections[0].kpis}
    assert kpis["views"].delta is None  # not "+1,455 %" against two days
    assert kpis["posts"].value is None  # not "0 posts": the media were not read yet
    assert "No stories were published" not in html
    assert "Stories are recorded from 28 Nov 2026, when the account was connected" in html
    assert "online-follower" not in html and "Best posting hours" not in html
    gap_labels = {g.label for g in report.sections[0].gaps}
    assert gap_labels <= {"History still being filled in", "Not in from Instagram yet"}

    made = sharing.create_share_link(client=account.client, preset="last_28")
    shared = world.client_for(None).get(urlsplit(made.url).path)
    assert claim in shared.content.decode()
    assert claim in render_html(report_for_link(made.link))


# --- Calendar ranges that mean what they say (point 5) ------------------------------------------


def test_last_month_compares_with_the_previous_calendar_month(account):
    from insights.reports.request import resolve

    asked = resolve(account.client, preset="last_month", compare="previous")
    assert (asked.period.start, asked.period.end) == (date(2026, 10, 1), date(2026, 10, 31))
    assert (asked.comparison.start, asked.comparison.end) == (date(2026, 9, 1), date(2026, 9, 30))
    # Not "2 Oct – 31 Oct" for November, as before: 30 days just before a 30-day month.
    november = resolve(account.client, start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert november.comparison.label == "1 Oct – 31 Oct 2026"
    so_far = resolve(account.client, preset="this_month", compare="previous")
    assert (so_far.period.start, so_far.period.end) == (date(2026, 11, 1), LAST)
    assert (so_far.comparison.start, so_far.comparison.end) == (
        date(2026, 10, 1),
        date(2026, 10, 27),
    )
    march = resolve(account.client, start=date(2026, 3, 1), end=date(2026, 3, 30))
    assert march.comparison.end == date(2026, 2, 28)  # February has no 30th


def test_data_as_of_is_the_same_day_on_the_client_page_and_the_report(world, account):
    account.data_as_of = end_time(date(2026, 11, 26))
    account.save()
    http = world.client_for("a_viewer")
    client_page = http.get(f"/a/alpha/clients/{account.client.pk}/").content.decode()
    report_page = http.get(f"/a/alpha/clients/{account.client.pk}/report/").content.decode()
    assert "Data as of 26 Nov 2026" in client_page
    assert "<dt>Data as of</dt><dd>26 Nov 2026</dd>" in report_page
    assert "Data as of 26 Nov 2026" in report_page  # the account's own line
