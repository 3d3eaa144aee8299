"""The insight layer in a real browser: highlights, posts against their normal, reach by format
and best posting hours on the report page and on a share page, under the strict CSP."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client as DjangoClient

from insights.reports.periods import client_today
from insights.reports.sharing import create_share_link

from ..factories import InstagramAccountFactory
from ..insight_world import DAY, WEEK, add_samples, media
from ..report_world import fill_account
from .conftest import shot

pytestmark = pytest.mark.e2e


def _login(page, live_server, user):
    django = DjangoClient()
    django.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": django.cookies["sessionid"].value, "url": live_server.url}]
    )


def _world(client):
    client.time_zone = "America/New_York"
    client.save()
    account = InstagramAccountFactory(agency=client.agency, client=client, username="acme.coffee")
    last = client_today(client) - timedelta(days=1)
    fill_account(account, last_day=last, days=200, media=160, skip=(last - timedelta(days=9),))
    add_samples(account, datetime.now(UTC))
    zone = ZoneInfo(client.time_zone)
    for w in range(12):  # Tuesday evening posts do best
        day = last - timedelta(days=last.weekday() - 1 + 7 * (w + 1))
        at = datetime.combine(day, time(18, 30), zone).astimezone(UTC)
        media(account, at, {DAY: 1800, WEEK: 3600}, "reel", interactions=900)
    return account, last


def test_the_insight_layer_in_the_browser(live_server, transactional_db, world, page):
    client = world.clients["a1"]
    _world(client)
    _login(page, live_server, world.users["a_owner"])
    page.goto(f"{live_server.url}/a/alpha/clients/{client.pk}/report/?range=last_90")
    assert page.get_by_role("heading", name="Highlights").is_visible()
    assert page.locator(".highlights li").count() >= 3
    assert page.locator(".post-normal").count() >= 1
    assert page.get_by_role("heading", name="Reach by format").is_visible()
    assert page.get_by_text("Best posting hours").first.is_visible()
    assert page.problems == []  # no CSP violation, no script error
    shot(page, "60-insight-report")

    new = create_share_link(client=client, preset="last_90", created_by=world.users["a_owner"])
    page.goto(live_server.url + "/" + new.url.split("://", 1)[1].split("/", 1)[1])
    assert page.get_by_role("heading", name="Highlights").is_visible()
    assert "Prism" not in page.locator("article.report").inner_text()
    assert page.problems == []
    shot(page, "61-insight-share")
