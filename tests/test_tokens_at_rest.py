"""Tokens are encrypted at rest, rotate under new keys, and never show up anywhere."""

import io
import logging
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone

from insights import crypto
from insights.models import InstagramAccount

from .factories import InstagramAccountFactory, UserFactory

pytestmark = pytest.mark.django_db
CANARY = "IGAAcanary-0123456789-token-that-must-never-leak"


@pytest.fixture
def account(world):
    return InstagramAccountFactory(agency=world.a, client=world.clients["a1"], token=CANARY)


def test_round_trip_and_raw_column_holds_no_plaintext(account):
    assert account.reveal_token() == CANARY
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM insights_instagramaccount")
        rows = cursor.fetchall()
    dump = repr(rows)
    assert CANARY not in dump and CANARY[:12] not in dump
    assert CANARY not in repr(account) and CANARY not in str(account)


def test_tampered_ciphertext_raises_instead_of_returning_garbage(account):
    account.token_ciphertext = account.token_ciphertext[:-4] + "AAAA"
    with pytest.raises(crypto.TokenDecryptError):
        account.reveal_token()


def test_wrong_key_marks_the_account_needing_reconnect(account, settings):
    from insights.connections.health import check_account

    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    check_account(account)
    account.refresh_from_db()
    assert account.health == "needs_reconnect"


def test_key_rotation_re_encrypts_everything(world, settings):
    old = settings.TOKEN_ENCRYPTION_KEYS[0]
    accounts = [
        InstagramAccountFactory(agency=world.a, client=world.clients["a1"], token=f"IGAA-token-{n}")
        for n in range(5)
    ]
    new = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_token_keys", stdout=out)
    assert "re-encrypted 5 token(s)" in out.getvalue()
    settings.TOKEN_ENCRYPTION_KEYS = [new]  # the old key is gone now
    for n, account in enumerate(accounts):
        account.refresh_from_db()
        assert account.reveal_token() == f"IGAA-token-{n}"


def test_key_rotation_covers_the_page_tokens_of_pending_connections(world, settings):
    """Issue #8: a Facebook Login waiting on the pick page holds Page tokens too."""
    from insights.models import PendingConnection

    old = settings.TOKEN_ENCRYPTION_KEYS[0]
    pending = PendingConnection.objects.create(
        agency=world.a,
        client=world.clients["a1"],
        session_hash="s",
        token_ciphertext=crypto.encrypt("EAA-user-token"),
        meta_user_id="1",
        candidates=[
            {"ig_user_id": str(n), "page_token_ciphertext": crypto.encrypt(f"EAA-page-{n}")}
            for n in range(2)
        ],
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    new = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_token_keys", stdout=io.StringIO())
    settings.TOKEN_ENCRYPTION_KEYS = [new]
    pending.refresh_from_db()
    assert crypto.decrypt(pending.token_ciphertext) == "EAA-user-token"
    assert [crypto.decrypt(c["page_token_ciphertext"]) for c in pending.candidates] == [
        "EAA-page-0",
        "EAA-page-1",
    ]


def test_token_absent_from_pages_admin_and_logs(account, world, caplog):
    caplog.set_level(logging.DEBUG)
    urls = [
        "/a/alpha/",
        f"/a/alpha/clients/{account.client_id}/",
        "/a/alpha/attention/",
        f"/a/alpha/accounts/{account.pk}/disconnect/",
    ]
    for persona in ("a_owner", "a_viewer"):
        http = world.client_for(persona)
        for url in urls:
            body = http.get(url).content.decode()
            assert CANARY not in body and CANARY[:12] not in body, url
    admin = UserFactory(is_staff=True, is_superuser=True)
    http = HttpClient()
    http.force_login(admin)
    for url in (
        "/admin/insights/instagramaccount/",
        f"/admin/insights/instagramaccount/{account.pk}/change/",
    ):
        response = http.get(url)
        assert response.status_code == 200
        assert CANARY not in response.content.decode()
        assert account.token_ciphertext not in response.content.decode()
    assert all(CANARY not in record.getMessage() for record in caplog.records)


def _report(rf) -> str:
    import sys

    from django.views.debug import ExceptionReporter

    reporter = ExceptionReporter(rf.get("/"), *sys.exc_info())
    return reporter.get_traceback_html() + reporter.get_traceback_text()


def test_error_reports_hide_the_token(world, account, rf, monkeypatch):
    """Django's error reports (what admins get by email) never show the plaintext, whether the
    failure is inside the Meta client or while storing a new token."""
    from insights.connections import health, oauth
    from insights.meta import client as meta_client

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    session = meta_client._shared_session()
    monkeypatch.setattr(session, "request", explode)
    try:
        health.check_account(account)
    except RuntimeError:
        report = _report(rf)
    assert "boom" in report and "_once" in report
    assert CANARY not in report and CANARY[:12] not in report

    monkeypatch.setattr(crypto, "fernet", explode)
    try:  # the new token is built inline: this test's own frame must not hold it either
        oauth.upsert_account(
            client=world.clients["a1"],
            ig_user_id="1784",
            login_path="instagram",
            username="x",
            token="IGAAanother-" + CANARY[12:],
            token_expires_at=None,
            meta_user_id="1",
            granted_scopes=[],
        )
    except RuntimeError:
        report = _report(rf)
    assert "boom" in report and "upsert_account" in report
    assert CANARY[12:] not in report


def test_invalid_keys_fail_loudly(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.TOKEN_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt("x")
    assert InstagramAccount.objects.count() == 0
