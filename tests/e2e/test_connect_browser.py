"""Connecting a client's Instagram account in a real browser, through the sandbox's dialog."""

import re

import pytest
from django.test import Client as DjangoClient

from insights.models import Health, InstagramAccount
from sandbox.accounts import create_account

from .conftest import shot

pytestmark = pytest.mark.e2e


def test_member_connects_with_instagram_and_sees_it_healthy(
    live_server, transactional_db, world, page, settings
):
    settings.SITE_URL = live_server.url
    settings.META_HOSTS = {h: f"{live_server.url}/_sandbox/{h}" for h in settings.META_HOSTS}
    create_account(login="instagram", username="acme_coffee_roasters", followers=8400)
    django = DjangoClient()
    django.force_login(world.users["a_member"])
    page.context.add_cookies(
        [{"name": "sessionid", "value": django.cookies["sessionid"].value, "url": live_server.url}]
    )
    client = world.clients["a1"]
    page.goto(f"{live_server.url}/a/alpha/clients/{client.pk}/")
    shot(page, "10-client-before-connect")
    page.get_by_role("button", name="Connect with Instagram").click()
    page.wait_for_url(re.compile(r"/_sandbox/www\.instagram\.com/"))
    shot(page, "11-instagram-login")
    page.fill("#sb-username", "acme_coffee_roasters")
    page.get_by_role("button", name="Log in", exact=True).click()
    shot(page, "12-instagram-consent")
    page.get_by_role("button", name="Allow").click()
    # Browsers carry Meta's "#_" fragment across the redirect; it is harmless.
    page.wait_for_url(re.compile(rf"/a/alpha/clients/{client.pk}/(#_)?$"))
    assert page.get_by_text("Connected @acme_coffee_roasters").is_visible()
    assert page.locator(".account-row .badge.ok").first.inner_text() == "Connected"
    shot(page, "13-client-connected")
    account = InstagramAccount.objects.get()
    assert account.health == Health.CONNECTED and account.username == "acme_coffee_roasters"
    assert page.problems == []
