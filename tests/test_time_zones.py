"""Times in the zone the page names (issue 16, point 7): the Share & schedule page says "dates in
<the client's zone>" and shows every time in it; the agency's pages use the agency's zone; the
time-zone picker lists common zones first and no obsolete aliases."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import pytest
from django.urls import reverse

from accounts import audit
from insights.models import DeliveryStatus, ReportDelivery, ReportSchedule, ShareLinkView
from insights.reports import delivery, sharing

pytestmark = [pytest.mark.django_db, pytest.mark.at("2026-12-02T18:00:00+00:00")]


def test_the_share_and_schedule_page_shows_times_in_the_clients_zone(world, as_owner):
    client = world.clients["a1"]
    client.time_zone = "America/New_York"
    client.save()
    # Seen: a schedule saved for 02:19 New York listed as "Next: 07:19" (UTC).
    schedule = ReportSchedule(
        agency=world.a,
        client=client,
        recipients=["boss@acme.example"],
        weekday=3,
        send_time=time(2, 19),
        settle_hours=0,
    )
    delivery.save_schedule(schedule)
    made = sharing.create_share_link(client=client, preset="last_28")
    view = ShareLinkView.objects.create(link=made.link, ip_hash="x")
    ShareLinkView.objects.filter(pk=view.pk).update(
        viewed_at=datetime(2026, 12, 2, 15, 5, tzinfo=UTC)
    )
    ReportDelivery.objects.create(
        agency=world.a,
        client=client,
        period_start=date(2026, 11, 23),
        period_end=date(2026, 11, 29),
        recipients=["boss@acme.example"],
        status=DeliveryStatus.SENT,
        sent_at=datetime(2026, 12, 2, 14, 30, tzinfo=UTC),
    )
    html = as_owner.get(reverse("client_delivery", args=["alpha", client.pk])).content.decode()
    assert "dates in America/New_York" in html
    assert "Next: Thu 3 Dec 2026, 02:19" in html
    assert "last 2 Dec, 10:05" in html  # the link's last view, 15:05 UTC
    assert "2 Dec, 09:30" in html  # the delivery's sending, 14:30 UTC
    assert "07:19" not in html and "15:05" not in html and "14:30" not in html


def test_the_activity_page_is_in_the_agencys_zone(world, as_owner):
    world.a.time_zone = "Asia/Tokyo"
    world.a.save()
    event = audit.record(world.a, audit.Kind.INVITED, subject="someone")
    type(event).objects.filter(pk=event.pk).update(
        created_at=datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
    )
    html = as_owner.get(reverse("activity", args=["alpha"])).content.decode()
    assert "times in Asia/Tokyo" in html
    assert "3 Dec 2026, 03:00" in html


def test_the_time_zone_picker_lists_common_zones_first_without_aliases(world, as_owner):
    html = as_owner.get(reverse("client_create", args=["alpha"])).content.decode()
    select = re.search(r'<select name="time_zone".*?</select>', html, re.S).group(0)
    groups = re.findall(r'<optgroup label="([^"]+)">', select)
    assert groups == ["Common", "All time zones"]
    common = select.split('label="All time zones"')[0]
    for zone in ("Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney"):
        assert f'value="{zone}"' in common
    for alias in ("US/Eastern", "Asia/Calcutta", "America/Buenos_Aires", "GB", "Etc/GMT+5"):
        assert f'value="{alias}"' not in select
    assert 'value="Asia/Kolkata"' in select and 'value="America/Argentina/Buenos_Aires"' in select


def test_a_client_saved_with_an_alias_keeps_it_selectable(world, as_owner):
    client = world.clients["a1"]
    client.time_zone = "US/Eastern"
    client.save()
    html = as_owner.get(reverse("client_edit", args=["alpha", client.pk])).content.decode()
    assert re.search(r'<option value="US/Eastern" selected>', html)


def test_sign_up_proposes_the_browsers_zone(client):
    html = client.get(reverse("account_signup")).content.decode()
    assert 'data-browser-zone="propose"' in html and "prism/timezone.js" in html
