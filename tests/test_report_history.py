"""What a report says about history Prism does not have: a freshly connected account's followers
(Prism's follower history starts when it connects; Meta keeps none), Meta's own new-followers
series, and the periods an account was disconnected."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest

from insights.models import AccountDaily, ProfileSnapshot
from insights.reports.build import PACIFIC, build_report, client_today

from .factories import InstagramAccountFactory
from .report_world import end_time

pytestmark = pytest.mark.django_db


def _long(day) -> str:
    return f"{day.day} {day.strftime('%b')} {day.year}"


@pytest.fixture
def fresh(world):
    """Connected today: Meta's backfill gave 28 days of daily metrics and new follows, but
    Prism's follower history (one ProfileSnapshot a day from its own reads) is today's only."""
    client = world.clients["a1"]
    today = client_today(client)
    connected = datetime.combine(today, time(12), PACIFIC)
    account = InstagramAccountFactory(
        agency=world.a, client=client, username="fresh.bakery", connected_at=connected
    )
    ProfileSnapshot.objects.create(account=account, day=today, followers_count=12345)
    rows = []
    for n in range(1, 29):
        day = today - timedelta(days=n)
        for metric, value in (
            ("views", 900 + n),
            ("total_interactions", 40 + n),
            ("follower_count", n % 5),
        ):
            rows.append(
                AccountDaily(
                    account=account, metric=metric, day=day, value=value, end_time=end_time(day)
                )
            )
    AccountDaily.objects.bulk_create(rows)
    return account, today


def test_a_fresh_account_shows_its_first_follower_count_with_its_date(world, fresh):
    account, today = fresh
    client = world.clients["a1"]
    end = today - timedelta(days=1)
    report = build_report(client, end - timedelta(days=27), end, "previous")
    section = report.sections[0]
    kpis = {k.key: k for k in section.kpis}

    followers = kpis["followers"]
    assert followers.value == 12345 and followers.outside
    assert followers.previous is None  # the comparison is not given the same later count
    assert _long(today) in followers.note
    assert f"Prism's follower history starts on {_long(today)}, when it was connected" in (
        followers.note
    )
    # No invented history: the daily follower series stays empty, and growth is unknown.
    assert all(v is None for v in section.followers.values)
    assert kpis["net_growth"].value is None
    assert "Meta keeps no follower history" in kpis["net_growth"].note

    # The engagement rate divides by that labelled count, and says which day's it is.
    interactions = sum(40 + n for n in range(1, 29))
    assert kpis["engagement_rate"].value == pytest.approx(interactions / 12345 * 100)
    assert f"followers on {_long(today)}" in section.formula_note

    # Meta's real new-follows series is shown, summed as what it is.
    assert kpis["new_followers"].value == sum(n % 5 for n in range(1, 29))
    assert section.daily["follower_count"].values[-1] == 1


def test_the_page_says_why_the_followers_chart_is_empty(world, fresh):
    account, today = fresh
    html = (
        world.client_for("a_viewer")
        .get(f"/a/alpha/clients/{world.clients['a1'].pk}/report/?range=last_28")
        .content.decode()
    )
    tile = re.search(r'<div class="kpi kpi-followers kpi-outside">(.*?)</div>', html, re.S)
    assert tile and "12,345" in tile.group(1) and _long(today) in tile.group(1)
    svg_text = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", html))
    assert "Meta keeps no follower history" in svg_text
    assert f"starts on {_long(today)}" in svg_text
    assert "New followers per day" in html
    assert f"here, interactions ÷ followers on {_long(today)}" in html


def test_a_period_with_follower_counts_uses_its_own(world, fresh):
    account, today = fresh
    client = world.clients["a1"]
    report = build_report(client, today - timedelta(days=6), today, "none")
    followers = {k.key: k for k in report.sections[0].kpis}["followers"]
    assert followers.value == 12345 and not followers.outside
    assert followers.note == f"on {_long(today)}"


def test_an_account_with_no_follower_count_says_so(world):
    InstagramAccountFactory(agency=world.a, client=world.clients["a1"], username="empty.two")
    client = world.clients["a1"]
    end = client_today(client) - timedelta(days=1)
    section = build_report(client, end - timedelta(days=6), end, "none").sections[0]
    followers = section.kpis[0]
    assert followers.value is None and not followers.outside
    assert section.followers_empty.startswith("Prism has captured no follower count")
