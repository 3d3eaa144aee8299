"""The whole journey in one real browser, as a newcomer lives it: sign up, invite a teammate,
connect one client through each login path's sandbox dialogs, open the report with its charts,
download the PDF, CSV and XLSX and read each file back; and a member of another agency reaches
none of it. Every page is watched for console errors (Chromium reports CSP violations there)
and uncaught script errors.

Screenshots of the key pages go to test-artifacts/journey-*.png (the README's come from here).
"""

import csv
import io
import re

import pytest
from django.core import mail
from django.test import Client as DjangoClient
from openpyxl import load_workbook
from pypdf import PdfReader

from accounts.models import Agency
from insights.models import Health, InstagramAccount, LoginPath

from ..factories import MembershipFactory, UserFactory
from .conftest import shot

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-enough-passphrase-42"


def _watch(page) -> list[str]:
    """Console errors (CSP violations included) and uncaught exceptions of this page."""
    problems = page.problems
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return problems


def _emailed_link(pattern: str, live_server) -> str:
    body = mail.outbox[-1].body
    url = re.search(pattern, body).group(0)
    return live_server.url + "/" + url.split("://", 1)[1].split("/", 1)[1]


def _sign_up(page, live_server) -> str:
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Create your agency").click()
    page.fill("#id_name", "Jo Journey")
    page.fill("#id_email", "jo@journey.example")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.fill("#id_agency_name", "Journey Social")
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_load_state()
    page.goto(_emailed_link(r"https?://\S+/accounts/confirm-email/\S+/", live_server))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/a/journey-social/$"))
    return Agency.objects.get(name="Journey Social").slug


def _invite_and_join(page, browser, live_server, slug: str) -> None:
    page.goto(f"{live_server.url}/a/{slug}/members/")
    page.fill("#id_email", "max@journey.example")
    page.select_option("#id_role", "member")
    page.get_by_role("button", name="Send invitation").click()
    assert page.get_by_text("Invitation sent to max@journey.example").is_visible()
    teammate = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        other = teammate.new_page()
        other.problems = []
        problems = _watch(other)
        other.goto(_emailed_link(r"https?://\S+/invitations/\S+/", live_server))
        other.fill("#id_name", "Max Member")
        other.fill("#id_password1", PASSWORD)
        other.fill("#id_password2", PASSWORD)
        other.get_by_role("button", name="Create account and join").click()
        other.wait_for_url(re.compile(rf"/a/{slug}/$"))
        assert other.get_by_text("Welcome to Journey Social").is_visible()
        assert problems == []
    finally:
        teammate.close()


def _add_client(page, live_server, slug: str, name: str) -> int:
    page.goto(f"{live_server.url}/a/{slug}/clients/new/")
    page.fill("#id_name", name)
    page.get_by_role("button", name="Add client").click()
    page.wait_for_url(re.compile(r"/clients/(\d+)/$"))
    return int(re.search(r"/clients/(\d+)/$", page.url).group(1))


def _connect_with_instagram(page, live_server, slug: str, pk: int, username: str) -> None:
    page.goto(f"{live_server.url}/a/{slug}/clients/{pk}/")
    page.get_by_role("button", name="Connect with Instagram").click()
    page.wait_for_url(re.compile(r"/_sandbox/www\.instagram\.com/"))
    page.fill("#sb-username", username)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(rf"/a/{slug}/clients/{pk}/(#_)?$"))
    assert page.get_by_text(f"Connected @{username}").is_visible()


def _connect_with_facebook(page, live_server, slug: str, pk: int, person: str) -> None:
    page.goto(f"{live_server.url}/a/{slug}/clients/{pk}/")
    page.get_by_role("button", name="Connect with Facebook").click()
    page.wait_for_url(re.compile(r"/_sandbox/www\.facebook\.com/"))
    page.get_by_role("button", name=f"Continue as {person}").click()
    page.get_by_role("heading", name=re.compile("Choose the Pages")).wait_for()
    shot(page, "journey-03-facebook-pages")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Prism would like to").wait_for()
    page.get_by_role("button", name="Continue").click()
    # Prism's pick step: the Instagram accounts reachable through the granted Pages.
    page.wait_for_url(re.compile(rf"/a/{slug}/connect/\d+/"))
    shot(page, "journey-04-pick-account")
    page.get_by_role("button", name="Connect selected").click()
    page.wait_for_load_state()
    assert re.search(rf"/a/{slug}/clients/{pk}/", page.url), page.url


def _download(page, link_name: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name, exact=True).click()
    download = info.value
    assert download.failure() is None
    with open(download.path(), "rb") as f:
        return f.read()


def test_the_whole_journey(live_server, transactional_db, page, browser, settings):
    settings.SITE_URL = live_server.url
    settings.META_HOSTS = {h: f"{live_server.url}/_sandbox/{h}" for h in settings.META_HOSTS}
    problems = _watch(page)

    # Sign up and invite.
    slug = _sign_up(page, live_server)
    shot(page, "journey-01-dashboard-empty")
    _invite_and_join(page, browser, live_server, slug)

    # Connect one client through each login path, through the sandbox's dialogs.
    bakery = _add_client(page, live_server, slug, "Sam's Pottery Studio")
    _connect_with_instagram(page, live_server, slug, bakery, "sams_pottery")
    shot(page, "journey-02-client-connected")
    dental = _add_client(page, live_server, slug, "Ava's Bakery")
    _connect_with_facebook(page, live_server, slug, dental, "Ava Bennett")
    accounts = {a.client_id: a for a in InstagramAccount.objects.all()}
    assert accounts[bakery].login_path == LoginPath.INSTAGRAM
    assert accounts[dental].login_path == LoginPath.FACEBOOK
    assert all(a.health == Health.CONNECTED for a in accounts.values())
    assert accounts[dental].username == "avas_bakery"

    # The report, with its charts.
    page.goto(f"{live_server.url}/a/{slug}/clients/{bakery}/")
    page.get_by_role("link", name="Report", exact=True).click()
    page.wait_for_url(re.compile(rf"/clients/{bakery}/report/"))
    assert page.get_by_role("heading", name=re.compile("Sam's Pottery Studio")).first.is_visible()
    assert page.locator("figure.chart-card svg").count() >= 1
    shot(page, "journey-05-report")
    report_url = page.url

    # The downloads, each read back.
    pdf = _download(page, "PDF")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1
    assert "Sam's Pottery Studio" in "".join(p.extract_text() for p in reader.pages)
    rows = list(csv.reader(io.StringIO(_download(page, "CSV").decode("utf-8-sig"))))
    assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows if r)
    assert any("sams_pottery" in cell for row in rows for cell in row)
    workbook = load_workbook(io.BytesIO(_download(page, "Excel")))
    first_sheet = list(workbook[workbook.sheetnames[0]].iter_rows(values_only=True))
    assert len(first_sheet) >= 2
    cells = [
        str(c)
        for name in workbook.sheetnames
        for r in workbook[name].iter_rows(values_only=True)
        for c in r
    ]
    assert any("sams_pottery" in c for c in cells)

    # A member of another agency reaches none of it.
    outsider = UserFactory(email="eve@other.example")
    MembershipFactory(user=outsider, agency__name="Other Agency", agency__slug="other")
    django = DjangoClient()
    django.force_login(outsider)
    stranger = browser.new_context()
    try:
        stranger.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": django.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        other = stranger.new_page()
        base = f"{live_server.url}/a/{slug}/clients"
        for path in [
            f"{base}/{bakery}/",
            f"{base}/{bakery}/report/",
            f"{base}/{bakery}/report.pdf",
            f"{base}/{bakery}/report.csv",
            f"{base}/{bakery}/report.xlsx",
            f"{base}/{dental}/",
            f"{live_server.url}/a/{slug}/",
        ]:
            response = other.request.get(path, max_redirects=0)
            assert response.status == 404, (path, response.status)
        other.goto(report_url)
        assert "Sam's Pottery Studio" not in other.content()
    finally:
        stranger.close()

    assert problems == []
