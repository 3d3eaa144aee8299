"""The connections package by concern, and the dispatcher's housekeeping."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import Invitation
from accounts.services import purge_old_invitations
from insights.connections.oauth import purge_expired_attempts
from insights.models import OAuthState, PendingConnection


def test_health_does_not_import_the_oauth_round_trip():
    """The refresh pipeline imports `connections.health`; it must not drag the round trip in."""
    code = (
        "import django, sys; django.setup();"
        "import insights.connections.health;"
        "print('insights.connections.oauth' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "False"


def test_tenancy_knows_nothing_of_the_product():
    source = (settings.BASE_DIR / "accounts" / "tenancy.py").read_text()
    assert "import insights" not in source and "from insights" not in source


@pytest.mark.django_db
def test_housekeeping_purges_only_what_ended(world):
    now = timezone.now()
    owner = world.users["a_owner"]

    def invitation(email, expires_at):
        inv, _ = Invitation.issue(agency=world.a, email=email, role="member", invited_by=owner)
        Invitation.objects.filter(pk=inv.pk).update(expires_at=expires_at)
        return inv

    old = invitation("old@example.com", now - timedelta(days=31))
    recent = invitation("recent@example.com", now - timedelta(days=29))
    live = invitation("live@example.com", now + timedelta(days=3))
    assert purge_old_invitations(now) == 1
    assert set(Invitation.objects.values_list("pk", flat=True)) == {recent.pk, live.pk}
    assert not Invitation.objects.filter(pk=old.pk).exists()

    def state(h, expires_at):
        return OAuthState.objects.create(
            state_hash=h,
            session_hash="s",
            login_path="instagram",
            agency=world.a,
            client=world.clients["a1"],
            expires_at=expires_at,
        )

    state("a" * 64, now - timedelta(days=2))
    kept = state("b" * 64, now - timedelta(hours=2))  # kept a day: a replay is told apart
    common = dict(
        agency=world.a,
        client=world.clients["a1"],
        session_hash="s",
        token_ciphertext="x",
        meta_user_id="1",
        granted_scopes=[],
        candidates=[],
    )
    PendingConnection.objects.create(**common, expires_at=now - timedelta(minutes=1))
    live_pending = PendingConnection.objects.create(**common, expires_at=now + timedelta(minutes=5))
    assert purge_expired_attempts(now) == (1, 1)
    assert list(OAuthState.objects.values_list("pk", flat=True)) == [kept.pk]
    assert list(PendingConnection.objects.values_list("pk", flat=True)) == [live_pending.pk]
