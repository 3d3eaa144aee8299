"""Security round 3 (issue 18): each finding's test failed on the code before its fix.

Findings 10, 11 and 13 (report code) live beside the report tests they extend; see the notes
in /work/notes/security18.md for where each test is."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from accounts.models import Role

from .factories import PASSWORD, MembershipFactory, UserFactory

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


# --- 1. The admin signs in through allauth only; "require MFA" means this session passed it ------


@pytest.fixture
def superuser_with_totp(world):
    user = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    MembershipFactory(agency=world.a, user=user, role=Role.OWNER)
    return user, _totp_for(user)


def test_the_admin_password_form_is_gone(superuser_with_totp):
    user, _secret = superuser_with_totp
    http = HttpClient()
    # Django's own form signed a superuser with an authenticator app in on the password alone.
    answer = http.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD})
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    assert "_auth_user_id" not in http.session
    assert http.get("/admin/").status_code == 302
    # Asking for the admin's login page lands on allauth's, keeping where to go next.
    answer = http.get("/admin/login/", {"next": "/admin/accounts/user/"})
    assert answer["Location"] == "/accounts/login/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    answer = http.get("/admin/accounts/user/")
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")


def test_the_admin_signs_in_with_the_second_factor(superuser_with_totp):
    user, secret = superuser_with_totp
    http = HttpClient()
    answer = http.post("/accounts/login/?next=/admin/", {"login": user.email, "password": PASSWORD})
    assert answer.status_code == 302 and "/2fa/authenticate" in answer["Location"]
    assert http.get("/admin/").status_code == 302  # the password alone is not enough
    done = http.post(answer["Location"], {"code": _code(secret)})
    assert done.status_code == 302 and done["Location"] == "/admin/"
    assert http.get("/admin/").status_code == 200
    # Signed in already: the admin's login page goes on to where it was asked to.
    assert http.get("/admin/login/", {"next": "/admin/"})["Location"] == "/admin/"


def test_someone_signed_in_but_not_staff_is_refused_the_admin_without_a_loop(world):
    http = world.client_for("a_member")
    assert http.get("/admin/login/", {"next": "/admin/"}).status_code == 403


def test_require_mfa_means_this_session_passed_the_second_factor(world):
    world.a.require_mfa = True
    world.a.save()
    member = world.users["a_member"]
    secret = _totp_for(member)
    # A session signed in without the second factor (as the admin's password form made one).
    http = world.client_for("a_member")
    page = http.get("/a/alpha/")
    assert page.status_code == 403
    text = page.content.decode()
    assert "Acme Coffee" not in text and reverse("mfa_reauthenticate") in text
    # Confirming the authenticator app in this session opens the agency.
    http.get(reverse("mfa_reauthenticate"))
    confirmed = http.post(reverse("mfa_reauthenticate"), {"code": _code(secret)})
    assert confirmed.status_code == 302
    assert http.get("/a/alpha/").status_code == 200


@pytest.mark.django_db(transaction=True)  # allauth signals after commit, as in production
def test_setting_up_the_authenticator_counts_as_passing_it(world):
    """Who sets up the app in this session typed a code from it: no second sign-in needed."""
    world.a.require_mfa = True
    world.a.save()
    member = world.users["a_member"]
    http = HttpClient()
    http.post("/accounts/login/", {"login": member.email, "password": PASSWORD})
    assert http.get("/a/alpha/").status_code == 403
    page = http.get("/accounts/2fa/totp/activate/", follow=True)
    if page.redirect_chain:  # allauth asks for the password again before changing security
        http.post(page.redirect_chain[-1][0], {"password": PASSWORD})
        http.get("/accounts/2fa/totp/activate/")
    secret = http.session["mfa.totp.secret"]
    activated = http.post("/accounts/2fa/totp/activate/", {"code": _code(secret)})
    assert activated.status_code == 302
    assert http.get("/a/alpha/").status_code == 200
