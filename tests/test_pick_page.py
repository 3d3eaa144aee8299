"""The Facebook Login pick page (issue #8): no other clients' names for limited members,
clients told apart by id, an unreadable waiting token answered with a page, not a 500."""

from __future__ import annotations

import pytest

from accounts.models import Role
from insights.models import InstagramAccount, PendingConnection
from sandbox.accounts import create_account
from sandbox.models import Token

from .factories import ClientFactory, MembershipFactory, UserFactory
from .oauth_driver import click_through
from .test_connect import Browser
from .test_connect import site as site  # noqa: F401  (the live-server fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _two_accounts_one_person():
    first = create_account(login="facebook", username="shared_one", followers=900)
    person = Token.objects.get(token=first["access_token"]).person
    second = create_account(login="facebook", username="shared_two", person=person)
    return first, second, person


def _pick_page(live, user, client, person) -> tuple[Browser, str, str]:
    browser = Browser(live, user)
    callback = click_through(browser.http, browser.start(client, "facebook"), login=person.login)
    pick_url = browser.get(callback).headers["Location"]
    return browser, pick_url, browser.get(pick_url).text


def test_a_limited_member_is_not_told_other_clients_names(site, world):  # noqa: F811
    first, _second, person = _two_accounts_one_person()
    owner = Browser(site, world.users["a_owner"])
    callback = click_through(
        owner.http, owner.start(world.clients["a1"], "facebook"), login=person.login
    )
    pick = owner.get(callback).headers["Location"]
    owner.post(pick, {"ig_user_id": [first["ig_user_id"]]})  # @shared_one -> Acme Coffee
    limited = UserFactory(email="limited_member@example.com")
    membership = MembershipFactory(
        agency=world.a, user=limited, role=Role.MEMBER, limited_to_clients=True
    )
    membership.clients.set([world.clients["a2"]])
    _browser, _url, page = _pick_page(site, limited, world.clients["a2"], person)
    assert "@shared_one" in page and "Acme Coffee" not in page
    assert "connected to another client" in page


def test_clients_with_one_name_are_told_apart(site, world):  # noqa: F811
    first, second, person = _two_accounts_one_person()
    twin_a = ClientFactory(agency=world.a, name="Twin")
    twin_b = ClientFactory(agency=world.a, name="Twin")
    browser, pick, _page = _pick_page(site, world.users["a_owner"], twin_a, person)
    browser.post(pick, {"ig_user_id": [first["ig_user_id"]]})
    browser, pick, page = _pick_page(site, world.users["a_owner"], twin_b, person)
    assert "connected to another client" in page
    assert "Already connected here" not in page
    browser.post(pick, {"ig_user_id": [second["ig_user_id"]]})  # @shared_one is disabled
    # @shared_one stays with the first Twin; only @shared_two joins the second.
    assert InstagramAccount.objects.get(ig_user_id=first["ig_user_id"]).client == twin_a
    assert InstagramAccount.objects.get(ig_user_id=second["ig_user_id"]).client == twin_b


def test_an_unreadable_waiting_token_is_a_clear_page(site, world):  # noqa: F811
    first, _second, person = _two_accounts_one_person()
    browser, pick, _page = _pick_page(site, world.users["a_owner"], world.clients["a1"], person)
    pending = PendingConnection.objects.get()
    for candidate in pending.candidates:
        candidate["page_token_ciphertext"] = "gAAAAA-not-a-fernet-token"
    pending.save()
    response = browser.post(pick, {"ig_user_id": [first["ig_user_id"]]})
    assert response.status_code == 400 and "can no longer be read" in response.text
    assert not InstagramAccount.objects.exists() and not PendingConnection.objects.exists()
