"""Sharing and delivery in a real browser: white label, a share link opened in a private
window and stopped by revoking it, a scheduled report arriving with its PDF, and a client viewer
who signs in to a branded, read-only report."""

import re
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.test import Client as DjangoClient
from PIL import Image, ImageDraw

from insights import tasks
from insights.models import ReportDelivery, ReportSchedule

from .conftest import ARTIFACTS, shot

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-enough-passphrase-42"


def _login(page, live_server, user):
    django = DjangoClient()
    django.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": django.cookies["sessionid"].value, "url": live_server.url}]
    )


def _logo(tmp_path):
    image = Image.new("RGB", (480, 120), "#ffffff")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 20, 90, 100), fill="#0f766e")
    draw.text((110, 45), "ALPHA AGENCY", fill="#0f766e")
    path = tmp_path / "alpha-logo.png"
    image.save(path)
    return str(path)


def test_share_revoke_schedule_and_client_viewer(
    live_server, transactional_db, world, page, browser, settings, tmp_path
):
    settings.SITE_URL = live_server.url
    client = world.clients["a1"]
    _login(page, live_server, world.users["a_owner"])

    # White label.
    page.goto(f"{live_server.url}/a/alpha/settings/branding/")
    page.set_input_files("#id_logo", _logo(tmp_path))
    page.fill("#id_primary_colour", "#0f766e")
    page.fill("#id_accent_colour", "#f59e0b")
    page.fill("#id_sender_name", "Alpha Reports")
    page.fill("#id_footer_text", "Alpha Agency · 1 Rue de la Paix, Paris")
    page.get_by_role("button", name="Save branding").click()
    assert page.get_by_text("Branding saved").is_visible()
    shot(page, "30-branding")

    # A share link, opened in a private window.
    page.goto(f"{live_server.url}/a/alpha/clients/{client.pk}/share/")
    page.get_by_text("+ New share link").click()
    page.fill("#id_label", "For Acme's board")
    page.get_by_role("button", name="Create link").click()
    url = page.locator("input.copy-field").input_value()
    assert "/r/" in url
    shot(page, "31-share-link-created")
    private = browser.new_context(viewport={"width": 1280, "height": 860})
    visitor = private.new_page()
    visitor.goto(url)
    assert visitor.get_by_role("heading", name="Acme Coffee").is_visible()
    assert visitor.locator('meta[name="robots"]').get_attribute("content").startswith("noindex")
    shot(visitor, "32-shared-report-private-window")

    page.goto(f"{live_server.url}/a/alpha/clients/{client.pk}/share/")
    assert page.locator("table.links").get_by_text("For Acme's board").is_visible()
    page.get_by_role("button", name="Revoke").click()
    assert page.get_by_text("The link is revoked").is_visible()
    response = visitor.goto(url)
    assert response.status == 404
    assert visitor.get_by_text("This link does not open a report").is_visible()
    shot(visitor, "33-shared-link-revoked")
    private.close()

    # A scheduled report, sent by the dispatcher when due.
    page.goto(f"{live_server.url}/a/alpha/clients/{client.pk}/schedules/new/")
    page.select_option("#id_frequency", "weekly")
    page.select_option("#id_weekday", "2")
    page.fill("#id_send_time", "09:00")
    page.fill("#id_recipients", "boss@acme.example, team@acme.example")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Scheduled. The next email goes out").is_visible()
    ReportSchedule.objects.update(next_send_at=datetime(2020, 1, 1, tzinfo=UTC))
    mail.outbox.clear()
    # The dispatcher's claim, then the task body as the worker would run it.
    claimed = []
    real_delay = tasks.send_report.delay
    tasks.send_report.delay = lambda *args: claimed.append(args)
    try:
        assert tasks.dispatch_due_work()["reports_due"] == 1
    finally:
        tasks.send_report.delay = real_delay
    [(schedule_id, lease)] = claimed
    assert tasks.send_report(schedule_id, lease) == "sent"
    assert sorted(m.to[0] for m in mail.outbox) == ["boss@acme.example", "team@acme.example"]
    message = mail.outbox[0]
    [(filename, pdf, mimetype)] = message.attachments
    assert mimetype == "application/pdf" and pdf.startswith(b"%PDF")
    (ARTIFACTS / "34-emailed-report.pdf").write_bytes(pdf)
    (ARTIFACTS / "34-emailed-report.html").write_text(message.alternatives[0][0])
    page.goto(f"{live_server.url}/a/alpha/clients/{client.pk}/share/")
    assert page.locator("#deliveries .badge.ok").first.inner_text() == "Sent"
    shot(page, "35-delivery-log")
    stored = page.request.get(
        f"{live_server.url}/a/alpha/deliveries/{ReportDelivery.objects.get().pk}/pdf/"
    )
    assert stored.body() == pdf
    # The email's own link works too.
    emailed = re.search(r"https?://\S+/r/[\w-]+/", message.body).group(0)
    reader = browser.new_context().new_page()
    reader.goto(emailed)
    assert reader.get_by_role("heading", name="Acme Coffee").is_visible()
    reader.context.close()

    # A client viewer: invited from the client page, signs up, sees only that report.
    page.fill("#id_email", "cmo@acme.example")
    page.get_by_role("button", name="Invite").click()
    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    cmo = phone.new_page()
    cmo.goto(link)
    cmo.fill("#id_name", "Casey")
    cmo.fill("#id_password1", PASSWORD)
    cmo.fill("#id_password2", PASSWORD)
    cmo.get_by_role("button", name="Create account and join").click()
    cmo.wait_for_url(re.compile(rf"/a/alpha/portal/{client.pk}/$"))
    assert cmo.get_by_role("heading", name="Acme Coffee").is_visible()
    assert cmo.get_by_role("link", name="Clients").count() == 0
    assert cmo.get_by_role("link", name="Team").count() == 0
    shot(cmo, "36-client-viewer-mobile")
    phone.close()
    assert page.problems == []
