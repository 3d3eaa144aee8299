"""Connecting client accounts through both login paths, over real HTTP: Prism's views, the
sandbox's dialogs and Meta-shaped token endpoints, all in the live server."""

from __future__ import annotations

import base64
import logging
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import mail
from django.test import Client as DjangoClient
from django.utils import timezone

from accounts.models import AuditEvent
from insights.connections import health, removal
from insights.models import Health, InstagramAccount, OAuthState, PendingConnection
from sandbox import core as sandbox_core
from sandbox.accounts import create_account
from sandbox.models import Fault, Token
from sandbox.models import Page as SandboxPage

from .oauth_driver import click_through
from .sandbox.dialog import forms as parse_forms

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site(live_server, settings):
    settings.SITE_URL = live_server.url
    settings.META_HOSTS = {h: f"{live_server.url}/_sandbox/{h}" for h in settings.META_HOSTS}
    return live_server


class Browser:
    """A requests session logged in to Prism as one of the world's people."""

    def __init__(self, site, user=None):
        self.base = site.url
        self.http = requests.Session()
        if user is not None:
            django = DjangoClient()
            django.force_login(user)
            self.http.cookies.set("sessionid", django.cookies["sessionid"].value)
        self.http.get(self.base + "/accounts/login/", timeout=30)  # the CSRF cookie

    def post(self, path: str, data=None, **kwargs):
        headers = {
            "X-CSRFToken": self.http.cookies.get("csrftoken", ""),
            "Referer": self.base + path,
        }
        return self.http.post(
            self.base + path,
            data=data or {},
            headers=headers,
            allow_redirects=False,
            timeout=30,
            **kwargs,
        )

    def get(self, url: str, **kwargs):
        url = url if url.startswith("http") else self.base + url
        return self.http.get(url, allow_redirects=False, timeout=30, **kwargs)

    def connect_instagram(self, client, username: str) -> requests.Response:
        """The whole round trip: Connect, the Instagram dialog, Prism's callback."""
        return self.get(
            click_through(self.http, self.start(client, "instagram"), username=username)
        )

    def start(self, client, path: str) -> str:
        response = self.post(f"/a/{client.agency.slug}/clients/{client.pk}/connect/{path}/")
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]


def ig_account(**kwargs) -> dict:
    return create_account(login="instagram", followers=4200, media_count=40, **kwargs)


def fb_account(**kwargs) -> dict:
    return create_account(login="facebook", followers=4200, media_count=40, **kwargs)


def test_instagram_login_connects_a_healthy_account(site, world):
    sandbox = ig_account(username="acme_coffee")
    browser = Browser(site, world.users["a_member"])
    client = world.clients["a1"]
    dialog = browser.start(client, "instagram")
    assert dialog.startswith(site.url + "/_sandbox/www.instagram.com/oauth/authorize?")
    query = parse_qs(urlsplit(dialog).query)
    assert query["scope"] == ["instagram_business_basic,instagram_business_manage_insights"]
    assert query["redirect_uri"] == [site.url + "/oauth/instagram/callback/"]
    callback = click_through(browser.http, dialog, username="acme_coffee")
    assert "code=" in callback and "state=" in callback
    response = browser.get(callback)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/a/alpha/clients/{client.pk}/"
    account = InstagramAccount.objects.get()
    assert (account.ig_user_id, account.username, account.client, account.login_path) == (
        sandbox["ig_user_id"],
        "acme_coffee",
        client,
        "instagram",
    )
    assert account.health == Health.CONNECTED
    assert account.token_expires_at > timezone.now() + timedelta(days=55)
    page = browser.get(f"/a/alpha/clients/{client.pk}/").text
    assert "@acme_coffee" in page and "Connected" in page
    # The profile picture is cached (Meta's URLs expire) and served only through Prism.
    assert account.profile_picture.name.endswith(".jpg")
    picture = browser.get(f"/a/alpha/accounts/{account.pk}/picture/")
    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/jpeg"
    # The stored token works against the account's host.
    assert health.check_account(account) == Health.CONNECTED


def test_facebook_login_lists_pages_and_connects_the_picked_accounts(site, world):
    first = fb_account(username="brand_one")
    person = Token.objects.get(token=first["access_token"]).person
    second = create_account(login="facebook", username="brand_two", person=person)
    browser = Browser(site, world.users["a_member"])
    client = world.clients["a1"]
    callback = click_through(browser.http, browser.start(client, "facebook"), login=person.login)
    response = browser.get(callback)
    assert response.status_code == 302
    pick_url = response.headers["Location"]
    assert re.match(r"^/a/alpha/connect/\d+/$", pick_url)
    page = browser.get(pick_url).text
    assert "@brand_one" in page and "@brand_two" in page
    chosen = browser.post(pick_url, {"ig_user_id": [second["ig_user_id"]]})
    assert chosen.headers["Location"] == f"/a/alpha/clients/{client.pk}/"
    account = InstagramAccount.objects.get()
    assert account.ig_user_id == second["ig_user_id"] and account.page_id == second["page_id"]
    assert account.login_path == "facebook" and account.health == Health.CONNECTED
    assert account.token_expires_at is None  # a Page token
    assert account.data_access_expires_at is not None
    assert not PendingConnection.objects.exists()  # the user token is not kept
    assert health.check_account(account) == Health.CONNECTED
    # The picked account's Page is subscribed to story_insights (graph-api.md §8.3); the other
    # Page is not.
    assert SandboxPage.objects.get(page_id=second["page_id"]).subscribed_fields == [
        "story_insights"
    ]
    assert SandboxPage.objects.get(page_id=first["page_id"]).subscribed_fields == []


def test_without_pages_manage_metadata_the_page_is_not_subscribed(site, world):
    """The permission is optional: untick it and the account connects, polled only."""
    account = fb_account(username="brand_one")
    person = Token.objects.get(token=account["access_token"]).person
    browser = Browser(site, world.users["a_member"])
    url = browser.start(world.clients["a1"], "facebook")
    callback = click_through(
        browser.http, url, login=person.login, untick=("pages_manage_metadata",)
    )
    pick_url = browser.get(callback).headers["Location"]
    browser.post(pick_url, {"ig_user_id": [account["ig_user_id"]]})
    connected = InstagramAccount.objects.get()
    assert connected.health == Health.CONNECTED
    assert "pages_manage_metadata" not in connected.granted_scopes
    assert SandboxPage.objects.get(page_id=account["page_id"]).subscribed_fields == []


def _callback_error(browser, callback) -> requests.Response:
    response = browser.get(callback)
    assert not InstagramAccount.objects.exists()
    return response


def test_denial_shows_a_clear_page_and_stores_nothing(site, world):
    ig_account(username="denier")
    browser = Browser(site, world.users["a_member"])
    callback = click_through(
        browser.http,
        browser.start(world.clients["a1"], "instagram"),
        username="denier",
        cancel=True,
    )
    assert "error=access_denied" in callback
    response = _callback_error(browser, callback)
    assert response.status_code == 400 and "You cancelled the connection" in response.text


def test_unticked_insights_permission_offers_to_ask_again(site, world):
    sandbox = fb_account(username="partial")
    person = Token.objects.get(token=sandbox["access_token"]).person
    browser = Browser(site, world.users["a_member"])
    callback = click_through(
        browser.http,
        browser.start(world.clients["a1"], "facebook"),
        login=person.login,
        untick=("instagram_manage_insights",),
    )
    response = _callback_error(browser, callback)
    assert response.status_code == 400
    assert "Insights permission was not granted" in response.text
    form = [f for f in parse_forms(response.text) if "connect/facebook" in f.action][0]
    assert ("rerequest", "1") in form.fields
    again = browser.post(form.action, dict(form.fields))
    assert "auth_type=rerequest" in again.headers["Location"]


def test_instagram_login_with_a_personal_account(site, world):
    ig_account(username="just_me", account_type="PERSONAL")
    browser = Browser(site, world.users["a_member"])
    callback = click_through(
        browser.http, browser.start(world.clients["a1"], "instagram"), username="just_me"
    )
    response = _callback_error(browser, callback)
    assert "personal Instagram account" in response.text


def test_facebook_page_without_instagram(site, world):
    sandbox = fb_account(username="lonely")
    person = Token.objects.get(token=sandbox["access_token"]).person
    from sandbox.models import Page

    Page.objects.filter(person=person).update(ig_account=None)
    browser = Browser(site, world.users["a_member"])
    callback = click_through(
        browser.http, browser.start(world.clients["a1"], "facebook"), login=person.login
    )
    response = _callback_error(browser, callback)
    assert "No Instagram professional account found" in response.text


@pytest.mark.parametrize("tamper", ["missing", "unknown", "replayed", "expired", "foreign"])
def test_bad_states_are_refused_before_anything_happens(site, world, tamper):
    ig_account(username="stateful")
    browser = Browser(site, world.users["a_member"])
    callback = click_through(
        browser.http, browser.start(world.clients["a1"], "instagram"), username="stateful"
    )
    stats_before = _exchange_calls()
    if tamper == "missing":
        callback = re.sub(r"[?&]state=[^&#]+", "", callback)
    elif tamper == "unknown":
        callback = re.sub(r"state=[^&#]+", "state=forged", callback)
    elif tamper == "expired":
        OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif tamper == "replayed":
        assert browser.get(callback).status_code == 302
        InstagramAccount.objects.all().delete()
    elif tamper == "foreign":
        browser = Browser(site, world.users["a_owner"])  # another session, same agency
    response = _callback_error(browser, callback)
    assert response.status_code == 400
    expected = {
        "missing": "incomplete",
        "unknown": "unknown",
        "replayed": "already used",
        "expired": "expired",
        "foreign": "another browser",
    }[tamper]
    assert expected in response.text
    if tamper != "replayed":
        assert _exchange_calls() == stats_before  # the code was never even exchanged


def _exchange_calls() -> int:
    from sandbox.models import CallLog

    return CallLog.objects.filter(host="api.instagram.com").count()


def test_a_reused_code_is_refused(site, world):
    ig_account(username="reuse")
    browser = Browser(site, world.users["a_member"])
    callback = click_through(
        browser.http, browser.start(world.clients["a1"], "instagram"), username="reuse"
    )
    code = parse_qs(urlsplit(callback).query)["code"][0]
    from insights.meta import oauth

    oauth.instagram_grant(code)  # someone used the code first
    response = _callback_error(browser, callback)
    assert "Meta did not accept the sign-in" in response.text


def test_meta_error_during_exchange(site, world):
    ig_account(username="flaky")
    Fault.objects.create(
        kind="5xx", host="api.instagram.com", remaining=None, params={"status": 500}
    )
    browser = Browser(site, world.users["a_member"])
    callback = click_through(
        browser.http, browser.start(world.clients["a1"], "instagram"), username="flaky"
    )
    response = _callback_error(browser, callback)
    assert "Meta returned an error" in response.text and "Traceback" not in response.text


def test_reconnecting_updates_in_place_and_keeps_history(site, world):
    ig_account(username="loyal")
    browser = Browser(site, world.users["a_member"])
    client = world.clients["a1"]
    browser.get(click_through(browser.http, browser.start(client, "instagram"), username="loyal"))
    account = InstagramAccount.objects.get()
    old_cipher, old_pk = account.token_ciphertext, account.pk
    account.set_health(Health.NEEDS_RECONNECT, "revoked")
    browser.get(click_through(browser.http, browser.start(client, "instagram"), username="loyal"))
    account = InstagramAccount.objects.get()
    assert account.pk == old_pk and account.token_ciphertext != old_cipher
    assert account.health == Health.CONNECTED
    # The audit trail names who connected and who reconnected (issue #8), for this agency only.
    events = AuditEvent.objects.filter(agency=world.a).order_by("pk")
    assert [(e.kind, e.actor, e.subject) for e in events] == [
        ("connected", world.users["a_member"], "@loyal (Acme Coffee)"),
        ("reconnected", world.users["a_member"], "@loyal (Acme Coffee)"),
    ]
    assert not AuditEvent.objects.filter(agency=world.b).exists()


def test_account_connects_once_per_agency(site, world):
    ig_account(username="popular")
    browser = Browser(site, world.users["a_member"])
    browser.connect_instagram(world.clients["a1"], "popular")
    response = browser.get(
        click_through(
            browser.http, browser.start(world.clients["a2"], "instagram"), username="popular"
        )
    )
    assert response.status_code == 400 and "belongs to another client" in response.text
    assert InstagramAccount.objects.count() == 1
    # Another agency can connect the same Instagram account for itself.
    other = Browser(site, world.users["b_member"])
    other.get(
        click_through(other.http, other.start(world.clients["b1"], "instagram"), username="popular")
    )
    assert InstagramAccount.objects.count() == 2


def test_revocation_flips_to_needs_reconnect_emails_and_the_link_restores_it(site, world):
    """The issue's "done when": revoke in the sandbox, see it flagged and emailed, then the
    client reconnects through the signed link without a Prism login, nothing lost."""
    sandbox = ig_account(username="revoked_brand")
    browser = Browser(site, world.users["a_member"])
    client = world.clients["a1"]
    browser.get(
        click_through(browser.http, browser.start(client, "instagram"), username="revoked_brand")
    )
    account = InstagramAccount.objects.get()
    Token.objects.filter(ig_account__ig_user_id=sandbox["ig_user_id"]).update(revoked_subcode=460)
    mail.outbox.clear()
    assert health.check_account(account) == Health.NEEDS_RECONNECT
    assert [m.to for m in mail.outbox] and "needs attention" in mail.outbox[0].subject
    assert sorted(mail.outbox[0].to) == ["a_admin@example.com", "a_owner@example.com"]
    dashboard = browser.get("/a/alpha/").text
    assert "Needs attention" in dashboard and "@revoked_brand" in dashboard

    link = browser.post(f"/a/alpha/accounts/{account.pk}/reconnect-link/")
    url = re.search(r'value="(http[^"]+/reconnect/[^"]+)"', link.text).group(1)
    stranger = Browser(site)  # the client: no Prism login
    landing = stranger.get(url)
    assert landing.status_code == 200 and "@revoked_brand" in landing.text
    dialog = stranger.post(urlsplit(url).path).headers["Location"]
    callback = stranger.get(click_through(stranger.http, dialog, username="revoked_brand"))
    # The used code leaves the address bar: the callback redirects to a clean page.
    assert callback.status_code == 302 and callback.headers["Location"] == "/reconnect/done/"
    done = stranger.get(callback.headers["Location"])
    assert done.status_code == 200 and "connected again" in done.text
    account.refresh_from_db()
    assert account.health == Health.CONNECTED and InstagramAccount.objects.count() == 1
    assert health.check_account(account) == Health.CONNECTED
    # Single use: the same link does not work a second time.
    assert stranger.get(url).status_code == 404
    assert Browser(site).post(urlsplit(url).path).status_code == 404


def _link_for(account) -> str:
    return removal.issue_reconnect_link(account)[1]


def test_a_reconnect_link_is_opaque_and_listed_with_its_expiry(site, world):
    ig_account(username="opaque_brand")
    browser = Browser(site, world.users["a_member"])
    browser.connect_instagram(world.clients["a1"], "opaque_brand")
    account = InstagramAccount.objects.get()
    page = browser.post(f"/a/alpha/accounts/{account.pk}/reconnect-link/")
    url = re.search(r'value="(http[^"]+/reconnect/[^"]+)"', page.text).group(1)
    value = urlsplit(url).path.split("/")[2]
    # 256 random bits, nothing else: no ids, no signed payload to decode.
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    assert len(raw) == 32 and ":" not in value  # no signed payload (ids) beside the bits
    link = account.reconnect_links.get()
    assert link.token_hash != value and value not in link.token_hash
    listing = browser.get(f"/a/alpha/accounts/{account.pk}/reconnect-link/").text
    assert "expires " + f"{timezone.localtime(link.expires_at):%-d %b %Y}" in listing
    assert url not in listing  # shown once, when made


def test_a_revoked_link_no_longer_works(site, world):
    ig_account(username="revocable")
    browser = Browser(site, world.users["a_member"])
    browser.connect_instagram(world.clients["a1"], "revocable")
    account = InstagramAccount.objects.get()
    url = _link_for(account)
    assert Browser(site).get(url).status_code == 200
    link = account.reconnect_links.get()
    revoke = browser.post(f"/a/alpha/accounts/{account.pk}/reconnect-links/{link.pk}/revoke/")
    assert revoke.status_code == 302
    assert Browser(site).get(url).status_code == 404


def test_disconnect_outranks_an_earlier_reconnect_link(site, world):
    """Issue #8, defect 1: after "Disconnect, keep the history" an earlier link (even one
    whose dialog was already opened) must not connect the account again."""
    ig_account(username="gone_brand")
    browser = Browser(site, world.users["a_member"])
    browser.connect_instagram(world.clients["a1"], "gone_brand")
    account = InstagramAccount.objects.get()
    url = _link_for(account)
    stranger = Browser(site)
    dialog = stranger.post(urlsplit(url).path).headers["Location"]  # opened before...
    browser.post(f"/a/alpha/accounts/{account.pk}/disconnect/", {"history": "keep"})  # ...this
    response = stranger.get(click_through(stranger.http, dialog, username="gone_brand"))
    assert response.status_code == 400 and "can no longer be used" in response.text
    account.refresh_from_db()
    assert account.disconnected_at and not account.has_token
    assert account.health == Health.DISCONNECTED
    assert Browser(site).get(url).status_code == 404  # and the link is dead for good


def test_reconnect_link_refuses_another_account(site, world):
    ig_account(username="right_one")
    ig_account(username="wrong_one")
    browser = Browser(site, world.users["a_member"])
    browser.connect_instagram(world.clients["a1"], "right_one")
    account = InstagramAccount.objects.get()
    url = _link_for(account)
    stranger = Browser(site)
    dialog = stranger.post(urlsplit(url).path).headers["Location"]
    response = stranger.get(click_through(stranger.http, dialog, username="wrong_one"))
    assert response.status_code == 400 and "different Instagram account" in response.text
    assert InstagramAccount.objects.get().username == "right_one"
    # A failed attempt gives the link back: the right person can still use it.
    assert stranger.get(url).status_code == 200
    assert Browser(site).get("/reconnect/forged-value/").status_code == 404


def test_instagram_tokens_are_refreshed_before_expiry(site, world):
    ig_account(username="longlived")
    browser = Browser(site, world.users["a_member"])
    browser.connect_instagram(world.clients["a1"], "longlived")
    account = InstagramAccount.objects.get()
    assert health.claim_token_refreshes() == []  # fresh: nothing to do
    # 35 days later (for Prism and for the sandbox), under 30 days are left.
    sandbox_core.move_clock(seconds=35 * 86400)
    InstagramAccount.objects.filter(pk=account.pk).update(
        token_issued_at=account.token_issued_at - timedelta(days=35),
        token_expires_at=account.token_expires_at - timedelta(days=35),
    )
    claimed = health.claim_token_refreshes(now=timezone.now())
    assert claimed == [account.pk]
    assert health.claim_token_refreshes(now=timezone.now()) == []  # leased
    old = account.token_ciphertext
    account.refresh_from_db()
    assert health.refresh_token(account)
    account.refresh_from_db()
    assert account.token_ciphertext != old
    assert account.token_expires_at > timezone.now() + timedelta(days=59)  # 60 days again
    assert health.check_account(account) == Health.CONNECTED
    sandbox_core.reset_clock()


def test_disconnect_keeps_or_deletes_history(site, world):
    ig_account(username="leaving")
    browser = Browser(site, world.users["a_member"])
    browser.connect_instagram(world.clients["a1"], "leaving")
    account = InstagramAccount.objects.get()
    unclear = browser.post(f"/a/alpha/accounts/{account.pk}/disconnect/", {"history": "maybe"})
    assert unclear.status_code == 200 and "Choose whether to keep" in unclear.text
    account.refresh_from_db()
    assert account.has_token  # an unclear answer changes nothing
    browser.post(f"/a/alpha/accounts/{account.pk}/disconnect/", {"history": "keep"})
    account.refresh_from_db()
    assert not account.has_token and account.health == Health.DISCONNECTED
    browser.post(f"/a/alpha/accounts/{account.pk}/disconnect/", {"history": "delete"})
    assert not InstagramAccount.objects.exists()


def test_no_token_or_code_in_logs_during_a_whole_connect(site, world):
    """Every logger at DEBUG, written through the same redacting filter as the configured
    console handler: neither the token nor the authorization code comes out."""
    import io

    from insights.meta.redact import RedactSecretsFilter

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactSecretsFilter())
    loggers = [logging.getLogger(n) for n in ("", "django.server", "urllib3", "django")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        ig_account(username="quiet")
        browser = Browser(site, world.users["a_member"])
        callback = click_through(
            browser.http, browser.start(world.clients["a1"], "instagram"), username="quiet"
        )
        browser.get(callback)
        account = InstagramAccount.objects.get()
        health.check_account(account)
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
    text = out.getvalue()
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert "callback" in text  # the access log line is there, redacted
    assert account.reveal_token() not in text and code not in text


def test_an_account_that_is_no_longer_professional_is_flagged(site, world):
    from sandbox.models import InstagramAccount as SandboxAccount
    from sandbox.models import Page

    ig = ig_account(username="turned_personal")
    fb = fb_account(username="unlinked_brand")
    person = Token.objects.get(token=fb["access_token"]).person
    browser = Browser(site, world.users["a_member"])
    browser.get(
        click_through(
            browser.http,
            browser.start(world.clients["a1"], "instagram"),
            username="turned_personal",
        )
    )
    pick = browser.get(
        click_through(
            browser.http, browser.start(world.clients["a2"], "facebook"), login=person.login
        )
    ).headers["Location"]
    browser.post(pick, {"ig_user_id": [fb["ig_user_id"]]})
    by_id = {a.ig_user_id: a for a in InstagramAccount.objects.all()}
    assert {health.check_account(a) for a in by_id.values()} == {Health.CONNECTED}

    SandboxAccount.objects.filter(ig_user_id=ig["ig_user_id"]).update(account_type="PERSONAL")
    Page.objects.filter(page_id=fb["page_id"]).update(ig_account=None)
    mail.outbox.clear()
    for account in by_id.values():
        assert health.check_account(account) == Health.NOT_PROFESSIONAL
    assert len(mail.outbox) == 2


def test_the_sandbox_can_deauthorize_and_request_deletion(site, world):
    """Meta's callbacks as the sandbox sends them (signed with the Instagram app's secret)."""
    sandbox = ig_account(username="leaving_meta")
    browser = Browser(site, world.users["a_member"])
    browser.connect_instagram(world.clients["a1"], "leaving_meta")
    account = InstagramAccount.objects.get()
    control = f"{site.url}/_sandbox/control/signed-request/send"
    sent = requests.post(
        control,
        json={
            "url": f"{site.url}/meta/instagram/deauthorize/",
            "kind": "deauthorize",
            "ig_user_id": sandbox["ig_user_id"],
            "app": "instagram",
        },
        timeout=30,
    ).json()
    assert sent["status_code"] == 200, sent
    account.refresh_from_db()
    assert not account.has_token and account.health == Health.NEEDS_RECONNECT

    sent = requests.post(
        control,
        json={
            "url": f"{site.url}/meta/instagram/data-deletion/",
            "kind": "data_deletion",
            "ig_user_id": sandbox["ig_user_id"],
            "app": "instagram",
        },
        timeout=30,
    ).json()
    assert sent["status_code"] == 200 and sent.get("deletion_answer_valid") is True, sent
    # The deletion job runs on a worker; here it is run by hand.
    from insights.connections.removal import perform_deletion
    from insights.models import DeletionRequest

    assert perform_deletion(DeletionRequest.objects.get()) == 1
    assert not InstagramAccount.objects.exists()


def test_facebook_reconnect_with_a_login_that_no_longer_reaches_the_account(site, world):
    first = fb_account(username="page_owned")
    stranger = fb_account(username="someone_else")
    owner = Token.objects.get(token=first["access_token"]).person
    other = Token.objects.get(token=stranger["access_token"]).person
    browser = Browser(site, world.users["a_member"])
    pick = browser.get(
        click_through(
            browser.http, browser.start(world.clients["a1"], "facebook"), login=owner.login
        )
    ).headers["Location"]
    browser.post(pick, {"ig_user_id": [first["ig_user_id"]]})
    account = InstagramAccount.objects.get()
    reconnect = browser.post(f"/a/alpha/accounts/{account.pk}/reconnect/").headers["Location"]
    response = browser.get(click_through(browser.http, reconnect, login=other.login))
    assert response.status_code == 400 and "different Instagram account" in response.text
    assert InstagramAccount.objects.get().ig_user_id == first["ig_user_id"]
    # The right person reconnects it in place (a Page token again).
    reconnect = browser.post(f"/a/alpha/accounts/{account.pk}/reconnect/").headers["Location"]
    done = browser.get(click_through(browser.http, reconnect, login=owner.login))
    assert done.status_code == 302 and done.headers["Location"].endswith(
        f"/clients/{account.client_id}/"
    )
    assert InstagramAccount.objects.get().pk == account.pk
