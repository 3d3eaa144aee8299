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
import time

import pytest
import requests
from django.core import mail
from django.test import Client as DjangoClient
from openpyxl import load_workbook
from pypdf import PdfReader

from accounts.models import Agency
from insights.models import Health, InstagramAccount, LoginPath, ProfileSnapshot

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


def _refresh_with_a_real_worker(account_ids: list[int], timeout: float = 420) -> None:
    """A real Celery worker (in this process, on the suite's in-memory broker) and what beat
    sends every few seconds here (every minute in production), the dispatcher: it claims the due
    accounts and the worker runs their refreshes and backfill against the sandbox over HTTP.

    One worker thread, and the test waits on Celery's signals rather than polling the database:
    SQLite's shared in-memory test database has table locks without a busy timeout, so any
    concurrent writer or reader would make a write fail at once. (PostgreSQL has no such limit.)"""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from config.celery import app
    from insights.tasks import dispatch_due_work

    finished: dict[int, dict] = {}

    def record(sender=None, args=None, retval=None, **_):
        is_refresh = sender is not None and sender.name == "insights.tasks.refresh_account"
        if is_refresh and isinstance(retval, dict) and "error" not in retval:
            finished[args[0]] = retval

    task_postrun.connect(record, weak=False)
    try:
        with start_worker(
            app,
            pool="solo",
            concurrency=1,
            queues=["default", "refresh", "user"],
            perform_ping_check=False,
            shutdown_timeout=120,
        ):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and set(account_ids) - set(finished):
                dispatch_due_work.delay()
                time.sleep(5)
    finally:
        task_postrun.disconnect(record)
    assert set(finished) == set(account_ids), finished
    stuck = InstagramAccount.objects.filter(pk__in=account_ids, last_refresh_at=None)
    assert not stuck.exists(), [(a.username, a.last_refresh_error) for a in stuck]


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
    # Two months of history is plenty for a 28-day report and its comparison (the default,
    # two years, is a few hundred requests per account: minutes on a busy CI machine).
    settings.BACKFILL_DAYS = 60
    # The sandbox's clock stands still, so its live figures (followers) can be compared with
    # what Prism stored a minute earlier.
    frozen = requests.post(
        f"{live_server.url}/_sandbox/control/clock", json={"freeze": True}, timeout=30
    )
    assert frozen.status_code == 200, frozen.text
    problems = _watch(page)

    # Sign up and invite.
    slug = _sign_up(page, live_server)
    shot(page, "journey-01-dashboard-empty")
    _invite_and_join(page, browser, live_server, slug)

    # Connect one client through each login path, through the sandbox's dialogs.
    pottery = _add_client(page, live_server, slug, "Sam's Pottery Studio")
    _connect_with_instagram(page, live_server, slug, pottery, "sams_pottery")
    shot(page, "journey-02-client-connected")
    bakery = _add_client(page, live_server, slug, "Ava's Bakery")
    _connect_with_facebook(page, live_server, slug, bakery, "Ava Bennett")
    accounts = {a.client_id: a for a in InstagramAccount.objects.all()}
    assert accounts[pottery].login_path == LoginPath.INSTAGRAM
    assert accounts[bakery].login_path == LoginPath.FACEBOOK
    assert all(a.health == Health.CONNECTED for a in accounts.values())
    assert accounts[bakery].username == "avas_bakery"

    # Refresh with a real worker, then the numbers Prism stored are the sandbox's.
    _refresh_with_a_real_worker([a.pk for a in accounts.values()])
    for account in accounts.values():
        profile = requests.get(
            f"{live_server.url}/_sandbox/control/accounts/{account.ig_user_id}", timeout=30
        ).json()
        latest = ProfileSnapshot.objects.filter(account=account).order_by("-day").first()
        assert latest is not None and latest.followers_count == profile["followers_count"]

    # The report, with its charts.
    page.goto(f"{live_server.url}/a/{slug}/clients/{bakery}/")
    page.get_by_role("link", name="Report", exact=True).click()
    page.wait_for_url(re.compile(rf"/clients/{bakery}/report/"))
    shot(page, "journey-05-report")
    assert page.get_by_role("heading", name=re.compile("Ava's Bakery")).first.is_visible()
    # Meta's daily series drawn from what the worker stored (a fresh connection has no
    # follower history yet: Prism keeps followers_count from its own refreshes onwards).
    for title in ("Daily reach", "Views", "Interactions"):
        chart = page.locator("figure.chart-card", has_text=title).first
        assert chart.locator("svg").count() >= 1, title
        assert "No data for this period" not in chart.inner_text(), title
    report_url = page.url

    # The downloads, each read back.
    pdf = _download(page, "PDF")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1
    assert "Ava's Bakery" in "".join(p.extract_text() for p in reader.pages)
    rows = list(csv.reader(io.StringIO(_download(page, "CSV").decode("utf-8-sig"))))
    assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows if r)
    assert any("avas_bakery" in cell for row in rows for cell in row)
    workbook = load_workbook(io.BytesIO(_download(page, "Excel")))
    first_sheet = list(workbook[workbook.sheetnames[0]].iter_rows(values_only=True))
    assert len(first_sheet) >= 2
    cells = [
        str(c)
        for name in workbook.sheetnames
        for r in workbook[name].iter_rows(values_only=True)
        for c in r
    ]
    assert any("avas_bakery" in c for c in cells)

    # A share link, opened in a fresh browser context (no session), then revoked.
    page.goto(f"{live_server.url}/a/{slug}/clients/{bakery}/share/")
    page.get_by_text("+ New share link").click()
    page.fill("#id_label", "For Ava")
    page.get_by_role("button", name="Create link").click()
    share_url = page.locator("input.copy-field").input_value()
    assert "/r/" in share_url
    private = browser.new_context()
    try:
        visitor = private.new_page()
        shared_problems: list[str] = []
        visitor.on(
            "console", lambda m: shared_problems.append(m.text) if m.type == "error" else None
        )
        visitor.on("pageerror", lambda error: shared_problems.append(f"uncaught: {error}"))
        visitor.goto(share_url)
        assert visitor.get_by_role("heading", name=re.compile("Ava's Bakery")).first.is_visible()
        chart = visitor.locator("figure.chart-card", has_text="Daily reach").first
        assert "No data for this period" not in chart.inner_text()
        assert shared_problems == []
        shot(visitor, "journey-06-shared-report")
        page.goto(f"{live_server.url}/a/{slug}/clients/{bakery}/share/")
        page.get_by_role("button", name="Revoke").click()
        assert page.get_by_text("The link is revoked").is_visible()
        assert visitor.goto(share_url).status == 404
    finally:
        private.close()

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
            f"{base}/{pottery}/",
            f"{base}/{bakery}/report/",
            f"{base}/{bakery}/report.pdf",
            f"{base}/{bakery}/report.csv",
            f"{base}/{bakery}/report.xlsx",
            f"{base}/{bakery}/",
            f"{live_server.url}/a/{slug}/",
        ]:
            response = other.request.get(path, max_redirects=0)
            assert response.status == 404, (path, response.status)
        other.goto(report_url)
        assert "Ava's Bakery" not in other.content()
    finally:
        stranger.close()

    assert problems == []
