"""The sandbox's OAuth dialogs in a real browser (graph-api.md §1A, §1B): a person signs in,
picks Pages, unticks a permission and lands back on the app with a code; and the same for
Instagram, including a denial. Screenshots go to test-artifacts/sandbox-*.png."""

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings

from sandbox.models import AuthCode

from .conftest import shot

pytestmark = pytest.mark.e2e


def params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def facebook_url(live_server, redirect_uri: str) -> str:
    query = urlencode(
        {
            "client_id": settings.SANDBOX_FACEBOOK_APP_ID,
            "redirect_uri": redirect_uri,
            "state": "browser-state",
            "response_type": "code",
            "scope": "instagram_basic,instagram_manage_insights,pages_show_list,pages_read_engagement",
        }
    )
    return f"{live_server.url}/_sandbox/www.facebook.com/v25.0/dialog/oauth?{query}"


def instagram_url(live_server, redirect_uri: str, **extra) -> str:
    query = urlencode(
        {
            "force_reauth": "true",
            "client_id": extra.pop("client_id", settings.SANDBOX_INSTAGRAM_APP_ID),
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "instagram_business_basic,instagram_business_manage_insights",
            "state": "ig-browser",
            **extra,
        }
    )
    return f"{live_server.url}/_sandbox/www.instagram.com/oauth/authorize?{query}"


def test_facebook_dialog_in_a_browser(live_server, transactional_db, page):
    callback = f"{live_server.url}/_sandbox/control/"  # any page of the live server will do
    page.goto(facebook_url(live_server, callback))
    assert page.get_by_text("Sandbox", exact=True).first.is_visible()
    assert page.get_by_role("heading", name="Log in to Facebook").is_visible()
    shot(page, "sandbox-fb-1-login")

    page.get_by_role("button", name="Continue as Ava Bennett").click()
    page.get_by_role("heading", name=re.compile("Choose the Pages")).wait_for()
    assert page.get_by_text("No Instagram account connected").is_visible()
    page.get_by_label(re.compile("Ava's Catering")).uncheck()
    shot(page, "sandbox-fb-2-pages")

    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Prism would like to").wait_for()
    page.locator("input[value=instagram_manage_insights]").uncheck()
    assert page.locator("input[value=public_profile]").is_disabled()
    shot(page, "sandbox-fb-3-permissions")

    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/_sandbox/control/\?code="))
    got = params(page.url)
    assert got["state"] == "browser-state"
    code = AuthCode.objects.get(code=got["code"])
    assert code.granted_page_ids == ["110000000000101"]
    assert code.declined_scopes == ["instagram_manage_insights"]
    assert page.problems == []  # no CSP violations or script errors on the way


def test_instagram_dialog_in_a_browser(live_server, transactional_db, page, browser):
    callback = f"{live_server.url}/_sandbox/control/"
    page.goto(instagram_url(live_server, callback))
    assert page.get_by_role("heading", name="Log in to Instagram").is_visible()
    shot(page, "sandbox-ig-1-login")

    page.get_by_role("button", name="Log in as @marco.travels").click()
    page.get_by_role("heading", name=re.compile("Allow Prism")).wait_for()
    assert page.locator("input[value=instagram_business_basic]").is_disabled()
    shot(page, "sandbox-ig-2-consent")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(r"/_sandbox/control/\?code=.*#_$"))
    assert params(page.url)["state"] == "ig-browser"
    assert (
        AuthCode.objects.get(code=params(page.url)["code"]).ig_account.username == "marco.travels"
    )

    phone = browser.new_context(viewport={"width": 390, "height": 844})
    mobile = phone.new_page()
    mobile_problems: list[str] = []
    mobile.on("console", lambda m: mobile_problems.append(m.text) if m.type == "error" else None)
    mobile.goto(instagram_url(live_server, callback))
    mobile.fill("#sb-username", "sams_pottery")
    mobile.get_by_role("button", name="Log in", exact=True).click()
    mobile.get_by_role("button", name="Allow").wait_for()
    shot(mobile, "sandbox-ig-3-consent-mobile")
    mobile.get_by_role("button", name="Cancel").click()
    mobile.wait_for_url(re.compile(r"error=access_denied"))
    assert params(mobile.url)["error_reason"] == "user_denied"
    phone.close()

    assert page.problems == [] and mobile_problems == []

    # An error page answers 400, which the console reports; nothing else may appear.
    page.goto(instagram_url(live_server, callback, client_id=settings.SANDBOX_FACEBOOK_APP_ID))
    assert page.get_by_text("Invalid platform app").is_visible()
    shot(page, "sandbox-ig-4-error")
    assert len(page.problems) == 1 and "400 (Bad Request)" in page.problems[0]
