"""Client-facing paths that broke, each in a real browser (issue 16, point 8): a password-protected
share link opened in Chrome, the schedule form's recipients, thumbnails on the web report, the
client viewer's PDF, a share link that never expires; and sign-up's time zone (point 7)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.test import Client as DjangoClient
from PIL import Image

from insights.models import Media, ShareLink
from insights.reports import sharing
from insights.reports.periods import client_today
from tests.factories import InstagramAccountFactory
from tests.report_world import fill_account

from .conftest import shot

pytestmark = pytest.mark.e2e


def login(page, live_server, user) -> None:
    django = DjangoClient()
    django.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": django.cookies["sessionid"].value, "url": live_server.url}]
    )


def _jpeg(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 120), colour).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def reported(world, transactional_db, settings, live_server):
    """Acme Coffee with an account, its history and its posts' and stories' thumbnails."""
    settings.SITE_URL = live_server.url
    client = world.clients["a1"]
    account = InstagramAccountFactory(agency=world.a, client=client, username="acme.coffee")
    fill_account(account, last_day=client_today(client) - timedelta(days=1), days=60, media=40)
    for n, media in enumerate(Media.objects.filter(account=account)):
        media.thumbnail.save(f"t{n}.jpg", ContentFile(_jpeg((20 * n % 255, 90, 160))))
    return account


def test_a_password_protected_share_link_opens_in_chrome(world, reported, browser, live_server):
    # The page sent Referrer-Policy: no-referrer, Chrome then posted the password form with
    # Origin: null, and the CSRF check answered "This form has expired" (403).
    made = sharing.create_share_link(
        client=world.clients["a1"], preset="last_28", password="open sesame please"
    )
    visitor = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    visitor.goto(made.url)
    visitor.fill("#id_password", "open sesame please")
    with visitor.expect_response(lambda r: r.request.method == "POST") as posted:
        visitor.get_by_role("button").click()
    assert posted.value.status in (302, 303), posted.value.status
    visitor.wait_for_load_state()
    assert visitor.get_by_role("heading", name="Acme Coffee").is_visible()
    assert "This form has expired" not in visitor.content()
    shot(visitor, "60-password-share-link-unlocked")
    visitor.context.close()


def test_the_schedule_form_starts_with_no_recipients(world, reported, page, live_server):
    login(page, live_server, world.users["a_owner"])
    page.goto(f"{live_server.url}/a/alpha/clients/{world.clients['a1'].pk}/schedules/new/")
    assert page.input_value("#id_recipients") == ""  # was a literal "[]"
    page.fill("#id_recipients", "owner@acme.example")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Scheduled. The next email goes out").is_visible()


def test_thumbnails_show_on_the_web_report_without_scrolling(world, reported, page, live_server):
    login(page, live_server, world.users["a_viewer"])
    page.goto(f"{live_server.url}/a/alpha/clients/{world.clients['a1'].pk}/report/")
    page.wait_for_load_state("networkidle")
    sizes = page.eval_on_selector_all(
        ".post-thumb img, .story-thumb img", "imgs => imgs.map(i => i.naturalWidth)"
    )
    assert len(sizes) >= 10 and all(sizes), sizes  # blank squares before: lazy, never loaded
    shot(page, "61-report-thumbnails")


def test_a_client_viewer_downloads_the_pdf(world, page, live_server, settings, transactional_db):
    settings.SITE_URL = live_server.url
    client = world.clients["a2"]  # a_client reads Apex Bikes
    account = InstagramAccountFactory(agency=world.a, client=client, username="apex.bikes")
    fill_account(account, last_day=client_today(client) - timedelta(days=1), days=40, media=10)
    login(page, live_server, world.users["a_client"])
    page.goto(f"{live_server.url}/a/alpha/portal/{client.pk}/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename.endswith(".pdf")
    with open(download.value.path(), "rb") as f:
        assert f.read(5) == b"%PDF-"


def test_a_share_link_can_live_until_it_is_revoked(world, reported, page, live_server):
    login(page, live_server, world.users["a_owner"])
    page.goto(f"{live_server.url}/a/alpha/clients/{world.clients['a1'].pk}/share/")
    page.get_by_text("+ New share link").click()
    page.fill("#id_label", "Always on")
    page.select_option("#id_lifetime_days", "0")
    page.get_by_role("button", name="Create link").click()
    assert page.get_by_text("Never expires").is_visible()
    link = ShareLink.objects.get(label="Always on")
    assert link.expires_at is None and link.state == "live"
    row = page.locator("table.links tr", has_text="Always on")
    assert "Never" in row.inner_text()


def test_sign_up_proposes_the_browsers_time_zone(browser, live_server, transactional_db):
    context = browser.new_context(timezone_id="Asia/Tokyo")
    visitor = context.new_page()
    visitor.goto(f"{live_server.url}/accounts/signup/")
    assert visitor.input_value("#id_time_zone") == "Asia/Tokyo"
    context.close()
    context = browser.new_context(timezone_id="America/New_York")
    visitor = context.new_page()
    visitor.goto(f"{live_server.url}/accounts/signup/")
    assert re.fullmatch("America/New_York", visitor.input_value("#id_time_zone"))
    context.close()
