"""Finished on every screen (issue 16, point 9): every page each persona can reach, found by
following the links it is shown, at 390 px and at 1280 px. A page fails when it scrolls
sideways or when a word or a number is split across lines ("RE AC H", "CONNECTIO N", a
"Revoke" button one letter a line)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client as DjangoClient

from insights.models import ReportDelivery, ReportNote, ReportSchedule
from insights.reports import delivery, sharing
from insights.reports.periods import client_today
from tests.factories import InstagramAccountFactory
from tests.report_world import fill_account

from .conftest import shot

pytestmark = pytest.mark.e2e
WIDTHS = (390, 1280)
MAX_PAGES = 45
# Links a crawl must not follow: leaving, downloads and pictures, OAuth round trips, the sandbox.
SKIP = (
    "/accounts/logout",
    "/_sandbox/",
    "/connect/",
    "/reconnect",
    ".pdf",
    ".csv",
    ".xlsx",
    "/pdf/",
    "/thumbnail/",
    "/media/",
    "/picture/",
    "/logo",
    "/static/",
    "/brand/",
    "/refresh/",
    "/check/",
)

PROBLEMS = """(width) => {
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) continue;
    let scroller = el.parentElement, inside = false;
    while (scroller) {
      const x = getComputedStyle(scroller).overflowX;
      if (['auto', 'scroll', 'hidden'].includes(x) && scroller.getBoundingClientRect().right <= width + 1) { inside = true; break; }
      scroller = scroller.parentElement;
    }
    if (!inside) wide.push(el.tagName + ': ' + (el.textContent || '').trim().slice(0, 40));
  }
  const split = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const el = node.parentElement;
    if (!el || el.closest('svg, script, style, option, select, textarea, .sr-only')) continue;
    if (el.getBoundingClientRect().width <= 1) continue;
    const words = /[^\\s-]+/g;  // a hyphen is a place a line may break ("24-hour")
    let m;
    while ((m = words.exec(node.data))) {
      if (m[0].length > 24) continue;  // a URL or an address may wrap
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const lines = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) split.push(m[0]);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 5), split: split.slice(0, 8)};
}"""


@pytest.fixture
def busy_agency(world, transactional_db, settings, live_server):
    """Alpha Agency with reports worth looking at: history, posts, stories, a note, a share link
    seen once, a schedule and a sent report; Apex Bikes for the client viewer."""
    settings.SITE_URL = live_server.url
    for key, name in (("a1", "acme.coffee"), ("a2", "apex.bikes")):
        client = world.clients[key]
        client.time_zone = "America/New_York"
        client.save()
        account = InstagramAccountFactory(agency=world.a, client=client, username=name)
        last = client_today(client) - timedelta(days=1)
        fill_account(account, last_day=last, days=120, media=60)
        ReportNote.objects.create(agency=world.a, client=client, day=last, text="Spring launch")
    acme = world.clients["a1"]
    made = sharing.create_share_link(client=acme, preset="last_28", label="For the board")
    sharing.record_view(made.link, DjangoClient().get("/").wsgi_request)
    schedule = ReportSchedule(
        agency=world.a, client=acme, recipients=["boss@acme.example"], send_time=time(2, 19)
    )
    delivery.save_schedule(schedule)
    ReportDelivery.objects.create(
        agency=world.a,
        client=acme,
        period_start=date(2026, 11, 23),
        period_end=date(2026, 11, 29),
        recipients=["boss@acme.example"],
        status="sent",
        sent_at=datetime(2026, 11, 30, 14, tzinfo=UTC),
    )
    return made


def crawl(page, start: str, base: str) -> dict[str, dict]:
    """Visit the pages reachable from `start` through links, each at both widths."""
    found, queue, seen = {}, [start], {urlsplit(start).path}
    while queue and len(found) < MAX_PAGES:
        url = queue.pop(0)
        response = page.goto(url)
        if response is None or response.status >= 400 or not page.url.startswith(base):
            continue
        page.wait_for_load_state("networkidle")
        path = urlsplit(page.url).path
        results = {}
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            results[width] = page.evaluate(PROBLEMS, width)
        found[path] = results
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            target = urljoin(page.url, href).split("#")[0]
            link_path = urlsplit(target).path
            if not target.startswith(base) or link_path in seen:
                continue
            if any(part in target for part in SKIP):
                continue
            seen.add(link_path)
            queue.append(target)
    return found


def failures(pages: dict[str, dict]) -> list[str]:
    out = []
    for path, by_width in pages.items():
        for width, found in by_width.items():
            if found["scrollWidth"] > width:
                out.append(f"{path} at {width}px is {found['scrollWidth']}px wide: {found['wide']}")
            if found["split"]:
                out.append(f"{path} at {width}px splits {found['split']}")
    return out


def login(page, live_server, user) -> None:
    django = DjangoClient()
    django.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": django.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.mark.parametrize("persona", ["a_owner", "a_member", "a_viewer", "a_client"])
def test_every_page_a_persona_reaches_fits_phones_and_desktops(
    persona, world, busy_agency, page, live_server
):
    login(page, live_server, world.users[persona])
    pages = crawl(page, f"{live_server.url}/a/alpha/", live_server.url)
    minimum = {"a_owner": 12, "a_member": 8, "a_viewer": 6, "a_client": 2}[persona]
    assert len(pages) >= minimum, sorted(pages)
    assert not failures(pages), "\n".join(failures(pages))
    assert page.problems == []


def test_the_share_page_and_the_public_pages_fit(busy_agency, page, live_server):
    pages = crawl(page, busy_agency.url, live_server.url)
    pages |= crawl(page, f"{live_server.url}/accounts/signup/", live_server.url)
    assert any(path.startswith("/r/") for path in pages)
    assert not failures(pages), "\n".join(failures(pages))
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(busy_agency.url)
    shot(page, "70-shared-report-390")
