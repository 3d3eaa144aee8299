import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Agency, Invitation, Membership, Role, User

from .factories import PASSWORD

pytestmark = pytest.mark.django_db


def _signup(client, **overrides):
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "agency_name": "Analytical Agency",
        "time_zone": "Europe/London",
    }
    data.update(overrides)
    return client.post(reverse("account_signup"), data)


def test_signup_creates_agency_owned_by_user_and_verification_email(client):
    response = _signup(client)
    assert response.status_code == 302
    user = User.objects.get(email="ada@example.com")
    agency = Agency.objects.get()
    assert (agency.name, agency.slug, agency.time_zone) == (
        "Analytical Agency",
        "analytical-agency",
        "Europe/London",
    )
    assert Membership.objects.get(user=user, agency=agency).role == Role.OWNER
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    # Confirm the address, then land on the agency's dashboard.
    client.post(link.replace("http://127.0.0.1:8000", "").replace("http://testserver", ""))
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/a/analytical-agency/"
    assert b"Analytical Agency" in response.content


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("agency_name", "   ", "This field is required"),
        ("email", "not-an-email", "valid email"),
        ("password2", "something-else-entirely", "same password"),
        ("password1", "short", "too short"),
        ("time_zone", "Mars/Olympus", "Select a valid choice"),
    ],
)
def test_signup_bad_input_explains_and_creates_nothing(client, field, value, message):
    overrides = {field: value}
    if field == "password1":
        overrides["password2"] = value
    response = _signup(client, **overrides)
    assert response.status_code == 200
    assert message.lower() in response.content.decode().lower()
    assert not User.objects.exists() and not Agency.objects.exists()


def test_two_agencies_with_one_name_get_distinct_slugs(client, db):
    _signup(client)
    _signup(client, email="bob@example.com")
    assert sorted(Agency.objects.values_list("slug", flat=True)) == [
        "analytical-agency",
        "analytical-agency-2",
    ]


def test_invitation_flow_new_person(world, django_capture_on_commit_callbacks):
    owner = world.client_for("a_owner")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(
            "/a/alpha/members/", {"email": "New.Person@Example.com", "role": "member"}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get(agency=world.a)
    assert invitation.email == "new.person@example.com"
    url = re.search(r"http://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)
    path = url.split("8000", 1)[1]
    # The raw token is only in the email, never stored.
    assert path.split("/")[2] not in invitation.token_hash

    from django.test import Client as HttpClient

    stranger = HttpClient()
    bad = stranger.post(path, {"name": "New Person", "password1": "x", "password2": "x"})
    assert (
        bad.status_code == 200 and not User.objects.filter(email="new.person@example.com").exists()
    )
    response = stranger.post(
        path, {"name": "New Person", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/a/alpha/"
    user = User.objects.get(email="new.person@example.com")
    assert Membership.objects.get(user=user).role == Role.MEMBER
    # Single use: the link is dead now.
    assert HttpClient().get(path).status_code == 410


def _invite_as(http, slug: str, email: str, capture) -> str:
    with capture(execute=True):
        response = http.post(f"/a/{slug}/members/", {"email": email, "role": "viewer"}, follow=True)
    return [str(m) for m in response.context["messages"]][0]


def test_inviting_an_existing_user_needs_their_consent(world, django_capture_on_commit_callbacks):
    """Issue #8, defect 2: no membership without consent, and the inviter cannot tell whether
    the address has a Prism account."""
    owner = world.client_for("b_owner")
    known = _invite_as(owner, "bravo", "a_member@example.com", django_capture_on_commit_callbacks)
    unknown = _invite_as(owner, "bravo", "nobody@example.com", django_capture_on_commit_callbacks)
    assert known.replace("a_member", "X") == unknown.replace("nobody", "X")
    assert "already" not in known and "member" not in known.replace("a_member", "")
    assert not Membership.objects.filter(agency=world.b, user=world.users["a_member"]).exists()
    body = next(m for m in mail.outbox if m.to == ["a_member@example.com"]).body
    path = re.search(r"/invitations/\S+/", body).group(0)
    http = world.client_for("a_member")
    assert http.get("/a/bravo/").status_code == 404  # not a member yet
    page = http.get(path).content.decode()
    assert "Accept invitation" in page and "Decline" in page
    http.post(path, {"action": "decline"})
    assert not Membership.objects.filter(agency=world.b, user=world.users["a_member"]).exists()
    assert Invitation.objects.get(email="a_member@example.com").state == "declined"
    assert http.get(path).status_code == 410


def test_an_existing_user_accepts_and_switches_agencies(world, django_capture_on_commit_callbacks):
    owner = world.client_for("b_owner")
    _invite_as(owner, "bravo", "a_member@example.com", django_capture_on_commit_callbacks)
    path = re.search(r"/invitations/\S+/", mail.outbox[-1].body).group(0)
    http = world.client_for("a_member")
    assert http.post(path, {"action": "accept"})["Location"] == "/a/bravo/"
    membership = Membership.objects.get(agency=world.b, user=world.users["a_member"])
    assert membership.role == Role.VIEWER
    page = http.get("/a/bravo/").content.decode()
    assert "Alpha Agency" in page and "ZZ-TENANT-B Bravo" in page


def test_invitations_can_be_resent_and_revoked(world, django_capture_on_commit_callbacks):
    owner = world.client_for("a_owner")
    _invite_as(owner, "alpha", "again@example.com", django_capture_on_commit_callbacks)
    first = re.search(r"/invitations/\S+/", mail.outbox[-1].body).group(0)
    invitation = Invitation.objects.get(email="again@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(f"/a/alpha/invitations/{invitation.pk}/resend/")
    second = re.search(r"/invitations/\S+/", mail.outbox[-1].body).group(0)
    assert second != first and mail.outbox[-1].to == ["again@example.com"]
    from django.test import Client as HttpClient

    assert HttpClient().get(first).status_code == 404  # the earlier link stops working
    assert HttpClient().get(second).status_code == 200
    owner.post(f"/a/alpha/invitations/{invitation.pk}/revoke/")
    assert HttpClient().get(second).status_code == 410
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(f"/a/alpha/invitations/{invitation.pk}/resend/")
    assert len(mail.outbox) == sent  # a revoked invitation is not sent again


def test_expired_and_revoked_invitations_do_not_work(world, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.services import invite

    with django_capture_on_commit_callbacks(execute=True):
        invitation = invite(
            agency=world.a,
            invited_by=world.users["a_owner"],
            email="late@example.com",
            role="member",
        )
    path = re.search(r"/invitations/\S+/", mail.outbox[-1].body).group(0)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    from django.test import Client as HttpClient

    assert HttpClient().get(path).status_code == 410
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() + timedelta(days=1), revoked_at=timezone.now()
    )
    assert HttpClient().get(path).status_code == 410
    assert HttpClient().get("/invitations/not-a-real-token/").status_code == 404


def test_invite_bad_input(world):
    owner = world.client_for("a_owner")
    for data, message in [
        ({"email": "nope", "role": "member"}, "valid email"),
        ({"email": "a_viewer@example.com", "role": "member"}, "already a member"),
        (
            {"email": "x@example.com", "role": "member", "limited_to_clients": "on"},
            "Pick at least one client",
        ),
        (
            {
                "email": "x@example.com",
                "role": "admin",
                "limited_to_clients": "on",
                "clients": [world.clients["a1"].pk],
            },
            "always see every client",
        ),
        (
            {
                "email": "x@example.com",
                "role": "member",
                "limited_to_clients": "on",
                "clients": [world.clients["b1"].pk],
            },
            "Select a valid choice",
        ),
    ]:
        response = owner.post("/a/alpha/members/", data)
        assert response.status_code == 200, data
        assert message.lower() in response.content.decode().lower(), data
    assert not Invitation.objects.exists()
    assert len(mail.outbox) == 0


def test_admin_cannot_invite_an_owner(world):
    admin = world.client_for("a_admin")
    response = admin.post("/a/alpha/members/", {"email": "boss@example.com", "role": "owner"})
    assert response.status_code == 200 and not Invitation.objects.exists()


def test_owner_changes_role_and_limits(world):
    owner = world.client_for("a_owner")
    member = world.memberships["a_member"]
    response = owner.post(
        f"/a/alpha/members/{member.pk}/",
        {"role": "viewer", "limited_to_clients": "on", "clients": [world.clients["a1"].pk]},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.VIEWER and member.is_limited
    assert list(member.clients.all()) == [world.clients["a1"]]
    # Admins do not change roles.
    admin = world.client_for("a_admin")
    assert admin.post(f"/a/alpha/members/{member.pk}/", {"role": "owner"}).status_code == 403


def test_last_owner_cannot_leave_or_be_demoted(world):
    owner = world.client_for("a_owner")
    me = world.memberships["a_owner"]
    owner.post("/a/alpha/leave/")
    assert Membership.objects.filter(pk=me.pk).exists()
    response = owner.post(f"/a/alpha/members/{me.pk}/", {"role": "admin"})
    assert response.status_code == 200 and b"at least one owner" in response.content
    me.refresh_from_db()
    assert me.role == Role.OWNER
    # With a second owner, leaving works.
    world.memberships["a_admin"].role = Role.OWNER
    world.memberships["a_admin"].save()
    assert owner.post("/a/alpha/leave/").status_code == 302
    assert not Membership.objects.filter(pk=me.pk).exists()


def test_owner_removes_member(world):
    owner = world.client_for("a_owner")
    member = world.memberships["a_member"]
    owner.post(f"/a/alpha/members/{member.pk}/remove/")
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert world.client_for("a_member").get("/a/alpha/").status_code == 404


def test_create_second_agency_and_switch(world):
    http = world.client_for("a_viewer")
    response = http.post("/agencies/new/", {"agency_name": "Second Shop", "time_zone": "UTC"})
    assert response.status_code == 302
    assert (
        Membership.objects.get(user=world.users["a_viewer"], agency__name="Second Shop").role
        == Role.OWNER
    )
    # Home goes to the agency used last.
    http.get("/a/alpha/")
    assert http.get("/")["Location"] == "/a/alpha/"


def test_password_reset_by_email(world, client):
    mail.outbox.clear()
    client.post(reverse("account_reset_password"), {"email": "a_viewer@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", mail.outbox[0].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    form_page = client.get(path, follow=True)
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else path
    new = "a-brand-new-passphrase-77"
    response = client.post(action, {"password1": new, "password2": new})
    assert response.status_code == 302
    fresh = type(client)()
    assert (
        fresh.post(
            reverse("account_login"), {"login": "a_viewer@example.com", "password": new}
        ).status_code
        == 302
    )


def test_unknown_email_reset_reveals_nothing(world, client):
    mail.outbox.clear()
    known = client.post(reverse("account_reset_password"), {"email": "a_viewer@example.com"})
    unknown = client.post(reverse("account_reset_password"), {"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


def test_agency_forms_explain_bad_input_and_change_nothing(world):
    owner = world.client_for("a_owner")
    response = owner.post("/a/alpha/settings/", {"name": "  ", "time_zone": "Nowhere/Land"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "This field is required" in body and "Select a valid choice" in body
    world.a.refresh_from_db()
    assert world.a.name == "Alpha Agency"
    before = Agency.objects.count()
    response = owner.post("/agencies/new/", {"agency_name": "", "time_zone": "UTC"})
    assert response.status_code == 200 and b"This field is required" in response.content
    assert Agency.objects.count() == before
    response = owner.post("/a/alpha/settings/", {"name": "Alpha & Co", "time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    world.a.refresh_from_db()
    assert (world.a.name, world.a.time_zone, world.a.slug) == ("Alpha & Co", "Asia/Tokyo", "alpha")


def test_invitation_signup_bad_input_creates_nobody(world, django_capture_on_commit_callbacks):
    from accounts.services import invite

    with django_capture_on_commit_callbacks(execute=True):
        invite(
            agency=world.a,
            invited_by=world.users["a_owner"],
            email="newbie@example.com",
            role="member",
        )
    path = re.search(r"/invitations/\S+/", mail.outbox[-1].body).group(0)
    from django.test import Client as HttpClient

    http = HttpClient()
    for data, message in [
        ({"name": "", "password1": PASSWORD, "password2": PASSWORD}, "This field is required"),
        ({"name": "N", "password1": PASSWORD, "password2": PASSWORD + "x"}, "passwords differ"),
        ({"name": "N", "password1": "12345678901", "password2": "12345678901"}, "entirely numeric"),
    ]:
        response = http.post(path, data)
        assert response.status_code == 200 and message in response.content.decode()
    assert not User.objects.filter(email="newbie@example.com").exists()
    assert Invitation.objects.get(email="newbie@example.com").state == "pending"
