"""A newcomer's first minutes, in a real browser: sign up, confirm the email, invite a teammate
who joins from the emailed link, add clients."""

import re

import pytest
from django.core import mail

from .conftest import shot

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-enough-passphrase-42"


def _link(pattern: str, live_server) -> str:
    body = mail.outbox[-1].body
    url = re.search(pattern, body).group(0)
    return live_server.url + url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_signup_invite_and_add_clients(live_server, transactional_db, page, browser, settings):
    settings.SITE_URL = live_server.url
    page.goto(live_server.url + "/")
    shot(page, "01-landing")
    page.get_by_role("link", name="Create your agency").click()
    page.fill("#id_name", "Grace Hopper")
    page.fill("#id_email", "grace@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.fill("#id_agency_name", "Compiler Creative")
    page.select_option("#id_time_zone", "Europe/Berlin")
    shot(page, "02-signup")
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_load_state()
    assert "verify" in page.content().lower() or "confirm" in page.content().lower()

    page.goto(_link(r"https?://\S+/accounts/confirm-email/\S+/", live_server))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/a/compiler-creative/$"))
    assert page.get_by_role("heading", name="Compiler Creative").is_visible()
    shot(page, "03-empty-dashboard")

    page.get_by_role("link", name="Add your first client").click()
    page.fill("#id_name", "Acme Coffee")
    page.fill("#id_notes", "Monthly report on the 3rd.")
    page.get_by_role("button", name="Add client").click()
    page.wait_for_url(re.compile(r"/clients/\d+/$"))
    assert page.get_by_role("heading", name="Acme Coffee").is_visible()
    shot(page, "04-client")
    page.goto(live_server.url + "/a/compiler-creative/clients/new/")
    page.get_by_role("button", name="Add client").click()  # empty form: explained, nothing saved
    assert page.locator(".error").first.is_visible()
    page.fill("#id_name", "Brightside Bakery")
    page.get_by_role("button", name="Add client").click()
    page.goto(live_server.url + "/a/compiler-creative/clients/")
    shot(page, "05-client-list")
    assert page.get_by_text("Brightside Bakery").is_visible()

    page.get_by_role("link", name="Team").click()
    page.fill("#id_email", "linus@example.com")
    page.select_option("#id_role", "viewer")
    page.get_by_role("button", name="Send invitation").click()
    assert page.get_by_text("Invitation sent to linus@example.com").is_visible()
    shot(page, "06-team")

    teammate = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    other = teammate.new_page()
    other.goto(_link(r"https?://\S+/invitations/\S+/", live_server))
    other.fill("#id_name", "Linus")
    other.fill("#id_password1", PASSWORD)
    other.fill("#id_password2", PASSWORD)
    shot(other, "07-invitation-mobile")
    other.get_by_role("button", name="Create account and join").click()
    other.wait_for_url(re.compile(r"/a/compiler-creative/$"))
    assert other.get_by_text("Welcome to Compiler Creative").is_visible()
    assert other.get_by_text("Acme Coffee").is_visible()
    assert other.get_by_role("link", name="Add client").count() == 0  # a viewer
    shot(other, "08-viewer-dashboard-mobile")
    teammate.close()
    assert page.problems == []
