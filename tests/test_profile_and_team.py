"""What agencies expect of Prism's team side (issue #8): a profile, leaving, an audit trail,
two-factor sign-in (required per agency by its owners), searchable clients with their health."""

import re

import pytest
from django.core import mail
from django.test import Client as HttpClient

from accounts.models import AuditEvent, Membership, Role
from insights.connections import removal
from insights.models import Health, InstagramAccount

from .factories import PASSWORD, ClientFactory, InstagramAccountFactory

pytestmark = pytest.mark.django_db


def _totp_for(user) -> str:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def _code(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def test_people_change_their_own_name(world):
    http = world.client_for("a_viewer")
    page = http.get("/profile/")
    assert page.status_code == 200 and "a_viewer@example.com" in page.content.decode()
    assert http.post("/profile/", {"name": "  Vera \u202eViewer "}).status_code == 302
    world.users["a_viewer"].refresh_from_db()
    assert world.users["a_viewer"].name == "Vera Viewer"
    assert http.post("/profile/", {"name": "\u202e"}).status_code == 200  # empty is refused
    assert HttpClient().get("/profile/").status_code == 302  # login first


def test_a_viewer_leaves_from_their_profile(world):
    http = world.client_for("a_viewer")
    page = http.get("/profile/").content.decode()
    assert 'action="/a/alpha/leave/"' in page
    assert http.post("/a/alpha/leave/").status_code == 302
    assert not Membership.objects.filter(user=world.users["a_viewer"], agency=world.a).exists()
    assert http.get("/a/alpha/").status_code == 404
    event = AuditEvent.objects.get(agency=world.a, kind=AuditEvent.Kind.LEFT)
    assert event.actor == world.users["a_viewer"]


def test_the_audit_trail_records_who_did_what(world, django_capture_on_commit_callbacks):
    owner = world.client_for("a_owner")
    with django_capture_on_commit_callbacks(execute=True):
        owner.post("/a/alpha/members/", {"email": "new@example.com", "role": "viewer"})
    member = world.memberships["a_member"]
    owner.post(f"/a/alpha/members/{member.pk}/", {"role": Role.VIEWER})
    account = InstagramAccountFactory(
        agency=world.a, client=world.clients["a1"], username="audited"
    )
    world.client_for("a_admin").post(
        f"/a/alpha/accounts/{account.pk}/disconnect/", {"history": "keep"}
    )
    kinds = list(AuditEvent.objects.filter(agency=world.a).values_list("kind", flat=True))
    assert kinds == ["disconnected", "role_changed", "invited"]  # newest first
    page = owner.get("/a/alpha/activity/").content.decode()
    assert "Disconnected an account" in page and "@audited (Acme Coffee)" in page
    assert "Changed a role" in page and "member → viewer" in page
    assert "new@example.com as viewer" in page and "A Owner (a_owner@example.com)" in page
    # Only owners and admins read it; nothing of agency B shows.
    assert world.client_for("a_viewer").get("/a/alpha/activity/").status_code == 403
    assert world.client_for("b_owner").get("/a/alpha/activity/").status_code == 404


def test_reconnects_through_a_link_name_the_client_as_actor(world):
    from insights.connections.oauth import upsert_account

    account = InstagramAccountFactory(agency=world.a, client=world.clients["a1"])
    upsert_account(
        client=world.clients["a1"],
        ig_user_id=account.ig_user_id,
        login_path="instagram",
        username=account.username,
        token="IGAA-new",
        token_expires_at=None,
        meta_user_id=account.meta_user_id,
        granted_scopes=[],
        user=None,
        revive=False,
    )
    event = AuditEvent.objects.get(agency=world.a)
    assert event.kind == "reconnected" and "reconnect link" in event.actor_label


def test_anyone_can_turn_on_two_factor_and_then_signs_in_with_it(world):
    user = world.users["a_member"]
    fresh = HttpClient()
    fresh.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    page = fresh.get("/accounts/2fa/totp/activate/", follow=True)
    if page.redirect_chain:  # allauth asks for the password again before changing security
        assert "/reauthenticate/" in page.redirect_chain[-1][0]
        page = fresh.post(page.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    assert page.status_code == 200 and "Prism" in page.content.decode()
    assert "Authenticator App" in page.content.decode() or "authenticator" in (
        page.content.decode().lower()
    )
    secret = _totp_for(user)
    http = HttpClient()
    response = http.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302 and "/2fa/authenticate" in response["Location"]
    assert http.get("/a/alpha/").status_code == 302  # not signed in yet
    done = http.post(response["Location"], {"code": _code(secret)})
    assert done.status_code == 302
    assert http.get("/a/alpha/").status_code == 200


def test_owners_can_require_two_factor_for_their_agency(world):
    owner = world.client_for("a_owner")
    data = {"name": "Alpha Agency", "time_zone": "UTC", "require_mfa": "on"}
    refused = owner.post("/a/alpha/settings/", data)
    assert refused.status_code == 200 and "for yourself first" in refused.content.decode()
    _totp_for(world.users["a_owner"])
    assert owner.post("/a/alpha/settings/", data).status_code == 302
    world.a.refresh_from_db()
    assert world.a.require_mfa
    assert AuditEvent.objects.filter(agency=world.a, kind="mfa_required").exists()
    # A member without a second factor is sent to set one up, before any page of the agency.
    member = world.client_for("a_member")
    blocked = member.get(f"/a/alpha/clients/{world.clients['a1'].pk}/")
    assert blocked.status_code == 403 and "requires two-factor sign-in" in blocked.content.decode()
    assert "Acme Coffee" not in blocked.content.decode()
    assert "/accounts/2fa/totp/activate/" in blocked.content.decode()
    _totp_for(world.users["a_member"])
    assert member.get(f"/a/alpha/clients/{world.clients['a1'].pk}/").status_code == 200
    # Other agencies are not affected.
    assert world.client_for("b_member").get("/a/bravo/").status_code == 200


def test_the_client_list_shows_health_and_searches(world):
    InstagramAccountFactory(agency=world.a, client=world.clients["a1"], username="acme_ig")
    broken = InstagramAccountFactory(agency=world.a, client=world.clients["a2"], username="apex")
    InstagramAccount.objects.filter(pk=broken.pk).update(health=Health.NEEDS_RECONNECT)
    ClientFactory(agency=world.a, name="Zeta Florist")
    http = world.client_for("a_viewer")
    page = http.get("/a/alpha/clients/").content.decode()
    assert "@acme_ig" in page and "@apex" in page and "Needs reconnect" in page
    assert "Not connected" in page  # Zeta has no account
    found = http.get("/a/alpha/clients/", {"q": "apex"}).content.decode()
    assert "Apex Bikes" in found and "Acme Coffee" not in found and "Zeta" not in found
    none = http.get("/a/alpha/clients/", {"q": "nothing-like-this"}).content.decode()
    assert "No client matches" in none
    limited = world.client_for("a_limited").get("/a/alpha/clients/", {"q": "a"}).content.decode()
    assert "Acme Coffee" not in limited and "Apex Bikes" in limited


def test_a_reconnect_link_is_emailed_without_the_secret_in_the_task(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    from insights import tasks

    account = InstagramAccountFactory(agency=world.a, client=world.clients["a1"], username="mail")
    sent_args = []
    original = tasks.send_reconnect_link.delay
    monkeypatch.setattr(
        tasks.send_reconnect_link,
        "delay",
        lambda *a: (sent_args.append(a), original(*a))[1],
    )
    http = world.client_for("a_member")
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(
            f"/a/alpha/accounts/{account.pk}/reconnect-links/email/", {"email": "cli@ent.com"}
        )
    assert response.status_code == 302
    assert sent_args == [(account.pk, "cli@ent.com", world.users["a_member"].pk)]
    message = mail.outbox[-1]
    assert message.to == ["cli@ent.com"] and "@mail" in message.subject
    url = re.search(r"http\S+/reconnect/(\S+)/", message.body)
    assert removal.usable_link(url.group(1)) is not None
    bad = http.post(f"/a/alpha/accounts/{account.pk}/reconnect-links/email/", {"email": "nope"})
    assert bad.status_code == 302 and len(mail.outbox) == 1


def test_the_verification_email_and_email_page_are_prisms(client, world):
    response = client.post(
        "/accounts/signup/",
        {
            "name": "Nina New",
            "email": "nina@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "agency_name": "Nina Studio",
            "time_zone": "UTC",
        },
    )
    assert response.status_code == 302
    message = mail.outbox[-1]
    assert message.subject.startswith("[Prism]") and "Hello from Prism!" in message.body
    assert "example.com!" not in message.body and "/accounts/confirm-email/" in message.body
    page = world.client_for("a_owner").get("/accounts/email/").content.decode()
    assert 'class="topbar"' in page and "a_owner@example.com" in page
    assert 'name="action_remove"' in page and "<script" not in page.split("</head>")[1]


def test_emails_leave_requests_and_the_dispatcher_as_user_queue_tasks(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    """Issue #8: no request and no dispatcher cycle waits on SMTP. Invitations and account
    notices are tasks on the `user` queue, sent after commit, with ids only (no link, no
    token through the broker)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts import tasks as team_tasks
    from accounts.models import Invitation
    from config.celery import app
    from insights import tasks
    from insights.connections import health

    queued = []
    for task in (team_tasks.send_invitation, tasks.send_account_notice):
        monkeypatch.setattr(task, "delay", lambda *a, _n=task.name: queued.append((_n, a)))
    owner = world.client_for("a_owner")
    with django_capture_on_commit_callbacks(execute=True):
        owner.post("/a/alpha/members/", {"email": "queued@example.com", "role": "viewer"})
    invitation = Invitation.objects.get(email="queued@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(f"/a/alpha/invitations/{invitation.pk}/resend/")
    account = InstagramAccountFactory(agency=world.a, client=world.clients["a1"])
    with django_capture_on_commit_callbacks(execute=True):
        account.set_health(Health.NEEDS_RECONNECT, "revoked")
    expiring = InstagramAccountFactory(
        agency=world.a, client=world.clients["a2"], login_path="facebook"
    )
    InstagramAccount.objects.filter(pk=expiring.pk).update(
        token_expires_at=None, data_access_expires_at=timezone.now() + timedelta(days=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert health.warn_about_expiries() == 1
    assert mail.outbox == []
    assert queued == [
        ("accounts.tasks.send_invitation", (invitation.pk,)),
        ("accounts.tasks.send_invitation", (invitation.pk,)),
        ("insights.tasks.send_account_notice", (account.pk, "insights/email/needs_attention")),
        ("insights.tasks.send_account_notice", (expiring.pk, "insights/email/expiring")),
    ]
    for name in {name for name, _args in queued} | {"insights.tasks.send_reconnect_link"}:
        assert app.amqp.router.route({}, name)["queue"].name == "user"
