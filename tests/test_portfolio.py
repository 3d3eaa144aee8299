"""The agency portfolio page: health, last capture, headline numbers, sparkline, and a query
count that does not grow with the number of clients."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from insights.models import AccountDaily, Health, Media, ProfileSnapshot, ReportDelivery
from insights.reports.periods import PACIFIC
from insights.reports.portfolio import build_portfolio

from .factories import ClientFactory, InstagramAccountFactory

pytestmark = pytest.mark.django_db
URL = reverse("portfolio", args=["alpha"])


def today():
    return timezone.now().astimezone(PACIFIC).date()


def history(account, start_followers: int, daily_gain: int, views: int = 100):
    """A follower count every day from 29 days back to today, and views, interactions and
    reach on the 28 days up to yesterday (the report's "last 28 days"), one post two days ago."""
    t = today()
    for back in range(29, -1, -1):
        day = t - timedelta(days=back)
        ProfileSnapshot.objects.create(
            account=account, day=day, followers_count=start_followers + daily_gain * (29 - back)
        )
        if 1 <= back <= 28:
            for metric, value in (("views", views), ("total_interactions", 7), ("reach", 999)):
                AccountDaily.objects.create(
                    account=account, metric=metric, day=day, value=value, end_time=timezone.now()
                )
    Media.objects.create(
        account=account, media_id=f"p{account.pk}", timestamp=timezone.now() - timedelta(days=2)
    )
    account.last_refresh_at = account.media_listed_at = timezone.now() - timedelta(minutes=5)
    account.save()


def test_rows_add_up_each_clients_accounts_and_show_no_data_as_a_dash(world, as_owner):
    acme = world.clients["a1"]
    one = InstagramAccountFactory(agency=world.a, client=acme)
    two = InstagramAccountFactory(agency=world.a, client=acme, health=Health.NEEDS_RECONNECT)
    history(one, 1000, 10)
    history(two, 500, -1, views=50)
    rows = {r.client.name: r for r in build_portfolio(world.a.clients.active())}
    row = rows["Acme Coffee"]
    # The report's last 28 days: followers on its last day (yesterday), growth from the day
    # before it starts.
    assert row.followers == 1000 + 280 + 500 - 28
    assert row.growth == 280 - 28
    assert row.views == 28 * 100 + 28 * 50  # views are additive per day
    assert row.interactions == 28 * 7 * 2
    assert row.posts == 2
    assert row.health == Health.NEEDS_RECONNECT  # the worst account's health shows
    assert 'role="img"' in row.sparkline
    empty = rows["Apex Bikes"]
    assert (empty.followers, empty.views, empty.posts, empty.sparkline) == (None,) * 4
    page = as_owner.get(URL).content.decode()
    assert "1,752" in page and "+252" in page and "4,200" in page
    assert "Needs reconnect" in page and "No account" in page
    assert "999" not in page  # daily reach is never summed into "reach"


def test_a_day_missing_for_one_account_is_a_gap_not_a_smaller_total(world):
    acme = world.clients["a1"]
    one = InstagramAccountFactory(agency=world.a, client=acme)
    two = InstagramAccountFactory(agency=world.a, client=acme)
    history(one, 1000, 10)
    history(two, 500, 0)
    ProfileSnapshot.objects.filter(account=two, day=today() - timedelta(days=29)).delete()
    row = next(r for r in build_portfolio(world.a.clients.active()) if r.client == acme)
    assert row.growth is None  # no full reading the day before the window
    assert row.followers == 1280 + 500


def test_failed_reports_are_called_out(world, as_owner):
    ReportDelivery.objects.create(
        agency=world.a,
        client=world.clients["a2"],
        period_start=today() - timedelta(days=14),
        period_end=today() - timedelta(days=8),
        status="failed",
    )
    page = as_owner.get(URL).content.decode()
    assert "Reports that did not go out" in page and "Apex Bikes" in page


def test_query_count_does_not_grow_with_clients(world, as_owner, django_assert_num_queries):
    def add_clients(n):
        for _ in range(n):
            client = ClientFactory(agency=world.a)
            history(InstagramAccountFactory(agency=world.a, client=client), 100, 1)
            ReportDelivery.objects.create(
                agency=world.a,
                client=client,
                period_start=today(),
                period_end=today(),
                status="sent",
            )

    add_clients(1)
    as_owner.get(URL)  # warm the session
    with django_assert_num_queries(11) as small:
        assert as_owner.get(URL).status_code == 200
    small_count = len(small.captured_queries)
    add_clients(24)
    as_owner.get(URL)  # the session's last-seen stamp is written at most every 30 s: not here
    with django_assert_num_queries(small_count):
        response = as_owner.get(URL)
    assert response.content.decode().count('class="chart chart-spark"') >= 25


def test_limited_members_and_the_other_agency_see_only_their_clients(world):
    InstagramAccountFactory(agency=world.b, client=world.clients["b1"], username="zz_tenant_b")
    page = world.client_for("a_limited").get(URL).content.decode()
    assert "Apex Bikes" in page and "Acme Coffee" not in page
    assert "ZZ-TENANT-B" not in page and "zz_tenant_b" not in page
    assert world.client_for("b_owner").get(URL).status_code == 404
    assert world.client_for("a_client").get(URL).status_code == 403


def test_a_clients_row_is_its_reports_last_28_days(world):
    # Seen: 23,395,470 views in the portfolio against 22,624,775 on the report (the portfolio
    # counted Pacific days up to Meta's yesterday, the report the client's own window).
    from insights.reports.build import build_report
    from insights.reports.request import resolve

    acme = world.clients["a1"]
    acme.time_zone = "Asia/Tokyo"  # already tomorrow: its yesterday is Meta's today
    acme.save()
    account = InstagramAccountFactory(agency=world.a, client=acme)
    history(account, 1000, 10)
    report = build_report(resolve(acme, preset="last_28"))
    kpis = {k.key: k for k in report.sections[0].kpis}
    row = next(r for r in build_portfolio(world.a.clients.active()) if r.client == acme)
    assert row.period == report.period
    assert (row.views, row.interactions) == (kpis["views"].value, kpis["interactions"].value)
    assert (row.followers, row.growth) == (kpis["followers"].value, kpis["net_growth"].value)
    assert row.posts == kpis["posts"].value == 1
