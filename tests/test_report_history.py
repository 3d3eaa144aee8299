"""What a report says about history Prism does not have: a freshly connected account's followers
(Prism's follower history starts when it connects; Meta keeps none), Meta's own new-followers
series, and the periods an account was disconnected."""

from __future__ import annotations

import base64
import re
from datetime import datetime, time, timedelta

import pytest
import time_machine

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


def _connect(client, when):
    """Connect (or reconnect) @flaky.florist through the one function the OAuth views use."""
    from insights.connections.oauth import upsert_account

    with time_machine.travel(when, tick=False):
        return upsert_account(
            client=client,
            ig_user_id="17841400000099999",
            login_path="instagram",
            username="flaky.florist",
            token="IGAA-test-token",
            token_expires_at=None,
            meta_user_id="9000000000099999",
            granted_scopes=["instagram_business_basic", "instagram_business_manage_insights"],
        )


@pytest.fixture
def flaky(world):
    """Connected 60 days ago; Meta refused its token 20 days ago (a password change), the
    client reconnected it 12 days ago; a passing Meta error in between is no disconnection.
    Meta's data is stored for every day except the days it was cut off."""
    from insights.models import Health

    client = world.clients["a1"]
    today = client_today(client)
    day = lambda n: today - timedelta(days=n)  # noqa: E731
    at = lambda n: datetime.combine(day(n), time(10), PACIFIC)  # noqa: E731
    account = _connect(client, at(60))
    with time_machine.travel(at(30), tick=False):
        account.set_health(Health.ERROR, "Meta answered 500")
        account.set_health(Health.CONNECTED)
    with time_machine.travel(at(20), tick=False):
        account.set_health(Health.NEEDS_RECONNECT, "Error validating access token (190)")
    _connect(client, at(12))
    missing = {day(n) for n in range(13, 20)}  # 19..13 days ago: no refresh could run
    rows = [
        AccountDaily(
            account=account, metric=m, day=day(n), value=100 + n, end_time=end_time(day(n))
        )
        for n in range(1, 61)
        if day(n) not in missing
        for m in ("views", "total_interactions")
    ]
    AccountDaily.objects.bulk_create(rows)
    account.data_as_of = end_time(day(1))
    account.save(update_fields=["data_as_of"])
    return account, day


def test_disconnections_come_from_the_accounts_history(world, flaky):
    from insights.models import ConnectionChange

    account, day = flaky
    assert [c.health for c in ConnectionChange.objects.filter(account=account)] == [
        "connected",
        "needs_reconnect",
        "connected",
    ]  # the passing error flipped no access, so it is not history
    client = world.clients["a1"]
    section = build_report(client, day(28), day(1), "none").sections[0]
    assert [(g.start, g.end, g.label) for g in section.gaps] == [
        (day(19), day(13), "Disconnected: Meta needed a reconnect")
    ]  # the day it broke and the day it came back have data (before / after the change)
    prism = [(m.day, m.text) for m in section.markers if m.kind == "prism"]
    assert prism == [
        (day(20), "@flaky.florist lost access: Meta needed a reconnect"),
        (day(12), "@flaky.florist reconnected"),
    ]
    # A period that holds the first connection says so, from the same history.
    longer = build_report(client, day(89), day(1), "none").sections[0]
    assert (day(60), "@flaky.florist connected to Prism") in [
        (m.day, m.text) for m in longer.markers
    ]


def test_disconnection_markers_show_on_the_page_and_in_the_pdf(world, flaky):
    import io

    from pypdf import PdfReader

    account, day = flaky
    http = world.client_for("a_viewer")
    url = f"/a/alpha/clients/{world.clients['a1'].pk}/report"
    html = http.get(url + "/?range=last_28").content.decode()
    assert "lost access: Meta needed a reconnect" in html
    assert f"{day(19).day} {day(19):%b} – {day(13).day} {day(13):%b}: Disconnected" in html
    assert html.count('class="chart-gap"') == 2 and 'class="chart-marker"' in html
    response = http.get(url + ".pdf?range=last_28")
    assert response.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "lost access: Meta needed a reconnect" in text and "reconnected" in text


def test_history_before_it_was_recorded_is_seeded_from_the_audit_trail(world):
    from django.apps import apps

    from accounts import audit
    from insights.models import ConnectionChange, Health

    since = datetime(2026, 9, 1, tzinfo=PACIFIC)
    account, other = (
        InstagramAccountFactory(
            agency=world.a, client=world.clients["a1"], username=name, connected_at=since
        )
        for name in ("old.one", "old.one2")  # one name the prefix of the other
    )
    with time_machine.travel("2026-10-01 10:00:00+00:00", tick=False):
        audit.record(world.a, audit.Kind.ACCESS_REMOVED, subject="@old.one")
        audit.record(world.a, audit.Kind.DISCONNECTED, subject="@old.one2 (Client)")
    with time_machine.travel("2026-10-05 10:00:00+00:00", tick=False):
        audit.record(world.a, audit.Kind.RECONNECTED, subject="@old.one (Client)")
    account.health = other.health = Health.DISCONNECTED
    account.save()
    other.save()
    seed = __import__("insights.migrations.0008_connection_changes", fromlist=["seed_history"])
    ConnectionChange.objects.all().delete()
    seed.seed_history(apps, None)
    history = [
        (c.health, c.at.date().isoformat())
        for c in ConnectionChange.objects.filter(account=account).order_by("at")
    ]
    assert history[1:3] == [("needs_reconnect", "2026-10-01"), ("connected", "2026-10-05")]
    assert history[0][0] == "connected" and history[-1][0] == "disconnected"
    assert [c.health for c in ConnectionChange.objects.filter(account=other)] == [
        "connected",
        "disconnected",
    ]


def test_audience_captured_after_the_period_is_shown_with_its_date(world, fresh):
    from insights.models import DemographicBucket, DemographicSnapshot

    account, today = fresh
    client = world.clients["a1"]
    end = today - timedelta(days=1)

    def snapshot(day, buckets):
        row = DemographicSnapshot.objects.create(
            account=account,
            metric="follower_demographics",
            breakdown="country",
            timeframe="this_month",
            captured_on=day,
        )
        DemographicBucket.objects.bulk_create(
            DemographicBucket(snapshot=row, key=k, value=v) for k, v in buckets.items()
        )

    url = f"/a/alpha/clients/{client.pk}/report/?range=last_28"
    html = world.client_for("a_viewer").get(url).content.decode()
    assert "Prism has not captured this account's audience yet" in html

    snapshot(today, {"DE": 40, "FR": 25})  # captured on connecting, after the period
    section = build_report(client, end - timedelta(days=27), end, "none").sections[0]
    assert section.demographics_as_of == today
    assert section.demographics["country"] == [("DE", 40), ("FR", 25)]
    html = world.client_for("a_viewer").get(url).content.decode()
    assert "Prism's first capture, after this period" in html and "Germany" in html

    snapshot(end - timedelta(days=3), {"US": 7})  # one from inside the period wins
    section = build_report(client, end - timedelta(days=27), end, "none").sections[0]
    assert section.demographics_as_of == end - timedelta(days=3)
    assert section.demographics["country"] == [("US", 7)]

    snapshot(end - timedelta(days=1), {})  # Meta answered with nothing: said, not a blank
    section = build_report(client, end - timedelta(days=27), end, "none").sections[0]
    assert section.demographics_as_of == end - timedelta(days=1)
    assert section.demographics == {}
    html = world.client_for("a_viewer").get(url).content.decode()
    assert "Meta gave no audience figures for this account" in html


def test_metas_metric_changes_are_marked_on_the_charts_of_page_and_pdf(world):
    from datetime import date

    from insights.reports.page import report_context
    from insights.reports.pdf import render_html

    from .report_world import fill_account

    account = InstagramAccountFactory(agency=world.a, client=world.clients["a1"], username="old")
    fill_account(account, last_day=date(2025, 5, 10), days=60, media=10)
    report = build_report(world.clients["a1"], date(2025, 4, 1), date(2025, 4, 30), "none")
    meta = [m for m in report.sections[0].markers if m.kind == "meta"]
    assert [(m.day, m.text) for m in meta] == [
        (date(2025, 4, 21), "Meta removes impressions for every API version; views replaces it")
    ]
    charts = report_context(report)["sections"][0].charts
    drawn = [c.title for c in charts if 'class="chart-marker"' in str(c.svg)]
    assert {"Daily reach", "Views", "Interactions", "Followers"} <= set(drawn)
    html = render_html(report)  # the PDF's charts are the same SVG, as images
    images = [
        base64.b64decode(data).decode()
        for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    ]
    assert sum('class="chart-marker"' in svg for svg in images) == len(drawn)
    assert "Meta removes impressions" in html  # and the numbered list under the charts
