"""The connection looks after itself: checks and token refreshes are claimed once, expiries
that cannot be avoided are announced once, ahead of time."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from insights.connections import health
from insights.models import Health, InstagramAccount

from .factories import InstagramAccountFactory

pytestmark = pytest.mark.django_db


def test_unavoidable_expiry_is_announced_once(world, django_capture_on_commit_callbacks):
    now = timezone.now()
    soon = InstagramAccountFactory(
        agency=world.a, client=world.clients["a1"], login_path="facebook", username="page_brand"
    )
    InstagramAccount.objects.filter(pk=soon.pk).update(
        token_expires_at=None, data_access_expires_at=now + timedelta(days=10)
    )
    later = InstagramAccountFactory(
        agency=world.a, client=world.clients["a2"], login_path="facebook"
    )
    InstagramAccount.objects.filter(pk=later.pk).update(
        data_access_expires_at=now + timedelta(days=60)
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert health.warn_about_expiries() == 1
    soon.refresh_from_db()
    assert soon.health == Health.EXPIRING_SOON and soon.expiry_warned_at
    assert len(mail.outbox) == 1 and "@page_brand" in mail.outbox[0].subject
    assert sorted(mail.outbox[0].to) == ["a_admin@example.com", "a_owner@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        assert health.warn_about_expiries() == 0
    assert len(mail.outbox) == 1


def test_a_fresh_instagram_token_is_refreshed_not_announced(world):
    now = timezone.now()
    account = InstagramAccountFactory(
        agency=world.a, client=world.clients["a1"], login_path="instagram"
    )
    InstagramAccount.objects.filter(pk=account.pk).update(
        token_issued_at=now - timedelta(hours=2), token_expires_at=now + timedelta(days=5)
    )
    assert health.warn_about_expiries() == 0


def test_checks_and_refreshes_are_claimed_once(world):
    now = timezone.now()
    due = InstagramAccountFactory(agency=world.a, client=world.clients["a1"])
    InstagramAccount.objects.filter(pk=due.pk).update(
        next_check_at=now - timedelta(minutes=1),
        token_issued_at=now - timedelta(days=40),
        token_expires_at=now + timedelta(days=20),
    )
    not_due = InstagramAccountFactory(agency=world.a, client=world.clients["a1"])
    InstagramAccount.objects.filter(pk=not_due.pk).update(
        next_check_at=now + timedelta(hours=1),
        token_issued_at=now - timedelta(hours=3),
        token_expires_at=now + timedelta(days=59),
    )
    assert health.claim_checks(now) == [due.pk]
    assert health.claim_checks(now) == []
    assert health.claim_token_refreshes(now) == [due.pk]
    assert health.claim_token_refreshes(now) == []
    # After the lease runs out, a failed refresh can be claimed again.
    assert health.claim_token_refreshes(now + timedelta(minutes=11)) == [due.pk]


def test_dispatcher_hands_out_due_work(world, settings, monkeypatch):
    from insights import tasks

    sent = []
    monkeypatch.setattr(tasks.check_account_health, "delay", lambda pk: sent.append(("check", pk)))
    monkeypatch.setattr(
        tasks.refresh_account_token, "delay", lambda pk: sent.append(("refresh", pk))
    )
    now = timezone.now()
    account = InstagramAccountFactory(agency=world.a, client=world.clients["a1"])
    InstagramAccount.objects.filter(pk=account.pk).update(
        next_check_at=now - timedelta(minutes=1),
        token_issued_at=now - timedelta(days=40),
        token_expires_at=now + timedelta(days=20),
    )
    result = tasks.dispatch_due_work()
    assert result["health_checks"] == 1 and result["token_refreshes"] == 1
    assert sorted(sent) == [("check", account.pk), ("refresh", account.pk)]
    assert tasks.dispatch_due_work()["health_checks"] == 0


def test_transient_errors_never_flip_health(world, settings):
    # Nothing listens at this address: every call fails with a connection error.
    settings.META_HOSTS = {h: "http://127.0.0.1:9/_sandbox/" + h for h in settings.META_HOSTS}
    account = InstagramAccountFactory(agency=world.a, client=world.clients["a1"])
    mail.outbox.clear()
    assert health.check_account(account) == Health.CONNECTED
    account.refresh_from_db()
    assert account.health == Health.CONNECTED and "connection failed" in account.last_error
    assert mail.outbox == []
