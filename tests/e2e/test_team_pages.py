"""Issue #8: the team and connection pages at desktop and phone widths, in a real browser.
At 390 px nothing may overflow sideways, and no page may log a CSP or script error."""

from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from accounts.services import invite
from insights.connections import removal
from insights.models import Health, InstagramAccount
from tests.factories import (
    PASSWORD,
    AgencyFactory,
    ClientFactory,
    InstagramAccountFactory,
    MembershipFactory,
    UserFactory,
)

from .conftest import shot

pytestmark = pytest.mark.e2e


@pytest.fixture
def agency_world(transactional_db):
    agency = AgencyFactory(name="Northwind Creative Partners", slug="northwind")
    owner = UserFactory(email="olivia.owner-with-a-long-address@northwind-creative.example.com")
    owner.name = "Olivia Owner"
    owner.save()
    MembershipFactory(agency=agency, user=owner, role=Role.OWNER)
    for n, role in enumerate([Role.ADMIN, Role.MEMBER, Role.VIEWER]):
        MembershipFactory(
            agency=agency,
            user=UserFactory(email=f"teammate.number{n}@a-rather-long-domain.example.com"),
            role=role,
        )
    invite(
        agency=agency,
        invited_by=owner,
        email="a.very.long.invitee.address@another-long-domain.example.org",
        role=Role.VIEWER,
    )
    clients = [ClientFactory(agency=agency, name=f"Client with a long name {n}") for n in range(3)]
    accounts = []
    for n, client in enumerate(clients):
        account = InstagramAccountFactory(
            agency=agency, client=client, username=f"brand_with_long_handle_{n}"
        )
        accounts.append(account)
    InstagramAccount.objects.filter(pk=accounts[0].pk).update(
        health=Health.NEEDS_RECONNECT,
        health_changed_at=timezone.now() - timedelta(hours=3),
        last_error="Error validating access token: The user has not authorized application "
        "200000000000002. (code 190, subcode 460)",
    )
    InstagramAccount.objects.filter(pk=accounts[1].pk).update(health=Health.MISSING_PERMISSION)
    removal.issue_reconnect_link(accounts[0], created_by=owner)
    removal.disconnect(accounts[2], keep_history=True, actor=owner)
    return agency, owner, clients, accounts


def _login(page, live_server, user):
    django = DjangoClient()
    django.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": django.cookies["sessionid"].value, "url": live_server.url}]
    )


# Text nodes of one short word (long handles and addresses may wrap anywhere) whose line boxes
# start at more than one height.
BROKEN_WORDS = """() => {
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  const broken = [];
  for (let node; (node = walker.nextNode()); ) {
    const word = node.textContent.trim();
    if (!word || /\\s/.test(word) || word.length > 20) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
                         .map(r => Math.round(r.top)));
    if (tops.size > 1) broken.push(word);
  }
  return broken;
}"""


# Top-bar links and menus not wholly inside the viewport: a nav that scrolls sideways in its own
# box leaves the page itself unscrolled, so the page-overflow check alone misses them.
NAV_OUTSIDE = """() => [...document.querySelectorAll('.topbar a, .topbar summary')]
  .filter(e => e.offsetParent !== null)
  .filter(e => {
    const r = e.getBoundingClientRect();
    return r.left < 0 || r.right > document.documentElement.clientWidth;
  })
  .map(e => e.textContent.trim())"""


def _assert_finished_look(page, name: str, width: int) -> None:
    """Nothing half-done at this width: no short word (a role, a state, a button) broken over
    two lines, no doubled divider under an account, and allauth's one-card pages keep a margin
    from the screen's edges."""
    broken = page.evaluate(BROKEN_WORDS)
    assert broken == [], f"{name}: words broken over lines at {width}px: {broken}"
    doubled = page.evaluate(
        "[...document.querySelectorAll('.account-row + *')].filter(e => "
        "parseFloat(getComputedStyle(e.previousElementSibling).borderBottomWidth) && "
        "parseFloat(getComputedStyle(e).borderTopWidth)).length"
    )
    assert doubled == 0, f"{name}: two lines under an account row at {width}px"
    left = page.evaluate(
        "(m => m ? m.getBoundingClientRect().left : null)(document.querySelector('main.auth'))"
    )
    assert left is None or left >= 8, f"{name}: the card touches the screen's edge at {width}px"
    hidden = page.evaluate(NAV_OUTSIDE)
    assert hidden == [], f"{name}: nav items outside the screen at {width}px: {hidden}"


PAGES = [
    ("overview", "/a/northwind/"),
    ("team", "/a/northwind/members/"),
    ("attention", "/a/northwind/attention/"),
    ("clients", "/a/northwind/clients/"),
    ("clients-search", "/a/northwind/clients/?q=long+name+1"),
    ("client", "/a/northwind/clients/{client}/"),
    ("links", "/a/northwind/accounts/{account}/reconnect-link/"),
    ("activity", "/a/northwind/activity/"),
    ("settings", "/a/northwind/settings/"),
    ("profile", "/profile/"),
    ("emails", "/accounts/email/"),
    ("two-factor", "/accounts/2fa/"),
]


@pytest.mark.parametrize("width", [1280, 390])
def test_team_and_connection_pages_fit(live_server, browser, agency_world, width):
    _agency, owner, clients, accounts = agency_world
    context = browser.new_context(viewport={"width": width, "height": 860})
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    _login(page, live_server, owner)
    for name, path in PAGES:
        url = live_server.url + path.format(client=clients[0].pk, account=accounts[0].pk)
        response = page.goto(url)
        assert response.status == 200, (name, response.status)
        shot(page, f"team-{name}-{width}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} overflows by {overflow}px at {width}px"
        _assert_finished_look(page, name, width)
    # Two-factor setup: allauth asks for the password again, then shows the QR code.
    page.goto(live_server.url + "/accounts/2fa/totp/activate/")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    assert page.url.endswith("/accounts/2fa/totp/activate/") and page.locator("svg, img").count()
    shot(page, f"team-two-factor-setup-{width}")
    _assert_finished_look(page, "two-factor setup", width)
    # The reconnect link page: make one and copy it with the button (vendored JS, no inline).
    page.goto(live_server.url + f"/a/northwind/accounts/{accounts[0].pk}/reconnect-link/")
    page.get_by_role("button", name="Create a link to copy").click()
    page.wait_for_load_state()
    assert "/reconnect/" in page.input_value("#reconnect-link")
    page.get_by_role("button", name="Copy").click()
    # A locator assertion, not a string wait_for_function: Playwright compiles such a string in
    # the page, where Prism's CSP (no unsafe-eval) refuses it and logs an error.
    expect(page.locator("[data-copy]")).to_have_text("Copied")
    shot(page, f"team-link-made-{width}")
    assert problems == [], problems
    context.close()
